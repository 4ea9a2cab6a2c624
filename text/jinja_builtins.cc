#include "text/jinja_builtins.h"

#include <cmath>
#include <cstdlib>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"

namespace smallmind::text::jinja {
namespace {

std::string Strip(const std::string& s, const Value& chars, bool left, bool right) {
  const std::string set = chars.is_string() ? chars.str() : " \t\n\r\f\v";
  size_t begin = 0, end = s.size();
  if (left) {
    while (begin < end && set.find(s[begin]) != std::string::npos) ++begin;
  }
  if (right) {
    while (end > begin && set.find(s[end - 1]) != std::string::npos) --end;
  }
  return s.substr(begin, end - begin);
}

std::string Capitalize(const std::string& s) {
  std::string out = absl::AsciiStrToLower(s);
  if (!out.empty()) out[0] = absl::ascii_toupper(out[0]);
  return out;
}

std::string Title(const std::string& s) {
  std::string out = s;
  bool start = true;
  for (char& c : out) {
    if (absl::ascii_isalpha(static_cast<unsigned char>(c))) {
      c = start ? absl::ascii_toupper(c) : absl::ascii_tolower(c);
      start = false;
    } else {
      start = true;
    }
  }
  return out;
}

// markupsafe's escape, which Jinja's `escape`/`e` is.
std::string HtmlEscape(const std::string& s) {
  return absl::StrReplaceAll(
      s, {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}, {"\"", "&#34;"}, {"'", "&#39;"}});
}

List Items(const Value& dict) {
  List items;
  for (const auto& [k, v] : dict.dict()) items.emplace_back(List{Value(k), v});
  return items;
}

absl::StatusOr<Value> Replace(const std::string& s, const CallArgs& a) {
  const std::vector<Value>& p = a.positional;
  if (p.size() < 2 || !p[0].is_string() || !p[1].is_string() || p[0].str().empty()) {
    return RenderError(a.line, "replace() needs two strings");
  }
  return Value(absl::StrReplaceAll(s, {{p[0].str(), p[1].str()}}));
}

using MethodFn = absl::StatusOr<Value> (*)(const Value& object, const CallArgs& args);
struct Method {
  const char* name;
  Value::Kind on;
  MethodFn apply;
};

Value Arg0(const CallArgs& a) { return a.positional.empty() ? Value() : a.positional[0]; }

absl::StatusOr<Value> Affix(const Value& o, const CallArgs& a, bool prefix) {
  const Value arg = Arg0(a);
  if (!arg.is_string()) return RenderError(a.line, "startswith()/endswith() of a non-string");
  return Value(prefix ? absl::StartsWith(o.str(), arg.str()) : absl::EndsWith(o.str(), arg.str()));
}

constexpr Value::Kind kString = Value::Kind::kString;
constexpr Value::Kind kDict = Value::Kind::kDict;

const Method kMethods[] = {
    {"strip", kString, [](const Value& o, const CallArgs& a) -> absl::StatusOr<Value> {
       return Value(Strip(o.str(), Arg0(a), true, true));
     }},
    {"lstrip", kString, [](const Value& o, const CallArgs& a) -> absl::StatusOr<Value> {
       return Value(Strip(o.str(), Arg0(a), true, false));
     }},
    {"rstrip", kString, [](const Value& o, const CallArgs& a) -> absl::StatusOr<Value> {
       return Value(Strip(o.str(), Arg0(a), false, true));
     }},
    {"upper", kString, [](const Value& o, const CallArgs&) -> absl::StatusOr<Value> {
       return Value(absl::AsciiStrToUpper(o.str()));
     }},
    {"lower", kString, [](const Value& o, const CallArgs&) -> absl::StatusOr<Value> {
       return Value(absl::AsciiStrToLower(o.str()));
     }},
    {"title", kString, [](const Value& o, const CallArgs&) -> absl::StatusOr<Value> {
       return Value(Title(o.str()));
     }},
    {"capitalize", kString, [](const Value& o, const CallArgs&) -> absl::StatusOr<Value> {
       return Value(Capitalize(o.str()));
     }},
    {"startswith", kString, [](const Value& o, const CallArgs& a) { return Affix(o, a, true); }},
    {"endswith", kString, [](const Value& o, const CallArgs& a) { return Affix(o, a, false); }},
    {"replace", kString, [](const Value& o, const CallArgs& a) { return Replace(o.str(), a); }},
    {"split", kString, [](const Value& o, const CallArgs& a) -> absl::StatusOr<Value> {
       const Value sep = Arg0(a);
       List parts;
       if (sep.is_string() && !sep.str().empty()) {
         for (absl::string_view p : absl::StrSplit(o.str(), sep.str())) {
           parts.emplace_back(std::string(p));
         }
       } else {
         for (absl::string_view p :
              absl::StrSplit(o.str(), absl::ByAnyChar(" \t\n\r\f\v"), absl::SkipEmpty())) {
           parts.emplace_back(std::string(p));
         }
       }
       return Value(std::move(parts));
     }},
    {"items", kDict, [](const Value& o, const CallArgs&) -> absl::StatusOr<Value> {
       return Value(Items(o));
     }},
    {"keys", kDict, [](const Value& o, const CallArgs&) -> absl::StatusOr<Value> {
       List keys;
       for (const auto& kv : o.dict()) keys.emplace_back(kv.first);
       return Value(std::move(keys));
     }},
    {"values", kDict, [](const Value& o, const CallArgs&) -> absl::StatusOr<Value> {
       List values;
       for (const auto& kv : o.dict()) values.push_back(kv.second);
       return Value(std::move(values));
     }},
    {"get", kDict, [](const Value& o, const CallArgs& a) -> absl::StatusOr<Value> {
       const Value key = Arg0(a);
       if (!key.is_string()) return RenderError(a.line, "get() of a non-string key");
       const Value v = o.Get(key.str());
       return v.is_undefined() ? (a.positional.size() > 1 ? a.positional[1] : Value::None()) : v;
     }},
};

absl::StatusOr<Value> FirstOrLast(const Value& v, bool first) {
  if (v.is_list()) {
    if (v.list().empty()) return Value();
    return first ? v.list().front() : v.list().back();
  }
  if (v.is_string() && !v.str().empty()) {
    return Value(std::string(1, first ? v.str().front() : v.str().back()));
  }
  return Value();
}

absl::StatusOr<Value> Length(const Value& v, const CallArgs& a) {
  if (v.is_string()) return Value(static_cast<int64_t>(v.str().size()));
  if (v.is_list()) return Value(static_cast<int64_t>(v.list().size()));
  if (v.is_dict()) return Value(static_cast<int64_t>(v.dict().size()));
  if (v.is_undefined()) return Value(int64_t{0});
  return RenderError(a.line, absl::StrCat("length of a ", KindName(v)));
}

absl::StatusOr<Value> Escape(const Value& v, const CallArgs&) {
  return Value(HtmlEscape(v.ToString()));
}

absl::StatusOr<Value> Default(const Value& v, const CallArgs& a) {
  const Value fallback = a.Get(0, "default_value");
  const bool boolean = a.Get(1, "boolean").Truthy();
  if (v.is_undefined() || (boolean && !v.Truthy())) return fallback.is_undefined() ? Value("") : fallback;
  return v;
}

const Filter kFilters[] = {
    {"length", Length},
    {"count", Length},
    {"trim", [](const Value& v, const CallArgs& a) -> absl::StatusOr<Value> {
       return Value(Strip(v.ToString(), a.Get(0, "chars"), true, true));
     }},
    {"upper", [](const Value& v, const CallArgs&) -> absl::StatusOr<Value> {
       return Value(absl::AsciiStrToUpper(v.ToString()));
     }},
    {"lower", [](const Value& v, const CallArgs&) -> absl::StatusOr<Value> {
       return Value(absl::AsciiStrToLower(v.ToString()));
     }},
    {"title", [](const Value& v, const CallArgs&) -> absl::StatusOr<Value> {
       return Value(Title(v.ToString()));
     }},
    {"capitalize", [](const Value& v, const CallArgs&) -> absl::StatusOr<Value> {
       return Value(Capitalize(v.ToString()));
     }},
    {"string", [](const Value& v, const CallArgs&) -> absl::StatusOr<Value> {
       return Value(v.ToString());
     }},
    // Nothing is escaped unless asked (templates render with autoescape
    // off), so safe has nothing to undo.
    {"safe", [](const Value& v, const CallArgs&) -> absl::StatusOr<Value> { return v; }},
    {"escape", Escape},
    {"e", Escape},
    {"list", [](const Value& v, const CallArgs&) -> absl::StatusOr<Value> {
       if (v.is_string()) {
         List chars;
         for (char c : v.str()) chars.emplace_back(std::string(1, c));
         return Value(std::move(chars));
       }
       if (v.is_dict()) {
         List keys;
         for (const auto& kv : v.dict()) keys.emplace_back(kv.first);
         return Value(std::move(keys));
       }
       return v;
     }},
    {"tojson", [](const Value& v, const CallArgs& a) -> absl::StatusOr<Value> {
       const Value indent = a.Get(0, "indent");
       return Value(
           v.ToJson(indent.kind() == Value::Kind::kInt ? static_cast<int>(indent.integer()) : -1));
     }},
    {"default", Default},
    {"d", Default},
    {"join", [](const Value& v, const CallArgs& a) -> absl::StatusOr<Value> {
       const Value sep = a.Get(0, "d");
       std::vector<std::string> parts;
       if (v.is_list()) {
         for (const Value& item : v.list()) parts.push_back(item.ToString());
       }
       return Value(absl::StrJoin(parts, sep.is_string() ? sep.str() : ""));
     }},
    {"first", [](const Value& v, const CallArgs&) { return FirstOrLast(v, true); }},
    {"last", [](const Value& v, const CallArgs&) { return FirstOrLast(v, false); }},
    {"int", [](const Value& v, const CallArgs&) -> absl::StatusOr<Value> {
       if (v.kind() == Value::Kind::kInt) return v;
       if (v.kind() == Value::Kind::kFloat) return Value(static_cast<int64_t>(v.number()));
       if (v.is_string()) return Value(static_cast<int64_t>(std::strtoll(v.str().c_str(), nullptr, 10)));
       return Value(int64_t{0});
     }},
    {"float", [](const Value& v, const CallArgs&) -> absl::StatusOr<Value> {
       if (v.is_number()) return Value(v.number());
       if (v.is_string()) return Value(std::strtod(v.str().c_str(), nullptr));
       return Value(0.0);
     }},
    {"abs", [](const Value& v, const CallArgs& a) -> absl::StatusOr<Value> {
       if (v.kind() == Value::Kind::kInt) return Value(v.integer() < 0 ? -v.integer() : v.integer());
       if (v.kind() == Value::Kind::kFloat) return Value(std::fabs(v.number()));
       return RenderError(a.line, "abs of a non-number");
     }},
    {"round", [](const Value& v, const CallArgs& a) -> absl::StatusOr<Value> {
       if (!v.is_number()) return RenderError(a.line, "round of a non-number");
       const Value digits = a.Get(0, "precision");
       const double scale = std::pow(10.0, digits.kind() == Value::Kind::kInt ? digits.integer() : 0);
       return Value(std::nearbyint(v.number() * scale) / scale);
     }},
    {"items", [](const Value& v, const CallArgs& a) -> absl::StatusOr<Value> {
       if (!v.is_dict()) return RenderError(a.line, absl::StrCat("items of a ", KindName(v)));
       return Value(Items(v));
     }},
    {"reverse", [](const Value& v, const CallArgs& a) -> absl::StatusOr<Value> {
       if (v.is_string()) return Value(std::string(v.str().rbegin(), v.str().rend()));
       if (v.is_list()) return Value(List(v.list().rbegin(), v.list().rend()));
       return RenderError(a.line, absl::StrCat("reverse of a ", KindName(v)));
     }},
    {"replace", [](const Value& v, const CallArgs& a) { return Replace(v.ToString(), a); }},
};

absl::StatusOr<bool> OddOrEven(const Value& v, const CallArgs& a, bool odd) {
  if (v.kind() != Value::Kind::kInt) {
    return RenderError(a.line, absl::StrCat(odd ? "odd" : "even", " of a non-integer"));
  }
  return (v.integer() % 2 != 0) == odd;
}

absl::StatusOr<bool> Equal(const Value& v, const CallArgs& a) {
  return !a.positional.empty() && v == a.positional[0];
}

const Test kTests[] = {
    {"defined", [](const Value& v, const CallArgs&) -> absl::StatusOr<bool> {
       return !v.is_undefined();
     }},
    {"undefined", [](const Value& v, const CallArgs&) -> absl::StatusOr<bool> {
       return v.is_undefined();
     }},
    {"none", [](const Value& v, const CallArgs&) -> absl::StatusOr<bool> {
       return v.is_none();
     }},
    {"string", [](const Value& v, const CallArgs&) -> absl::StatusOr<bool> {
       return v.is_string();
     }},
    {"number", [](const Value& v, const CallArgs&) -> absl::StatusOr<bool> {
       return v.is_number();
     }},
    {"integer", [](const Value& v, const CallArgs&) -> absl::StatusOr<bool> {
       return v.kind() == Value::Kind::kInt;
     }},
    {"float", [](const Value& v, const CallArgs&) -> absl::StatusOr<bool> {
       return v.kind() == Value::Kind::kFloat;
     }},
    {"boolean", [](const Value& v, const CallArgs&) -> absl::StatusOr<bool> {
       return v.kind() == Value::Kind::kBool;
     }},
    {"true", [](const Value& v, const CallArgs&) -> absl::StatusOr<bool> {
       return v.kind() == Value::Kind::kBool && v.boolean();
     }},
    {"false", [](const Value& v, const CallArgs&) -> absl::StatusOr<bool> {
       return v.kind() == Value::Kind::kBool && !v.boolean();
     }},
    {"mapping", [](const Value& v, const CallArgs&) -> absl::StatusOr<bool> {
       return v.is_dict();
     }},
    {"iterable", [](const Value& v, const CallArgs&) -> absl::StatusOr<bool> {
       return v.is_list() || v.is_dict() || v.is_string();
     }},
    {"sequence", [](const Value& v, const CallArgs&) -> absl::StatusOr<bool> {
       return v.is_list() || v.is_string() || v.is_dict();
     }},
    {"callable", [](const Value& v, const CallArgs&) -> absl::StatusOr<bool> {
       return v.kind() == Value::Kind::kFunction;
     }},
    {"odd", [](const Value& v, const CallArgs& a) { return OddOrEven(v, a, true); }},
    {"even", [](const Value& v, const CallArgs& a) { return OddOrEven(v, a, false); }},
    {"eq", Equal},
    {"equalto", Equal},
    {"sameas", Equal},
    {"==", Equal},
};

template <class Row, size_t N>
const Row* Find(const Row (&rows)[N], absl::string_view name) {
  for (const Row& row : rows) {
    if (name == row.name) return &row;
  }
  return nullptr;
}

}  // namespace

Value CallArgs::Get(size_t position, const char* name) const {
  for (const auto& [k, v] : kwargs) {
    if (k == name) return v;
  }
  return position < positional.size() ? positional[position] : Value();
}

const Filter* FindFilter(absl::string_view name) { return Find(kFilters, name); }
const Test* FindTest(absl::string_view name) { return Find(kTests, name); }
bool IsMethod(absl::string_view name) { return Find(kMethods, name) != nullptr; }

absl::StatusOr<Value> CallMethod(const Value& object, absl::string_view name,
                                 const CallArgs& args) {
  for (const Method& m : kMethods) {
    if (name == m.name && object.kind() == m.on) return m.apply(object, args);
  }
  return absl::NotFoundError(name);
}

absl::Status RenderError(int line, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("chat template line ", line, ": ", what));
}

absl::string_view KindName(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined: return "undefined";
    case Value::Kind::kNone: return "none";
    case Value::Kind::kBool: return "boolean";
    case Value::Kind::kInt: return "integer";
    case Value::Kind::kFloat: return "float";
    case Value::Kind::kString: return "string";
    case Value::Kind::kList: return "list";
    case Value::Kind::kDict: return "dict";
    case Value::Kind::kFunction: return "function";
  }
  return "?";
}

}  // namespace smallmind::text::jinja
