// The subset of Jinja2 that models' chat templates are written in, as
// Hugging Face renders them (trim_blocks and lstrip_blocks on):
//   {{ expr }}, {% if/elif/else %}, {% for x in xs [if cond] %} with loop.*,
//   {% set x = ... %} and {% set ns.attr = ... %}, {# comments #}, and the
//   `-` whitespace control on every tag;
//   literals (strings, numbers, true/false/none, lists, dicts), attribute
//   and item access, slices ([::-1], [1:]), calls, + - * / // % ~,
//   comparisons, in / not in, and / or / not, `a if c else b`;
//   tests (defined, undefined, none, string, number, integer, mapping,
//   iterable, sequence, true, false, boolean, odd, even, eq);
//   filters (length, count, trim, upper, lower, title, capitalize, tojson,
//   default, join, first, last, list, string, int, float, abs, items,
//   reverse, replace, round);
//   string methods (strip, lstrip, rstrip, startswith, endswith, split,
//   upper, lower, title, capitalize, replace), dict methods (items, keys,
//   values, get), and the functions range, namespace and raise_exception.
// Anything else is an error at parse or render time that names it, never a
// silently different text. Values are immutable except namespaces.
#ifndef SMALLMIND_TEXT_JINJA_H_
#define SMALLMIND_TEXT_JINJA_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace smallmind::text::jinja {

class Value;
using List = std::vector<Value>;
// Keys in insertion order, as Python's dicts keep them.
using Dict = std::vector<std::pair<std::string, Value>>;
using Function = std::function<absl::StatusOr<Value>(const std::vector<Value>& args,
                                                     const Dict& kwargs)>;

class Value {
 public:
  enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kFunction };

  Value() = default;  // undefined
  static Value None();
  Value(bool b);                 // NOLINT: implicit, as a literal
  Value(int64_t i);              // NOLINT
  Value(int i) : Value(static_cast<int64_t>(i)) {}  // NOLINT
  Value(double d);               // NOLINT
  Value(std::string s);          // NOLINT
  Value(const char* s) : Value(std::string(s)) {}  // NOLINT
  Value(List list);              // NOLINT
  Value(Dict dict);              // NOLINT
  static Value Callable(Function fn);
  // A namespace(): a dict whose attributes `set ns.x = ...` may change.
  static Value Namespace(Dict dict);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_number() const { return kind_ == Kind::kInt || kind_ == Kind::kFloat; }
  bool is_list() const { return kind_ == Kind::kList; }
  bool is_dict() const { return kind_ == Kind::kDict; }
  bool is_namespace() const { return is_dict() && mutable_; }

  bool boolean() const { return b_; }
  int64_t integer() const { return i_; }
  double number() const { return kind_ == Kind::kInt ? static_cast<double>(i_) : d_; }
  const std::string& str() const { return *s_; }
  const List& list() const { return *list_; }
  const Dict& dict() const { return *dict_; }
  Dict& mutable_dict() const { return *dict_; }
  const Function& function() const { return *fn_; }

  // Python's truth: empty strings, lists and dicts, zero, none and
  // undefined are false.
  bool Truthy() const;
  // The dict entry `key`, or undefined.
  Value Get(absl::string_view key) const;
  // What {{ }} prints (Python's str()).
  std::string ToString() const;
  // Python's json.dumps with ensure_ascii off; `indent` < 0: one line.
  std::string ToJson(int indent = -1) const;

 private:
  Kind kind_ = Kind::kUndefined;
  bool b_ = false;
  bool mutable_ = false;
  int64_t i_ = 0;
  double d_ = 0;
  std::shared_ptr<const std::string> s_;
  std::shared_ptr<const List> list_;
  std::shared_ptr<Dict> dict_;
  std::shared_ptr<const Function> fn_;
};

bool operator==(const Value& a, const Value& b);

struct Node;

// A parsed template: parse once, render many times (thread-safe).
class Template {
 public:
  // Errors name the construct and its line.
  static absl::StatusOr<Template> Parse(absl::string_view source);

  // Renders with `globals` as the top-level variables. raise_exception()
  // in the template is an InvalidArgument error with its message.
  absl::StatusOr<std::string> Render(const Dict& globals) const;

 private:
  std::shared_ptr<const Node> root_;
};

}  // namespace smallmind::text::jinja

#endif  // SMALLMIND_TEXT_JINJA_H_
