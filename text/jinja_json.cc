#include "text/jinja_json.h"

#include <string>
#include <utility>

namespace smallmind::text {

jinja::Value JsonToJinja(const nlohmann::ordered_json& json) {
  switch (json.type()) {
    case nlohmann::ordered_json::value_t::null: return jinja::Value::None();
    case nlohmann::ordered_json::value_t::boolean: return jinja::Value(json.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer:
      return jinja::Value(json.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned:
      // Beyond int64 a number is a float, as in JavaScript.
      return json.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)
                 ? jinja::Value(json.get<double>())
                 : jinja::Value(static_cast<int64_t>(json.get<uint64_t>()));
    case nlohmann::ordered_json::value_t::number_float: return jinja::Value(json.get<double>());
    case nlohmann::ordered_json::value_t::string: return jinja::Value(json.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      jinja::List list;
      for (const auto& item : json) list.push_back(JsonToJinja(item));
      return jinja::Value(std::move(list));
    }
    case nlohmann::ordered_json::value_t::object: {
      jinja::Dict dict;
      for (const auto& [key, value] : json.items()) dict.emplace_back(key, JsonToJinja(value));
      return jinja::Value(std::move(dict));
    }
    default: return jinja::Value();  // binary, discarded: nothing a request holds
  }
}

}  // namespace smallmind::text
