// Conversations into prompt text with the model's own Jinja chat template
// (text/jinja.h), as Hugging Face's apply_chat_template renders it, or
// with a built-in template chosen by name for models without one (or whose
// template uses Jinja this subset lacks).
#ifndef SMALLMIND_TEXT_CHAT_TEMPLATE_H_
#define SMALLMIND_TEXT_CHAT_TEMPLATE_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "model/model.pb.h"
#include "text/jinja.h"
#include "text/tokenizer.h"

namespace smallmind::text {

struct ChatMessage {
  ChatMessage() = default;
  ChatMessage(std::string role, std::string content, jinja::Dict fields = {})
      : role(std::move(role)), content(std::move(content)), fields(std::move(fields)) {}

  std::string role;  // system, user, assistant (tool, ...: as the template takes them)
  std::string content;
  // More of the message for the template, after role and content: an
  // assistant's tool_calls, a tool result's tool_call_id and name.
  jinja::Dict fields;
};

// The built-in templates: chatml (Qwen, SmolLM2), llama3, llama2, gemma,
// phi3, zephyr.
std::vector<std::string> BuiltinChatTemplateNames();
// The Jinja text of the built-in template `name`, or "" for none.
std::string BuiltinChatTemplate(absl::string_view name);

class ChatTemplate {
 public:
  // `source` is Jinja; `bos` and `eos` are the texts of the model's BOS and
  // EOS tokens. Errors name the line of a construct the subset lacks.
  static absl::StatusOr<ChatTemplate> Create(absl::string_view source, std::string bos,
                                             std::string eos);

  // The template for a model: `override` (a built-in name, or Jinja text)
  // when given, else the tokenizer's. Errors say what to pass instead.
  static absl::StatusOr<ChatTemplate> ForModel(const model::TokenizerSpec& tokenizer,
                                               absl::string_view override = "");

  // The prompt for `messages`, ending with the assistant's header when
  // `add_generation_prompt`. `extra` adds template variables (e.g.
  // enable_thinking, date_string). The template's raise_exception() is an
  // InvalidArgument error with its message.
  absl::StatusOr<std::string> Render(absl::Span<const ChatMessage> messages,
                                     bool add_generation_prompt,
                                     const jinja::Dict& extra = {}) const;

  // The Jinja text, for callers that ask what the template can render
  // (tool calls, in which format).
  const std::string& source() const { return source_; }

  // The ids of a Render()ed prompt: control tokens become their ids, and
  // BOS comes first when the vocabulary wants it and the template did not
  // write it already.
  absl::StatusOr<std::vector<int32_t>> Encode(const Tokenizer& tokenizer,
                                              absl::string_view rendered) const;

 private:
  jinja::Template template_;
  std::string source_;
  std::string bos_, eos_;
};

}  // namespace smallmind::text

#endif  // SMALLMIND_TEXT_CHAT_TEMPLATE_H_
