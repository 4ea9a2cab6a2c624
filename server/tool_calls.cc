#include "server/tool_calls.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "grammar/json_schema.h"

namespace smallmind::server {
namespace {

using Json = nlohmann::ordered_json;

constexpr absl::string_view kOpen = "<tool_call>", kClose = "</tool_call>";

const Tool* Find(const std::vector<Tool>& tools, const std::string& name) {
  for (const Tool& t : tools) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

// A call object {"name": ..., `arguments_key`: {...} or its text}.
bool ReadCall(absl::string_view text, const char* arguments_key, const std::vector<Tool>& tools,
              ToolCall* call) {
  const Json j = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("name") || !j["name"].is_string()) return false;
  if (Find(tools, j["name"].get<std::string>()) == nullptr) return false;
  auto args = j.find(arguments_key);
  Json arguments = Json::object();
  if (args != j.end()) {
    arguments = *args;
    if (arguments.is_string()) {  // arguments as the text of an object
      const std::string s = arguments.get<std::string>();
      arguments = Json::parse(s, nullptr, /*allow_exceptions=*/false);
    }
  }
  if (!arguments.is_object()) return false;
  call->name = j["name"].get<std::string>();
  call->arguments = arguments.dump(-1, ' ', false, Json::error_handler_t::replace);
  return true;
}

}  // namespace

ToolFormat ToolFormatOf(absl::string_view source) {
  if (absl::StrContains(source, kOpen)) return ToolFormat::kHermes;
  if (absl::StrContains(source, "\"parameters\": dictionary of argument name and its value")) {
    return ToolFormat::kLlama3;
  }
  return ToolFormat::kNone;
}

ParsedReply ParseToolCalls(absl::string_view text, ToolFormat format,
                           const std::vector<Tool>& tools) {
  ParsedReply out;
  if (format == ToolFormat::kLlama3) {
    ToolCall call;
    if (ReadCall(absl::StripAsciiWhitespace(text), "parameters", tools, &call)) {
      out.calls.push_back(std::move(call));
    } else {
      out.content = std::string(text);
    }
    return out;
  }
  std::string content;
  size_t at = 0;
  while (format == ToolFormat::kHermes) {
    const size_t open = text.find(kOpen, at);
    if (open == absl::string_view::npos) break;
    const size_t close = text.find(kClose, open);
    if (close == absl::string_view::npos) break;
    ToolCall call;
    const absl::string_view body = text.substr(open + kOpen.size(), close - open - kOpen.size());
    if (!ReadCall(absl::StripAsciiWhitespace(body), "arguments", tools, &call)) break;
    absl::StrAppend(&content, text.substr(at, open - at));
    out.calls.push_back(std::move(call));
    at = close + kClose.size();
  }
  absl::StrAppend(&content, text.substr(at));
  out.content = out.calls.empty() ? std::string(text)
                                  : std::string(absl::StripAsciiWhitespace(content));
  return out;
}

size_t ToolCallStart(absl::string_view text, ToolFormat format) {
  if (format == ToolFormat::kLlama3) {
    // A reply that is a call begins with its object.
    const size_t first = text.find_first_not_of(" \t\n\r");
    return first != absl::string_view::npos && text[first] == '{' ? 0 : absl::string_view::npos;
  }
  if (format != ToolFormat::kHermes) return absl::string_view::npos;
  const size_t open = text.find(kOpen);
  if (open != absl::string_view::npos) return open;
  // The longest tail that begins the tag.
  for (size_t len = std::min(text.size(), kOpen.size() - 1); len > 0; --len) {
    if (kOpen.substr(0, len) == text.substr(text.size() - len)) return text.size() - len;
  }
  return absl::string_view::npos;
}

absl::StatusOr<std::string> ToolCallGbnf(const std::vector<Tool>& tools, ToolFormat format,
                                         const std::string& only, bool parallel) {
  // One schema for a call of any of the tools: anyOf over their
  // {"name": const, arguments: parameters} objects, the tools' $defs
  // gathered at the root (where their $refs point).
  const char* arguments_key = format == ToolFormat::kLlama3 ? "parameters" : "arguments";
  Json any = Json::array(), defs = Json::object();
  for (const Tool& t : tools) {
    if (!only.empty() && t.name != only) continue;
    Json parameters = t.parameters;
    for (const char* key : {"$defs", "definitions"}) {
      if (!parameters.is_object() || !parameters.contains(key)) continue;
      for (const auto& [name, def] : parameters[key].items()) {
        if (defs.contains(name) && defs[name] != def) {
          return absl::InvalidArgumentError(absl::StrCat(
              "'tools': the tools define '", name, "' in their $defs differently"));
        }
        defs[name] = def;
      }
      parameters.erase(key);
    }
    Json call = {{"type", "object"},
                 {"properties", {{"name", {{"const", t.name}}}, {arguments_key, parameters}}},
                 {"required", {"name", arguments_key}}};
    any.push_back(std::move(call));
  }
  Json schema = {{"anyOf", any}};
  if (!defs.empty()) schema["$defs"] = defs;
  absl::StatusOr<std::string> call = grammar::JsonSchemaToGbnf(schema.dump(), "tool-call");
  if (!call.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("'tools': a function's parameters are not usable: ", call.status().message()));
  }
  if (format == ToolFormat::kLlama3) return absl::StrCat("root ::= tool-call\n", *call);
  const std::string block = "\"<tool_call>\\n\" tool-call \"\\n</tool_call>\"";
  return absl::StrCat("root ::= ", block, parallel ? absl::StrCat(" (\"\\n\" ", block, ")*") : "",
                      "\n", *call);
}

}  // namespace smallmind::server
