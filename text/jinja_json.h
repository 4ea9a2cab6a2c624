// JSON as template values: what a chat request's tools and tool calls are
// given to a chat template as (objects keep their key order, as Python's
// dicts and JavaScript's objects do, so `tool | tojson` prints what the
// client sent).
#ifndef SMALLMIND_TEXT_JINJA_JSON_H_
#define SMALLMIND_TEXT_JINJA_JSON_H_

#include "nlohmann/json.hpp"
#include "text/jinja.h"

namespace smallmind::text {

jinja::Value JsonToJinja(const nlohmann::ordered_json& json);

}  // namespace smallmind::text

#endif  // SMALLMIND_TEXT_JINJA_JSON_H_
