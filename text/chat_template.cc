#include "text/chat_template.h"

#include <ctime>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status.h"

namespace smallmind::text {
namespace {

struct Builtin {
  const char* name;
  const char* source;
};

// Written here from each format's published shape; the tests check them
// against the models' own templates where those are available.
constexpr Builtin kBuiltins[] = {
    {"chatml",
     "{%- for message in messages -%}"
     "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' -}}"
     "{%- endfor -%}"
     "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"},
    {"llama3",
     "{{- bos_token -}}"
     "{%- for message in messages -%}"
     "{{- '<|start_header_id|>' + message.role + '<|end_header_id|>\\n\\n' + "
     "message.content | trim + '<|eot_id|>' -}}"
     "{%- endfor -%}"
     "{%- if add_generation_prompt -%}"
     "{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}{%- endif -%}"},
    {"llama2",
     "{%- if messages and messages[0].role == 'system' -%}"
     "{%- set system = '<<SYS>>\\n' + messages[0].content + '\\n<</SYS>>\\n\\n' -%}"
     "{%- set turns = messages[1:] -%}"
     "{%- else -%}{%- set system = '' -%}{%- set turns = messages -%}{%- endif -%}"
     "{%- for message in turns -%}"
     "{%- if message.role == 'user' -%}"
     "{{- bos_token + '[INST] ' + (system if loop.first else '') + message.content | trim + "
     "' [/INST]' -}}"
     "{%- elif message.role == 'assistant' -%}"
     "{{- ' ' + message.content | trim + ' ' + eos_token -}}"
     "{%- endif -%}"
     "{%- endfor -%}"},
    {"gemma",
     "{{- bos_token -}}"
     "{%- if messages and messages[0].role == 'system' -%}"
     "{%- set prefix = messages[0].content + '\\n\\n' -%}{%- set turns = messages[1:] -%}"
     "{%- else -%}{%- set prefix = '' -%}{%- set turns = messages -%}{%- endif -%}"
     "{%- for message in turns -%}"
     "{{- '<start_of_turn>' + ('model' if message.role == 'assistant' else message.role) + "
     "'\\n' + (prefix if loop.first else '') + message.content | trim + '<end_of_turn>\\n' -}}"
     "{%- endfor -%}"
     "{%- if add_generation_prompt -%}{{- '<start_of_turn>model\\n' -}}{%- endif -%}"},
    {"phi3",
     "{%- for message in messages -%}"
     "{%- if message.role != 'system' or message.content -%}"
     "{{- '<|' + message.role + '|>\\n' + message.content + '<|end|>\\n' -}}"
     "{%- endif -%}"
     "{%- endfor -%}"
     "{%- if add_generation_prompt -%}{{- '<|assistant|>\\n' -}}"
     "{%- else -%}{{- eos_token -}}{%- endif -%}"},
    {"zephyr",
     "{%- for message in messages -%}"
     "{{- '<|' + message.role + '|>\\n' + message.content + eos_token + '\\n' -}}"
     "{%- endfor -%}"
     "{%- if add_generation_prompt -%}{{- '<|assistant|>\\n' -}}{%- endif -%}"},
};

std::string TokenText(const model::TokenizerSpec& spec, bool has, int32_t id) {
  return has && id >= 0 && id < spec.tokens_size() ? spec.tokens(id) : "";
}

// strftime_now(format), as transformers and llama.cpp offer templates (Llama
// 3.2 prints today's date with it).
jinja::Value StrftimeNow() {
  return jinja::Value::Callable(
      [](const std::vector<jinja::Value>& args, const jinja::Dict&) -> absl::StatusOr<jinja::Value> {
        if (args.empty() || !args[0].is_string()) {
          return absl::InvalidArgumentError("strftime_now() needs a format");
        }
        const std::time_t now = std::time(nullptr);
        std::tm local;
        localtime_r(&now, &local);
        char buf[256];
        const size_t n = std::strftime(buf, sizeof(buf), args[0].str().c_str(), &local);
        return jinja::Value(std::string(buf, n));
      });
}

}  // namespace

std::vector<std::string> BuiltinChatTemplateNames() {
  std::vector<std::string> names;
  for (const Builtin& b : kBuiltins) names.push_back(b.name);
  return names;
}

std::string BuiltinChatTemplate(absl::string_view name) {
  for (const Builtin& b : kBuiltins) {
    if (name == b.name) return b.source;
  }
  return "";
}

absl::StatusOr<ChatTemplate> ChatTemplate::Create(absl::string_view source, std::string bos,
                                                  std::string eos) {
  ChatTemplate t;
  SM_ASSIGN_OR_RETURN(t.template_, jinja::Template::Parse(source));
  t.source_ = std::string(source);
  t.bos_ = std::move(bos);
  t.eos_ = std::move(eos);
  return t;
}

absl::StatusOr<ChatTemplate> ChatTemplate::ForModel(const model::TokenizerSpec& tokenizer,
                                                    absl::string_view override) {
  std::string bos = TokenText(tokenizer, tokenizer.has_bos_id(), tokenizer.bos_id());
  std::string eos = TokenText(tokenizer, tokenizer.has_eos_id(), tokenizer.eos_id());
  const std::string names = absl::StrJoin(BuiltinChatTemplateNames(), ", ");
  if (!override.empty()) {
    if (const std::string builtin = BuiltinChatTemplate(override); !builtin.empty()) {
      return Create(builtin, std::move(bos), std::move(eos));
    }
    if (override.find("{%") == absl::string_view::npos &&
        override.find("{{") == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown chat template '", override, "' (built in: ", names, "; or Jinja text)"));
    }
    return Create(override, std::move(bos), std::move(eos));
  }
  if (tokenizer.chat_template().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the model has no chat template; pass --chat-template NAME (", names, ")"));
  }
  absl::StatusOr<ChatTemplate> t = Create(tokenizer.chat_template(), std::move(bos), std::move(eos));
  if (!t.ok()) {
    return absl::Status(t.status().code(),
                        absl::StrCat(t.status().message(),
                                     " (SmallMind's Jinja subset lacks it; pass --chat-template "
                                     "NAME: ",
                                     names, ")"));
  }
  return t;
}

absl::StatusOr<std::string> ChatTemplate::Render(absl::Span<const ChatMessage> messages,
                                                 bool add_generation_prompt,
                                                 const jinja::Dict& extra) const {
  jinja::List list;
  for (const ChatMessage& m : messages) {
    jinja::Dict message{{"role", jinja::Value(m.role)}, {"content", jinja::Value(m.content)}};
    message.insert(message.end(), m.fields.begin(), m.fields.end());
    list.emplace_back(std::move(message));
  }
  jinja::Dict globals = {
      {"messages", jinja::Value(std::move(list))},
      {"add_generation_prompt", jinja::Value(add_generation_prompt)},
      {"bos_token", jinja::Value(bos_)},
      {"eos_token", jinja::Value(eos_)},
      {"strftime_now", StrftimeNow()},
  };
  for (const auto& kv : extra) globals.push_back(kv);
  return template_.Render(globals);
}

absl::StatusOr<std::vector<int32_t>> ChatTemplate::Encode(const Tokenizer& tokenizer,
                                                          absl::string_view rendered) const {
  const bool wrote_bos = !bos_.empty() && absl::StartsWith(rendered, bos_);
  return tokenizer.Encode(rendered, tokenizer.add_bos() && !wrote_bos, /*parse_special=*/true);
}

}  // namespace smallmind::text
