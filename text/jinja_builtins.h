// The filters, tests and methods templates may use, each one row of a
// table: the parser looks names up there (an unknown one is an error when
// the template loads, naming its line), the renderer calls what it found.
// Private to text/jinja.
#ifndef SMALLMIND_TEXT_JINJA_BUILTINS_H_
#define SMALLMIND_TEXT_JINJA_BUILTINS_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "text/jinja.h"

namespace smallmind::text::jinja {

// A call's arguments after the value it applies to.
struct CallArgs {
  const std::vector<Value>& positional;
  const Dict& kwargs;
  int line;

  // The argument named `name`, else the `position`th positional one, else
  // undefined.
  Value Get(size_t position, const char* name) const;
};

struct Filter {
  const char* name;
  absl::StatusOr<Value> (*apply)(const Value& v, const CallArgs& args);
};

struct Test {
  const char* name;
  absl::StatusOr<bool> (*apply)(const Value& v, const CallArgs& args);
};

// Null for a name that is none.
const Filter* FindFilter(absl::string_view name);
const Test* FindTest(absl::string_view name);
// Whether some kind of value has a method `name` (the kind is known only
// when rendering).
bool IsMethod(absl::string_view name);
// `object.name(args)`; NotFound when `object`'s kind has no such method.
absl::StatusOr<Value> CallMethod(const Value& object, absl::string_view name,
                                 const CallArgs& args);

absl::Status RenderError(int line, absl::string_view what);
absl::string_view KindName(const Value& v);

}  // namespace smallmind::text::jinja

#endif  // SMALLMIND_TEXT_JINJA_BUILTINS_H_
