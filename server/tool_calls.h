// Tool calling in the formats the chat templates define: the tools go to
// the template (its `tools` variable), the model answers in the template's
// format, and the answer is parsed back into OpenAI's tool_calls.
//   kHermes  <tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>,
//            one block per call (Qwen2.5, Qwen3, Hermes-style templates)
//   kLlama3  the whole reply one {"name": ..., "parameters": {...}}
//            (Llama 3.1/3.2's JSON tool calling; one call per turn)
// With tool_choice "required" or a named function the reply is generated
// under a grammar of exactly that format, each call's arguments under the
// function's parameter schema, so it always parses.
#ifndef SMALLMIND_SERVER_TOOL_CALLS_H_
#define SMALLMIND_SERVER_TOOL_CALLS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace smallmind::server {

struct Tool {
  std::string name;
  nlohmann::ordered_json spec;        // {"type": "function", "function": {...}}, for the template
  nlohmann::ordered_json parameters;  // its JSON schema ({} when not given)
};

enum class ToolFormat { kNone, kHermes, kLlama3 };

// Which format a chat template renders tool calls in; kNone when it does
// not render tools.
ToolFormat ToolFormatOf(absl::string_view template_source);

struct ToolCall {
  std::string name;
  std::string arguments;  // a JSON object's text
};

struct ParsedReply {
  std::string content;  // the text outside the calls (trimmed)
  std::vector<ToolCall> calls;
};

// The calls in `text`: well-formed calls of known tools; anything else
// (an unknown name, arguments that are not an object, an unclosed block)
// stays in the content.
ParsedReply ParseToolCalls(absl::string_view text, ToolFormat format,
                           const std::vector<Tool>& tools);

// Where, in a streamed reply, the text may be a call: streaming holds text
// back from this point. npos: the text cannot (yet) be a call.
size_t ToolCallStart(absl::string_view text, ToolFormat format);

// The grammar of a reply that is one call (or, with `parallel`, one or
// more) of `tools`, or of the tool named `only`. Errors: a parameter schema
// the grammar cannot follow (named with the tool), or $defs two tools
// define differently.
absl::StatusOr<std::string> ToolCallGbnf(const std::vector<Tool>& tools, ToolFormat format,
                                         const std::string& only, bool parallel);

}  // namespace smallmind::server

#endif  // SMALLMIND_SERVER_TOOL_CALLS_H_
