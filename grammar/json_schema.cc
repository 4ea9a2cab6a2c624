#include "grammar/json_schema.h"

#include <cctype>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status.h"
#include "grammar/regex.h"
#include "nlohmann/json.hpp"

namespace smallmind::grammar {
namespace {

// ordered_json: properties come out in the order the schema gives them.
using Json = nlohmann::ordered_json;

// The JSON rules every converted grammar shares. Whitespace between tokens
// is bounded so a model cannot pad forever; numbers are bounded the same
// way (16 digits, as a double holds).
constexpr char kJsonRules[] = R"(ws ::= [ \t\n]{0,16}
json-char ::= [^"\\\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4})
json-string ::= "\"" json-char* "\""
json-int ::= "-"? ("0" | [1-9] [0-9]{0,15})
json-number ::= json-int ("." [0-9]{1,16})? ([eE] [-+]? [0-9]{1,3})?
json-boolean ::= "true" | "false"
json-null ::= "null"
json-value ::= json-object | json-array | json-string | json-number | json-boolean | json-null
json-object ::= "{" ws (json-string ws ":" ws json-value ws ("," ws json-string ws ":" ws json-value ws)*)? "}"
json-array ::= "[" ws (json-value ws ("," ws json-value ws)*)? "]"
)";

// Days as each month has them (February never the 29th, which only leap
// years allow).
constexpr char kDate[] =
    R"([0-9]{4} "-" (("0" [13578] | "1" [02]) "-" ("0" [1-9] | [12] [0-9] | "3" [01]) | ("0" [469] | "11") "-" ("0" [1-9] | [12] [0-9] | "30") | "02" "-" ("0" [1-9] | "1" [0-9] | "2" [0-8])))";
constexpr char kTime[] =
    R"(([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9] ":" [0-5] [0-9] ("." [0-9]{1,6})? ("Z" | [+-] ([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9]))";
constexpr char kUuid[] =
    R"([0-9a-fA-F]{8} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{12})";

// Keywords that only describe: they constrain nothing.
const std::set<std::string>& Annotations() {
  static const auto* set = new std::set<std::string>{
      "title", "description", "default", "examples", "$schema", "$id", "$comment", "deprecated",
      "readOnly", "writeOnly", "$anchor"};
  return *set;
}

const std::set<std::string>& Supported() {
  static const auto* set = new std::set<std::string>{
      "type", "properties", "required", "additionalProperties", "items", "minItems", "maxItems",
      "enum", "const", "anyOf", "oneOf", "$ref", "$defs", "definitions", "minLength", "maxLength",
      "format", "pattern"};
  return *set;
}

// `text` as a GBNF string literal.
std::string Literal(absl::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c == 0x7F) {
      absl::StrAppend(&out, "\\x", absl::Hex(c, absl::kZeroPad2));
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

class SchemaConverter {
 public:
  explicit SchemaConverter(const Json& root) : root_(root) {}

  absl::StatusOr<std::string> Convert(absl::string_view rule) {
    SM_ASSIGN_OR_RETURN(const std::string root, Visit(root_, ""));
    return absl::StrCat(rule, " ::= ", root, "\n", rules_, kJsonRules);
  }

 private:
  absl::Status Error(const std::string& path, absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat("json_schema: ", path.empty() ? "/" : path, ": ", what));
  }

  std::string AddRule(const std::string& hint, const std::string& body) {
    std::string name = "s";
    for (char c : hint) {
      name += (std::isalnum(static_cast<unsigned char>(c)) ? c : '-');
    }
    absl::StrAppend(&name, "-", ++counter_);
    absl::StrAppend(&rules_, name, " ::= ", body, "\n");
    return name;
  }

  absl::StatusOr<std::string> Visit(const Json& schema, const std::string& path);
  absl::StatusOr<std::string> Ref(const std::string& ref, const std::string& path);
  absl::StatusOr<std::string> Typed(const Json& schema, const std::string& type,
                                    const std::string& path);
  absl::StatusOr<std::string> Object(const Json& schema, const std::string& path);
  absl::StatusOr<std::string> Array(const Json& schema, const std::string& path);
  absl::StatusOr<std::string> String(const Json& schema, const std::string& path);
  absl::StatusOr<uint64_t> Count(const Json& schema, const char* key, const std::string& path,
                                 uint64_t otherwise) {
    auto it = schema.find(key);
    if (it == schema.end()) return otherwise;
    if (!it->is_number_unsigned() || it->get<uint64_t>() > 100000) {
      return Error(path, absl::StrCat("'", key, "' must be an integer in [0, 100000]"));
    }
    return it->get<uint64_t>();
  }

  const Json& root_;
  std::string rules_;
  std::map<std::string, std::string> refs_;  // $ref -> its rule
  int counter_ = 0;
};

absl::StatusOr<std::string> SchemaConverter::Ref(const std::string& ref, const std::string& path) {
  if (auto it = refs_.find(ref); it != refs_.end()) return it->second;
  const Json* target = nullptr;
  for (const char* prefix : {"#/$defs/", "#/definitions/"}) {
    const std::string p = prefix;
    if (ref.compare(0, p.size(), p) != 0) continue;
    const std::string defs = p.substr(2, p.size() - 3);
    const std::string name = ref.substr(p.size());
    auto d = root_.find(defs);
    if (d != root_.end() && d->is_object() && d->contains(name)) target = &(*d)[name];
  }
  if (ref == "#") target = &root_;
  if (target == nullptr) {
    return Error(path, absl::StrCat("$ref '", ref, "' does not resolve (refs into #/$defs/ "
                                    "and #/definitions/ are supported)"));
  }
  // Named before it is converted, so a recursive reference finds it.
  std::string name = absl::StrCat("ref-", ++counter_);
  refs_[ref] = name;
  SM_ASSIGN_OR_RETURN(const std::string body, Visit(*target, ref.substr(1)));
  absl::StrAppend(&rules_, name, " ::= ", body, "\n");
  return name;
}

absl::StatusOr<std::string> SchemaConverter::Visit(const Json& schema, const std::string& path) {
  if (schema.is_boolean()) {
    if (schema.get<bool>()) return std::string("json-value");
    return Error(path, "the schema false admits no value");
  }
  if (!schema.is_object()) return Error(path, "a schema must be an object or a boolean");
  for (const auto& [key, value] : schema.items()) {
    if (!Supported().count(key) && !Annotations().count(key)) {
      return Error(path, absl::StrCat("'", key, "' is not supported"));
    }
  }
  if (auto ref = schema.find("$ref"); ref != schema.end()) {
    if (!ref->is_string()) return Error(path, "'$ref' must be a string");
    return Ref(ref->get<std::string>(), path);
  }
  if (auto c = schema.find("const"); c != schema.end()) return Literal(c->dump());
  if (auto e = schema.find("enum"); e != schema.end()) {
    if (!e->is_array() || e->empty()) return Error(path, "'enum' must be a non-empty list");
    std::vector<std::string> options;
    for (const Json& v : *e) options.push_back(Literal(v.dump()));
    return absl::StrCat("(", absl::StrJoin(options, " | "), ")");
  }
  for (const char* key : {"anyOf", "oneOf"}) {
    auto any = schema.find(key);
    if (any == schema.end()) continue;
    if (!any->is_array() || any->empty()) return Error(path, absl::StrCat("'", key, "' must be a non-empty list"));
    std::vector<std::string> options;
    for (size_t i = 0; i < any->size(); ++i) {
      SM_ASSIGN_OR_RETURN(std::string option,
                          Visit((*any)[i], absl::StrCat(path, "/", key, "/", i)));
      options.push_back(std::move(option));
    }
    return absl::StrCat("(", absl::StrJoin(options, " | "), ")");
  }
  auto type = schema.find("type");
  if (type == schema.end()) {
    if (schema.contains("properties")) return Typed(schema, "object", path);
    if (schema.contains("items")) return Typed(schema, "array", path);
    return std::string("json-value");
  }
  if (type->is_string()) return Typed(schema, type->get<std::string>(), path);
  if (!type->is_array() || type->empty()) return Error(path, "'type' must be a string or a non-empty list");
  std::vector<std::string> options;
  for (const Json& t : *type) {
    if (!t.is_string()) return Error(path, "'type' must list strings");
    SM_ASSIGN_OR_RETURN(std::string option, Typed(schema, t.get<std::string>(), path));
    options.push_back(std::move(option));
  }
  return absl::StrCat("(", absl::StrJoin(options, " | "), ")");
}

absl::StatusOr<std::string> SchemaConverter::Typed(const Json& schema, const std::string& type,
                                                   const std::string& path) {
  if (type == "object") return Object(schema, path);
  if (type == "array") return Array(schema, path);
  if (type == "string") return String(schema, path);
  if (type == "number") return std::string("json-number");
  if (type == "integer") return std::string("json-int");
  if (type == "boolean") return std::string("json-boolean");
  if (type == "null") return std::string("json-null");
  return Error(path, absl::StrCat("'type' '", type, "' is not a JSON Schema type"));
}

absl::StatusOr<std::string> SchemaConverter::Object(const Json& schema, const std::string& path) {
  const Json* additional = nullptr;
  if (auto a = schema.find("additionalProperties"); a != schema.end()) additional = &*a;
  auto properties = schema.find("properties");
  std::set<std::string> required;
  if (auto r = schema.find("required"); r != schema.end()) {
    if (!r->is_array()) return Error(path, "'required' must be a list of names");
    for (const Json& name : *r) {
      if (!name.is_string()) return Error(path, "'required' must be a list of names");
      required.insert(name.get<std::string>());
    }
  }
  if (properties == schema.end() || (properties->is_object() && properties->empty())) {
    if (!required.empty()) {
      return Error(path, absl::StrCat("required property '", *required.begin(),
                                      "' is not in 'properties'"));
    }
    if (additional != nullptr && additional->is_boolean() && !additional->get<bool>()) {
      return std::string(R"("{" ws "}")");
    }
    std::string value = "json-value";
    if (additional != nullptr && !additional->is_boolean()) {
      SM_ASSIGN_OR_RETURN(value, Visit(*additional, path + "/additionalProperties"));
    }
    const std::string pair = absl::StrCat("json-string ws \":\" ws ", value, " ws");
    return AddRule(path + "-map", absl::StrCat("\"{\" ws (", pair, " (\",\" ws ", pair, ")*)? \"}\""));
  }
  if (!properties->is_object()) return Error(path, "'properties' must be an object");
  if (additional != nullptr && !additional->is_boolean()) {
    // Checked even though nothing beyond the listed properties is made.
    SM_RETURN_IF_ERROR(Visit(*additional, path + "/additionalProperties").status());
  }
  std::vector<std::string> pairs;  // each property's `"name" : value`
  std::vector<bool> is_required;
  for (const auto& [name, sub] : properties->items()) {
    SM_ASSIGN_OR_RETURN(const std::string value, Visit(sub, absl::StrCat(path, "/properties/", name)));
    pairs.push_back(absl::StrCat(Literal(Json(name).dump()), " ws \":\" ws ", value, " ws"));
    is_required.push_back(required.erase(name) > 0);
  }
  if (!required.empty()) {
    return Error(path, absl::StrCat("required property '", *required.begin(),
                                    "' is not in 'properties'"));
  }
  // In the schema's order; an optional property may be left out. rest[k]
  // is what may follow property k: the later ones, each after a comma.
  const size_t n = pairs.size();
  std::vector<std::string> rest(n + 1);
  for (size_t k = n; k-- > 0;) {
    if (k + 1 == n) continue;  // nothing follows the last
    std::string next = absl::StrCat("\",\" ws ", pairs[k + 1]);
    if (!is_required[k + 1]) next = absl::StrCat("(", next, ")?");
    rest[k] = AddRule(path + "-rest", absl::StrCat(next, rest[k + 1].empty() ? "" : " " + rest[k + 1]));
  }
  // The first property present: any up to and including the first required.
  std::vector<std::string> firsts;
  bool all_optional = true;
  for (size_t k = 0; k < n; ++k) {
    firsts.push_back(absl::StrCat(pairs[k], rest[k].empty() ? "" : " " + rest[k]));
    if (is_required[k]) {
      all_optional = false;
      break;
    }
  }
  std::string body = absl::StrCat("(", absl::StrJoin(firsts, " | "), ")");
  if (all_optional) body += "?";
  return AddRule(path + "-object", absl::StrCat("\"{\" ws ", body, " \"}\""));
}

absl::StatusOr<std::string> SchemaConverter::Array(const Json& schema, const std::string& path) {
  std::string item = "json-value";
  if (auto items = schema.find("items"); items != schema.end()) {
    if (items->is_array()) return Error(path, "'items' as a list (tuples) is not supported");
    SM_ASSIGN_OR_RETURN(item, Visit(*items, path + "/items"));
  }
  SM_ASSIGN_OR_RETURN(const uint64_t min, Count(schema, "minItems", path, 0));
  SM_ASSIGN_OR_RETURN(const uint64_t max, Count(schema, "maxItems", path, UINT64_MAX));
  if (max < min) return Error(path, "'maxItems' is below 'minItems'");
  if (max == 0) return std::string(R"("[" ws "]")");
  const std::string more_max = max == UINT64_MAX ? "" : absl::StrCat(max - 1);
  const std::string more = absl::StrCat("(\",\" ws ", item, " ws){", min > 0 ? min - 1 : 0, ",",
                                        more_max, "}");
  std::string body = absl::StrCat("(", item, " ws ", more, ")");
  if (min == 0) body += "?";
  return AddRule(path + "-array", absl::StrCat("\"[\" ws ", body, " \"]\""));
}

absl::StatusOr<std::string> SchemaConverter::String(const Json& schema, const std::string& path) {
  if (auto pattern = schema.find("pattern"); pattern != schema.end()) {
    if (!pattern->is_string()) return Error(path, "'pattern' must be a string");
    if (schema.contains("format") || schema.contains("minLength") || schema.contains("maxLength")) {
      return Error(path, "'pattern' with 'format', 'minLength' or 'maxLength' is not supported");
    }
    absl::StatusOr<std::string> inner = RegexToJsonStringGbnf(pattern->get<std::string>());
    if (!inner.ok()) return Error(path, inner.status().message());
    return AddRule(path + "-pattern", absl::StrCat("\"\\\"\" ", *inner, " \"\\\"\""));
  }
  if (auto format = schema.find("format"); format != schema.end()) {
    const std::string f = format->is_string() ? format->get<std::string>() : "";
    const char* body = f == "date"        ? kDate
                       : f == "time"      ? kTime
                       : f == "uuid"      ? kUuid
                       : f == "date-time" ? "" : nullptr;
    if (body == nullptr) {
      return Error(path, absl::StrCat("'format' '", f, "' is not supported (date, time, date-time, uuid are)"));
    }
    const std::string inner = f == "date-time" ? absl::StrCat(kDate, " \"T\" ", kTime) : body;
    return AddRule(path + "-" + f, absl::StrCat("\"\\\"\" ", inner, " \"\\\"\""));
  }
  SM_ASSIGN_OR_RETURN(const uint64_t min, Count(schema, "minLength", path, 0));
  SM_ASSIGN_OR_RETURN(const uint64_t max, Count(schema, "maxLength", path, UINT64_MAX));
  if (max < min) return Error(path, "'maxLength' is below 'minLength'");
  if (min == 0 && max == UINT64_MAX) return std::string("json-string");
  return AddRule(path + "-string",
                 absl::StrCat("\"\\\"\" json-char{", min, ",",
                              max == UINT64_MAX ? "" : absl::StrCat(max), "} \"\\\"\""));
}

}  // namespace

absl::StatusOr<std::string> JsonSchemaToGbnf(absl::string_view schema, absl::string_view rule) {
  const Json json = Json::parse(schema.begin(), schema.end(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return absl::InvalidArgumentError("json_schema: not valid JSON");
  return SchemaConverter(json).Convert(rule);
}

std::string JsonObjectGbnf() { return absl::StrCat("root ::= json-object\n", kJsonRules); }

}  // namespace smallmind::grammar
