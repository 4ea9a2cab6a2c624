#include "server/openai.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "grammar/grammar.h"
#include "grammar/json_schema.h"
#include "text/jinja_json.h"
#include "nlohmann/json.hpp"

namespace smallmind::server {
namespace {

// Ordered: a JSON schema's properties keep the order the client gave them.
using Json = nlohmann::ordered_json;

absl::Status FieldError(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("'", field, "' ", what));
}

// body[key] when present and not null.
const Json* Get(const Json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return nullptr;
  return &*it;
}

// A message's content: a string, or a list of parts of which the text ones
// count (as llama.cpp takes them).
absl::StatusOr<std::string> Content(const Json& message, size_t index) {
  const Json* content = Get(message, "content");
  const std::string field = absl::StrCat("messages[", index, "].content");
  if (content == nullptr) return std::string();
  if (content->is_string()) return content->get<std::string>();
  if (!content->is_array()) return FieldError(field, "must be a string or a list of parts");
  std::string text;
  for (const Json& part : *content) {
    const Json* type = part.is_object() ? Get(part, "type") : nullptr;
    const Json* value = part.is_object() ? Get(part, "text") : nullptr;
    if (type == nullptr || !type->is_string()) return FieldError(field, "has a part without a type");
    if (*type != "text") {
      return FieldError(field, absl::StrCat("has a '", type->get<std::string>(),
                                            "' part; only text is supported"));
    }
    if (value == nullptr || !value->is_string()) return FieldError(field, "has a text part without text");
    text += value->get<std::string>();
  }
  return text;
}

// Generated text need not be valid UTF-8 (a token may end inside a
// character): invalid bytes become U+FFFD rather than failing the dump.
std::string Dump(const Json& object) {
  return object.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string Chunk(const Json& object) { return absl::StrCat("data: ", Dump(object), "\n\n"); }

// What every completion object and chunk starts with.
Json Envelope(const char* object, const std::string& id, int64_t created, const std::string& model) {
  return {{"id", id}, {"object", object}, {"created", created}, {"model", model}};
}

Json UsageJson(const Usage& u) {
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.prompt_tokens + u.completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", u.cached_tokens}}}};
}

Json FinishJson(const char* finish_reason) {
  return finish_reason != nullptr ? Json(finish_reason) : Json(nullptr);
}

Json Bytes(const std::string& text) {
  Json bytes = Json::array();
  for (unsigned char c : text) bytes.push_back(c);
  return bytes;
}

// Chat's {"content": [{token, logprob, bytes, top_logprobs}], "refusal"}.
Json ChatLogprobsJson(const std::vector<TokenLogprob>& tokens) {
  Json content = Json::array();
  for (const TokenLogprob& t : tokens) {
    Json top = Json::array();
    for (const auto& [text, logprob] : t.top) {
      top.push_back({{"token", text}, {"logprob", logprob}, {"bytes", Bytes(text)}});
    }
    content.push_back({{"token", t.text}, {"logprob", t.logprob}, {"bytes", Bytes(t.text)},
                       {"top_logprobs", std::move(top)}});
  }
  return {{"content", std::move(content)}, {"refusal", nullptr}};
}

// The completions endpoint's legacy lists.
Json CompletionLogprobsJson(const std::vector<TokenLogprob>& tokens) {
  Json texts = Json::array(), logprobs = Json::array(), tops = Json::array(),
       offsets = Json::array();
  for (const TokenLogprob& t : tokens) {
    texts.push_back(t.text);
    // An echoed prompt's first token has nothing before it: null, as OpenAI.
    const bool none = std::isnan(t.logprob);
    logprobs.push_back(none ? Json(nullptr) : Json(t.logprob));
    Json top = Json::object();
    for (const auto& [text, logprob] : t.top) {
      if (!top.contains(text)) top[text] = logprob;  // two ids, one text: the likelier
    }
    tops.push_back(none ? Json(nullptr) : std::move(top));
    offsets.push_back(t.text_offset);
  }
  return {{"tokens", std::move(texts)}, {"token_logprobs", std::move(logprobs)},
          {"top_logprobs", std::move(tops)}, {"text_offset", std::move(offsets)}};
}

// A choice: `key` (message, delta or text), its log probabilities and how
// it finished.
Json ChoiceJson(size_t index, const char* key, Json value, const char* finish_reason,
                Logprobs logprobs) {
  const bool chat = std::string(key) != "text";
  return {{"index", index},
          {key, std::move(value)},
          {"logprobs", logprobs == nullptr ? Json(nullptr)
                       : chat              ? ChatLogprobsJson(*logprobs)
                                           : CompletionLogprobsJson(*logprobs)},
          {"finish_reason", FinishJson(finish_reason)}};
}

// An envelope with one choice (a stream's chunk).
Json OneChoice(const char* object, const std::string& id, int64_t created, const std::string& model,
               size_t index, const char* key, Json value, const char* finish_reason,
               Logprobs logprobs) {
  Json out = Envelope(object, id, created, model);
  out["choices"] = Json::array({ChoiceJson(index, key, std::move(value), finish_reason, logprobs)});
  return out;
}

Json MessageJson(const ChoiceReply& c) {
  Json message = {{"role", "assistant"}, {"content", c.text}};
  if (!c.tool_calls.empty()) {
    if (c.text.empty()) message["content"] = nullptr;
    Json calls = Json::array();
    for (const ToolCallReply& t : c.tool_calls) {
      calls.push_back({{"id", t.id}, {"type", "function"},
                       {"function", {{"name", t.call.name}, {"arguments", t.call.arguments}}}});
    }
    message["tool_calls"] = std::move(calls);
  }
  return message;
}

// How every request field the server knows is treated: read, or refused by
// name. OpenAI's fields are all here (what is not implemented yet is
// refused, so a client never gets an answer that silently ignores what it
// asked for); so are llama.cpp's that SmallMind honours. Fields named
// nowhere are ignored, as OpenAI ignores them.
struct FieldRule {
  const char* name;
  unsigned endpoints;
  // Reads the (non-null) value; returns an error naming the field.
  absl::Status (*read)(const Json& value, CompletionRequest& r);
};

constexpr unsigned kChatEndpoint = 1, kCompletionsEndpoint = 2, kBoth = 3;

absl::Status ReadBool(const Json& v, const char* field, bool* out) {
  if (!v.is_boolean()) return FieldError(field, "must be true or false");
  *out = v.get<bool>();
  return absl::OkStatus();
}

absl::Status ReadNumberIn(const Json& v, const char* field, double lo, double hi, float* out) {
  if (!v.is_number() || !(v.get<double>() >= lo && v.get<double>() <= hi)) {
    return FieldError(field, absl::StrCat("must be a number in [", lo, ", ", hi, "]"));
  }
  *out = v.get<float>();
  return absl::OkStatus();
}

absl::Status ReadIntIn(const Json& v, const char* field, int64_t lo, int64_t hi, int64_t* out) {
  if (!v.is_number_integer()) return FieldError(field, "must be an integer");
  // Unsigned JSON integers above int64's range are still integers.
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(hi)) {
    return FieldError(field, absl::StrCat("must be at most ", hi));
  }
  const int64_t i = v.get<int64_t>();
  if (i < lo || i > hi) return FieldError(field, absl::StrCat("must be in [", lo, ", ", hi, "]"));
  *out = i;
  return absl::OkStatus();
}

// A prompt of token ids: a list of non-negative integers.
bool ReadIds(const Json& v, std::vector<int32_t>* ids) {
  if (!v.is_array() || v.empty()) return false;
  for (const Json& id : v) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 ||
        id.get<int64_t>() > std::numeric_limits<int32_t>::max()) {
      return false;
    }
    ids->push_back(static_cast<int32_t>(id.get<int64_t>()));
  }
  return true;
}

absl::Status ReadPrompt(const Json& v, CompletionRequest& r) {
  // A string; token ids; or a list of one string or one list of ids.
  const Json* p = &v;
  if (p->is_array() && p->size() == 1 && ((*p)[0].is_string() || (*p)[0].is_array())) {
    p = &(*p)[0];
  }
  if (p->is_string()) {
    r.prompt = p->get<std::string>();
    return absl::OkStatus();
  }
  if (ReadIds(*p, &r.prompt_ids)) return absl::OkStatus();
  if (v.is_array() && v.size() > 1 && (v[0].is_string() || v[0].is_array())) {
    return FieldError("prompt", "may hold one prompt per request (a list of several is not supported)");
  }
  return FieldError("prompt", "must be a string, a list of token ids, or a list of one of them");
}

// A message's fields for the template beyond role and content: an
// assistant's tool_calls (arguments given to the template as the object
// their text is, as the templates expect), a tool result's tool_call_id and
// name.
absl::Status ReadMessageFields(const Json& m, size_t i, text::ChatMessage& message) {
  const std::string at = absl::StrCat("messages[", i, "].");
  if (const Json* calls = Get(m, "tool_calls"); calls != nullptr) {
    if (!calls->is_array()) return FieldError(at + "tool_calls", "must be a list");
    Json rendered = Json::array();
    for (size_t j = 0; j < calls->size(); ++j) {
      const Json& c = (*calls)[j];
      const std::string field = absl::StrCat(at, "tool_calls[", j, "]");
      const Json* function = c.is_object() ? Get(c, "function") : nullptr;
      const Json* name = function && function->is_object() ? Get(*function, "name") : nullptr;
      const Json* arguments = function && function->is_object() ? Get(*function, "arguments") : nullptr;
      if (name == nullptr || !name->is_string()) return FieldError(field + ".function.name", "must be a string");
      Json args = Json::object();
      if (arguments != nullptr) {
        args = arguments->is_string() ? Json::parse(arguments->get<std::string>(), nullptr, false) : *arguments;
        if (!args.is_object()) return FieldError(field + ".function.arguments", "must be a JSON object's text");
      }
      Json call = {{"type", "function"}, {"function", {{"name", *name}, {"arguments", args}}}};
      if (const Json* id = Get(c, "id"); id != nullptr) call["id"] = *id;
      rendered.push_back(std::move(call));
    }
    message.fields.emplace_back("tool_calls", text::JsonToJinja(rendered));
  }
  for (const char* key : {"tool_call_id", "name"}) {
    if (const Json* v = Get(m, key); v != nullptr) {
      if (!v->is_string()) return FieldError(at + key, "must be a string");
      message.fields.emplace_back(key, text::JsonToJinja(*v));
    }
  }
  return absl::OkStatus();
}

// OpenAI's tools: [{"type": "function", "function": {"name", "description",
// "parameters", "strict"}}]; each name a function name, each parameters
// schema one the grammar can follow.
absl::Status ReadTools(const Json& v, CompletionRequest& r) {
  if (!v.is_array()) return FieldError("tools", "must be a list");
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string field = absl::StrCat("tools[", i, "]");
    const Json& t = v[i];
    const Json* type = t.is_object() ? Get(t, "type") : nullptr;
    if (type == nullptr || *type != "function") return FieldError(field + ".type", "must be 'function'");
    const Json* function = Get(t, "function");
    if (function == nullptr || !function->is_object()) return FieldError(field + ".function", "must be an object");
    Tool tool;
    const Json* name = Get(*function, "name");
    if (name == nullptr || !name->is_string() || name->get<std::string>().empty() ||
        name->get<std::string>().size() > 64 ||
        name->get<std::string>().find_first_not_of(
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != std::string::npos) {
      return FieldError(field + ".function.name", "must be 1-64 letters, digits, '_' or '-'");
    }
    tool.name = name->get<std::string>();
    for (const Tool& other : r.tools) {
      if (other.name == tool.name) return FieldError(field + ".function.name", "repeats '" + tool.name + "'");
    }
    for (const auto& [key, value] : function->items()) {
      if (key != "name" && key != "description" && key != "parameters" && key != "strict") {
        return FieldError(absl::StrCat(field, ".function.", key), "is not supported");
      }
    }
    tool.parameters = Json::object();
    if (const Json* p = Get(*function, "parameters"); p != nullptr) {
      if (!p->is_object()) return FieldError(field + ".function.parameters", "must be a JSON schema object");
      tool.parameters = *p;
    }
    if (absl::Status s = grammar::JsonSchemaToGbnf(Dump(tool.parameters)).status(); !s.ok()) {
      return FieldError(field + ".function.parameters", absl::StrCat("is not usable: ", s.message()));
    }
    tool.spec = t;
    r.tools.push_back(std::move(tool));
  }
  return absl::OkStatus();
}

absl::Status ReadMessages(const Json& v, CompletionRequest& r) {
  if (!v.is_array() || v.empty()) return FieldError("messages", "must be a non-empty list");
  for (size_t i = 0; i < v.size(); ++i) {
    const Json& m = v[i];
    const Json* role = m.is_object() ? Get(m, "role") : nullptr;
    if (role == nullptr || !role->is_string()) {
      return FieldError(absl::StrCat("messages[", i, "].role"), "must be a string");
    }
    for (const char* unsupported : {"function_call", "audio"}) {
      if (Get(m, unsupported) != nullptr) {
        return FieldError(absl::StrCat("messages[", i, "].", unsupported), "is not supported");
      }
    }
    absl::StatusOr<std::string> content = Content(m, i);
    if (!content.ok()) return content.status();
    text::ChatMessage& message = r.messages.emplace_back();
    message.role = role->get<std::string>();
    message.content = *std::move(content);
    SM_RETURN_IF_ERROR(ReadMessageFields(m, i, message));
  }
  return absl::OkStatus();
}

absl::Status ReadStop(const Json& v, CompletionRequest& r) {
  if (v.is_string()) {
    if (!v.get<std::string>().empty()) r.options.stop.push_back(v.get<std::string>());
    return absl::OkStatus();
  }
  if (!v.is_array() || v.size() > 16) {
    return FieldError("stop", "must be a string or a list of at most 16 strings");
  }
  for (const Json& s : v) {
    if (!s.is_string()) return FieldError("stop", "must be a string or a list of strings");
    if (!s.get<std::string>().empty()) r.options.stop.push_back(s.get<std::string>());
  }
  return absl::OkStatus();
}

absl::Status ReadMaxTokens(const Json& v, const char* field, CompletionRequest& r) {
  int64_t n = 0;
  SM_RETURN_IF_ERROR(ReadIntIn(v, field, 0, int64_t{1} << 40, &n));
  r.max_tokens = n;
  return absl::OkStatus();
}

absl::Status ReadStreamOptions(const Json& v, CompletionRequest& r) {
  if (!v.is_object()) return FieldError("stream_options", "must be an object");
  for (const auto& [key, value] : v.items()) {
    if (key == "include_usage") {
      if (!value.is_null()) SM_RETURN_IF_ERROR(ReadBool(value, "stream_options.include_usage", &r.include_usage));
    } else {
      return FieldError(absl::StrCat("stream_options.", key), "is not supported");
    }
  }
  return absl::OkStatus();
}

// A field accepted only as false, the value that asks for nothing: true is
// refused with `why`.
absl::Status OnlyFalse(const Json& v, const char* field, const char* why) {
  bool b = false;
  SM_RETURN_IF_ERROR(ReadBool(v, field, &b));
  return b ? FieldError(field, why) : absl::OkStatus();
}

constexpr char kNotYet[] = "is not supported yet";

// Sets the request's grammar from `field`: GBNF, checked here so a bad one
// is a 400 naming the field.
absl::Status SetGrammar(const char* field, absl::StatusOr<std::string> gbnf, CompletionRequest& r) {
  if (!r.grammar_field.empty()) {
    return FieldError(field, absl::StrCat("cannot be given with '", r.grammar_field,
                                          "' (each constrains the output)"));
  }
  if (!gbnf.ok()) return FieldError(field, absl::StrCat("is not usable: ", gbnf.status().message()));
  if (absl::Status s = grammar::Grammar::Parse(*gbnf).status(); !s.ok()) {
    return FieldError(field, absl::StrCat("is not usable: ", s.message()));
  }
  r.options.grammar = *std::move(gbnf);
  r.grammar_field = field;
  return absl::OkStatus();
}

// OpenAI's {"type": "text"}, {"type": "json_object"} and {"type":
// "json_schema", "json_schema": {"name", "schema", "strict",
// "description"}}.
absl::Status ReadResponseFormat(const Json& v, CompletionRequest& r) {
  const Json* type = v.is_object() ? Get(v, "type") : nullptr;
  if (type == nullptr || !type->is_string()) {
    return FieldError("response_format", "must be an object with a 'type'");
  }
  for (const auto& [key, value] : v.items()) {
    if (key != "type" && key != "json_schema") {
      return FieldError(absl::StrCat("response_format.", key), "is not supported");
    }
  }
  if (*type == "text") return absl::OkStatus();
  if (*type == "json_object") return SetGrammar("response_format", grammar::JsonObjectGbnf(), r);
  if (*type != "json_schema") {
    return FieldError("response_format.type", "must be 'text', 'json_object' or 'json_schema'");
  }
  const Json* spec = Get(v, "json_schema");
  if (spec == nullptr || !spec->is_object()) {
    return FieldError("response_format.json_schema", "must be an object with a 'schema'");
  }
  for (const auto& [key, value] : spec->items()) {
    if (key == "name" || key == "description") {
      if (!value.is_string()) return FieldError(absl::StrCat("response_format.json_schema.", key), "must be a string");
    } else if (key == "strict") {
      // Strict or not, the output follows the schema.
      if (!value.is_boolean() && !value.is_null()) return FieldError("response_format.json_schema.strict", "must be true or false");
    } else if (key != "schema") {
      return FieldError(absl::StrCat("response_format.json_schema.", key), "is not supported");
    }
  }
  const Json* schema = Get(*spec, "schema");
  // OpenAI: no schema is any JSON.
  return SetGrammar("response_format", grammar::JsonSchemaToGbnf(schema ? Dump(*schema) : "{}"), r);
}

const FieldRule kFieldRules[] = {
    {"model", kBoth,
     [](const Json& v, CompletionRequest& r) {
       if (!v.is_string()) return FieldError("model", "must be a string");
       r.model = v.get<std::string>();
       return absl::OkStatus();
     }},
    {"messages", kChatEndpoint, ReadMessages},
    {"prompt", kCompletionsEndpoint, ReadPrompt},
    {"max_tokens", kBoth, [](const Json& v, CompletionRequest& r) { return ReadMaxTokens(v, "max_tokens", r); }},
    // The newer name of max_tokens.
    {"max_completion_tokens", kChatEndpoint,
     [](const Json& v, CompletionRequest& r) { return ReadMaxTokens(v, "max_completion_tokens", r); }},
    {"temperature", kBoth,
     [](const Json& v, CompletionRequest& r) {
       return ReadNumberIn(v, "temperature", 0, 2, &r.options.sampler.temperature);
     }},
    {"top_p", kBoth,
     [](const Json& v, CompletionRequest& r) {
       return ReadNumberIn(v, "top_p", 0, 1, &r.options.sampler.top_p);
     }},
    {"presence_penalty", kBoth,
     [](const Json& v, CompletionRequest& r) {
       return ReadNumberIn(v, "presence_penalty", -2, 2, &r.options.sampler.presence_penalty);
     }},
    {"frequency_penalty", kBoth,
     [](const Json& v, CompletionRequest& r) {
       return ReadNumberIn(v, "frequency_penalty", -2, 2, &r.options.sampler.frequency_penalty);
     }},
    {"seed", kBoth,
     [](const Json& v, CompletionRequest& r) {
       return ReadIntIn(v, "seed", std::numeric_limits<int64_t>::min(),
                        std::numeric_limits<int64_t>::max(), &r.options.sampler.seed);
     }},
    {"stop", kBoth, ReadStop},
    {"stream", kBoth, [](const Json& v, CompletionRequest& r) { return ReadBool(v, "stream", &r.stream); }},
    {"stream_options", kBoth, ReadStreamOptions},
    {"n", kBoth,
     [](const Json& v, CompletionRequest& r) { return ReadIntIn(v, "n", 1, 128, &r.n); }},
    {"user", kBoth,
     [](const Json& v, CompletionRequest& r) {
       if (!v.is_string()) return FieldError("user", "must be a string");
       r.user = v.get<std::string>();  // in the request's log line
       return absl::OkStatus();
     }},
    {"safety_identifier", kChatEndpoint,
     [](const Json& v, CompletionRequest& r) {
       if (!v.is_string()) return FieldError("safety_identifier", "must be a string");
       r.user = v.get<std::string>();
       return absl::OkStatus();
     }},
    {"store", kChatEndpoint,
     [](const Json& v, CompletionRequest&) {
       return OnlyFalse(v, "store", "cannot be true: this server stores no completions");
     }},
    {"service_tier", kChatEndpoint,
     [](const Json& v, CompletionRequest&) {
       if (v.is_string() && (v == "auto" || v == "default")) return absl::OkStatus();
       return FieldError("service_tier", "must be 'auto' or 'default' (this server has one tier)");
     }},
    {"modalities", kChatEndpoint,
     [](const Json& v, CompletionRequest&) {
       if (v.is_array() && v.size() == 1 && v[0] == "text") return absl::OkStatus();
       return FieldError("modalities", "must be [\"text\"]: this server makes text only");
     }},
    {"response_format", kBoth, ReadResponseFormat},
    {"logprobs", kBoth,
     [](const Json& v, CompletionRequest& r) {
       // Chat: true/false; completions: how many alternatives per token.
       if (r.chat) return ReadBool(v, "logprobs", &r.chat_logprobs);
       int64_t n = 0;
       SM_RETURN_IF_ERROR(ReadIntIn(v, "logprobs", 0, runtime::kMaxLogprobs, &n));
       r.options.logprobs = static_cast<int32_t>(n);
       return absl::OkStatus();
     }},
    {"top_logprobs", kChatEndpoint,
     [](const Json& v, CompletionRequest& r) {
       int64_t n = 0;
       SM_RETURN_IF_ERROR(ReadIntIn(v, "top_logprobs", 0, runtime::kMaxLogprobs, &n));
       r.top_logprobs = n;
       return absl::OkStatus();
     }},
    {"logit_bias", kBoth,
     [](const Json& v, CompletionRequest& r) {
       // {"token id": bias in [-100, 100]}, added to the logits.
       if (!v.is_object()) return FieldError("logit_bias", "must be an object of token ids to biases");
       for (const auto& [key, value] : v.items()) {
         int64_t id = -1;
         if (!absl::SimpleAtoi(key, &id) || id < 0 || id > std::numeric_limits<int32_t>::max()) {
           return FieldError("logit_bias", absl::StrCat("has '", key, "', not a token id"));
         }
         if (!value.is_number() || !(value.get<double>() >= -100 && value.get<double>() <= 100)) {
           return FieldError("logit_bias", absl::StrCat("of token ", id, " must be a number in [-100, 100]"));
         }
         const double bias = value.get<double>();
         r.options.sampler.logit_bias.push_back(absl::StrCat(id, bias < 0 ? "-" : "+", std::abs(bias)));
       }
       return absl::OkStatus();
     }},
    {"tools", kChatEndpoint, ReadTools},
    {"tool_choice", kChatEndpoint,
     [](const Json& v, CompletionRequest& r) {
       if (v == "none" || v == "auto" || v == "required") {
         r.tool_choice = v.get<std::string>();
         return absl::OkStatus();
       }
       const Json* function = v.is_object() && v.value("type", "") == "function" ? Get(v, "function") : nullptr;
       const Json* name = function && function->is_object() ? Get(*function, "name") : nullptr;
       if (name == nullptr || !name->is_string()) {
         return FieldError("tool_choice", "must be 'none', 'auto', 'required' or "
                                          "{\"type\": \"function\", \"function\": {\"name\": ...}}");
       }
       r.tool_choice = "function";
       r.tool_name = name->get<std::string>();
       return absl::OkStatus();
     }},
    {"parallel_tool_calls", kChatEndpoint,
     [](const Json& v, CompletionRequest& r) { return ReadBool(v, "parallel_tool_calls", &r.parallel_tool_calls); }},
    // The deprecated forms of tools and tool_choice.
    {"functions", kChatEndpoint,
     [](const Json& v, CompletionRequest&) {
       if (v.is_array() && v.empty()) return absl::OkStatus();
       return FieldError("functions", "is not supported (deprecated by OpenAI: use 'tools')");
     }},
    {"function_call", kChatEndpoint,
     [](const Json& v, CompletionRequest&) {
       if (v == "none") return absl::OkStatus();
       return FieldError("function_call", "is not supported (deprecated by OpenAI: use 'tool_choice')");
     }},
    {"audio", kChatEndpoint,
     [](const Json&, CompletionRequest&) { return FieldError("audio", "is not supported: this server makes text only"); }},
    {"prediction", kChatEndpoint,
     [](const Json&, CompletionRequest&) { return FieldError("prediction", "is not supported"); }},
    {"web_search_options", kChatEndpoint,
     [](const Json&, CompletionRequest&) { return FieldError("web_search_options", "is not supported"); }},
    {"reasoning_effort", kChatEndpoint,
     [](const Json&, CompletionRequest&) { return FieldError("reasoning_effort", "is not supported"); }},
    {"verbosity", kChatEndpoint,
     [](const Json&, CompletionRequest&) { return FieldError("verbosity", "is not supported"); }},
    {"metadata", kChatEndpoint,
     [](const Json& v, CompletionRequest&) {
       if (v.is_object() && v.empty()) return absl::OkStatus();
       return FieldError("metadata", "is not supported: this server stores no completions");
     }},
    {"prompt_cache_key", kChatEndpoint,
     [](const Json&, CompletionRequest&) {
       return FieldError("prompt_cache_key",
                     "is not supported (the prompt cache matches on the prompt itself)");
     }},
    {"echo", kCompletionsEndpoint,
     [](const Json& v, CompletionRequest& r) { return ReadBool(v, "echo", &r.echo); }},
    {"best_of", kCompletionsEndpoint,
     [](const Json& v, CompletionRequest&) {
       if (v.is_number_integer() && v.get<int64_t>() == 1) return absl::OkStatus();
       return FieldError("best_of", "must be 1");
     }},
    {"suffix", kCompletionsEndpoint,
     [](const Json& v, CompletionRequest&) {
       if (v.is_string() && v.get<std::string>().empty()) return absl::OkStatus();
       return FieldError("suffix", "is not supported (no insertion)");
     }},
    // llama.cpp's sampling fields, which mean what they mean there.
    {"top_k", kBoth,
     [](const Json& v, CompletionRequest& r) {
       int64_t k = 0;
       SM_RETURN_IF_ERROR(ReadIntIn(v, "top_k", 0, 1 << 24, &k));
       r.options.sampler.top_k = static_cast<int32_t>(k);
       return absl::OkStatus();
     }},
    {"min_p", kBoth,
     [](const Json& v, CompletionRequest& r) {
       return ReadNumberIn(v, "min_p", 0, 1, &r.options.sampler.min_p);
     }},
    {"repeat_penalty", kBoth,
     [](const Json& v, CompletionRequest& r) {
       SM_RETURN_IF_ERROR(ReadNumberIn(v, "repeat_penalty", 0, 10, &r.options.sampler.repeat_penalty));
       return r.options.sampler.repeat_penalty > 0 ? absl::OkStatus()
                                                    : FieldError("repeat_penalty", "must be > 0");
     }},
    {"repeat_last_n", kBoth,
     [](const Json& v, CompletionRequest& r) {
       int64_t n = 0;
       SM_RETURN_IF_ERROR(ReadIntIn(v, "repeat_last_n", 0, 1 << 20, &n));
       r.options.sampler.repeat_last_n = static_cast<int32_t>(n);
       return absl::OkStatus();
     }},
    {"ignore_eos", kBoth,
     [](const Json& v, CompletionRequest& r) { return ReadBool(v, "ignore_eos", &r.options.ignore_eos); }},
    // llama.cpp's structured output: a GBNF grammar, or a JSON schema.
    {"grammar", kBoth,
     [](const Json& v, CompletionRequest& r) {
       if (!v.is_string()) return FieldError("grammar", "must be a string (GBNF)");
       if (v.get<std::string>().empty()) return absl::OkStatus();
       return SetGrammar("grammar", v.get<std::string>(), r);
     }},
    {"json_schema", kBoth,
     [](const Json& v, CompletionRequest& r) {
       return SetGrammar("json_schema", grammar::JsonSchemaToGbnf(Dump(v)), r);
     }},
    {"n_probs", kBoth, [](const Json&, CompletionRequest&) { return FieldError("n_probs", kNotYet); }},
};

// A request body as a JSON object, or why it is not one.
absl::StatusOr<Json> ParseBody(absl::string_view text) {
  Json body = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    return absl::InvalidArgumentError("the request body is not valid JSON (UTF-8)");
  }
  if (!body.is_object()) return absl::InvalidArgumentError("the request body is not a JSON object");
  return body;
}

}  // namespace

std::vector<std::string> RequestFieldNames(bool chat) {
  std::vector<std::string> names;
  for (const FieldRule& rule : kFieldRules) {
    if (rule.endpoints & (chat ? kChatEndpoint : kCompletionsEndpoint)) names.push_back(rule.name);
  }
  return names;
}

absl::StatusOr<CompletionRequest> ParseCompletionRequest(absl::string_view text, bool chat) {
  SM_ASSIGN_OR_RETURN(const Json body, ParseBody(text));
  CompletionRequest r;
  r.chat = chat;
  runtime::SamplerOptions& s = r.options.sampler;
  // OpenAI's default temperature and top_p are 1 (the sampler's defaults
  // are llama.cpp's), with no top-k, min-p or repeat penalty.
  s.temperature = 1.0f;
  s.top_p = 1.0f;
  s.top_k = 0;
  s.min_p = 0.0f;
  s.repeat_penalty = 1.0f;
  const unsigned endpoint = chat ? kChatEndpoint : kCompletionsEndpoint;
  for (const FieldRule& rule : kFieldRules) {
    const Json* value = Get(body, rule.name);
    if (value == nullptr) continue;
    if (!(rule.endpoints & endpoint)) {
      return FieldError(rule.name, chat ? "belongs to /v1/completions, not chat"
                                        : "belongs to /v1/chat/completions");
    }
    SM_RETURN_IF_ERROR(rule.read(*value, r));
  }
  if (chat && r.messages.empty()) return FieldError("messages", "must be a non-empty list");
  r.options.prompt_logprobs = r.echo && r.options.logprobs >= 0;
  if (chat) {
    if (r.tool_choice == "function" &&
        std::none_of(r.tools.begin(), r.tools.end(), [&](const Tool& t) { return t.name == r.tool_name; })) {
      return FieldError("tool_choice", absl::StrCat("names '", r.tool_name, "', which is not in 'tools'"));
    }
    if (r.tool_choice == "required" && r.tools.empty()) return FieldError("tool_choice", "'required' needs 'tools'");
    if (r.top_logprobs && !r.chat_logprobs) return FieldError("top_logprobs", "needs 'logprobs': true");
    if (r.chat_logprobs) r.options.logprobs = static_cast<int32_t>(r.top_logprobs.value_or(0));
  }
  if (!chat && r.prompt_ids.empty() && Get(body, "prompt") == nullptr) {
    return FieldError("prompt", "must be a string, a list of token ids, or a list of one of them");
  }
  return r;
}

absl::StatusOr<TokenizeRequest> ParseTokenizeRequest(absl::string_view text) {
  const Json body = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    return absl::InvalidArgumentError("the request body is not a JSON object");
  }
  TokenizeRequest r;
  const Json* content = Get(body, "content");
  if (content == nullptr || !content->is_string()) return FieldError("content", "must be a string");
  r.content = content->get<std::string>();
  for (const auto& [key, out] : {std::pair<const char*, bool*>{"add_special", &r.add_special},
                                 {"parse_special", &r.parse_special}}) {
    if (const Json* v = Get(body, key); v != nullptr) SM_RETURN_IF_ERROR(ReadBool(*v, key, out));
  }
  return r;
}

absl::StatusOr<std::vector<int32_t>> ParseDetokenizeRequest(absl::string_view text) {
  const Json body = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    return absl::InvalidArgumentError("the request body is not a JSON object");
  }
  const Json* tokens = Get(body, "tokens");
  std::vector<int32_t> ids;
  if (tokens == nullptr || !tokens->is_array() || (!tokens->empty() && !ReadIds(*tokens, &ids))) {
    return FieldError("tokens", "must be a list of token ids");
  }
  return ids;
}

namespace {

absl::Status ReadString(const Json& body, const char* key, std::string* out) {
  const Json* v = Get(body, key);
  if (v == nullptr) return absl::OkStatus();
  if (!v->is_string()) return FieldError(key, "must be a string");
  *out = v->get<std::string>();
  return absl::OkStatus();
}

// OpenAI's limit on inputs per request.
constexpr size_t kMaxInputs = 2048;

}  // namespace

absl::StatusOr<EmbeddingRequest> ParseEmbeddingRequest(absl::string_view text) {
  SM_ASSIGN_OR_RETURN(const Json body, ParseBody(text));
  EmbeddingRequest r;
  const Json* input = Get(body, "input");
  if (input == nullptr) return FieldError("input", "is required");
  auto empty = [] { return FieldError("input", "must not be empty (nor hold an empty input)"); };
  if (input->is_string()) {
    if (input->get<std::string>().empty()) return empty();
    r.texts.push_back(input->get<std::string>());
  } else if (input->is_array() && !input->empty() && (*input)[0].is_number()) {
    if (!ReadIds(*input, &r.ids.emplace_back())) {
      return FieldError("input", "must be a string, a list of strings or of token ids");
    }
  } else if (input->is_array() && !input->empty()) {
    if (input->size() > kMaxInputs) {
      return FieldError("input", absl::StrCat("holds more than ", kMaxInputs, " inputs"));
    }
    const bool strings = (*input)[0].is_string();
    for (const Json& item : *input) {
      if (strings && item.is_string()) {
        if (item.get<std::string>().empty()) return empty();
        r.texts.push_back(item.get<std::string>());
      } else if (!strings && item.is_array()) {
        if (item.empty()) return empty();
        if (!ReadIds(item, &r.ids.emplace_back())) {
          return FieldError("input", "has a list that is not token ids");
        }
      } else {
        return FieldError("input", "must be a list of strings or a list of lists of token ids");
      }
    }
  } else {
    return input->is_array() ? empty()
                             : FieldError("input", "must be a string, a list of strings or of token ids");
  }
  std::string format = "float";
  SM_RETURN_IF_ERROR(ReadString(body, "encoding_format", &format));
  if (format != "float" && format != "base64") {
    return FieldError("encoding_format", "must be \"float\" or \"base64\"");
  }
  r.base64 = format == "base64";
  if (const Json* v = Get(body, "dimensions"); v != nullptr) {
    SM_RETURN_IF_ERROR(ReadIntIn(*v, "dimensions", 1, 1 << 20, &r.dimensions));
  }
  if (const Json* v = Get(body, "truncate"); v != nullptr) {
    SM_RETURN_IF_ERROR(ReadBool(*v, "truncate", &r.truncate));
  }
  SM_RETURN_IF_ERROR(ReadString(body, "model", &r.model));
  SM_RETURN_IF_ERROR(ReadString(body, "user", &r.user));
  return r;
}

std::string EmbeddingResponseJson(const std::vector<std::vector<float>>& vectors, bool base64,
                                  const std::string& model, int64_t prompt_tokens) {
  Json data = Json::array();
  for (size_t i = 0; i < vectors.size(); ++i) {
    Json item = {{"object", "embedding"}, {"index", i}};
    if (base64) {
      // OpenAI's: the float32 values' bytes, little-endian as on x86.
      item["embedding"] = absl::Base64Escape(absl::string_view(
          reinterpret_cast<const char*>(vectors[i].data()), vectors[i].size() * sizeof(float)));
    } else {
      item["embedding"] = vectors[i];
    }
    data.push_back(std::move(item));
  }
  return Dump({{"object", "list"},
               {"data", std::move(data)},
               {"model", model},
               {"usage", {{"prompt_tokens", prompt_tokens}, {"total_tokens", prompt_tokens}}}});
}

absl::StatusOr<RerankRequest> ParseRerankRequest(absl::string_view text) {
  SM_ASSIGN_OR_RETURN(const Json body, ParseBody(text));
  RerankRequest r;
  const Json* query = Get(body, "query");
  if (query == nullptr || !query->is_string()) return FieldError("query", "must be a string");
  r.query = query->get<std::string>();
  const Json* documents = Get(body, "documents");
  if (documents == nullptr || !documents->is_array() || documents->empty()) {
    return FieldError("documents", "must be a non-empty list of strings");
  }
  if (documents->size() > kMaxInputs) {
    return FieldError("documents", absl::StrCat("holds more than ", kMaxInputs, " documents"));
  }
  for (const Json& d : *documents) {
    // Jina's form of a document, {"text": ...}, too.
    const Json* t = d.is_object() ? Get(d, "text") : &d;
    if (t == nullptr || !t->is_string()) return FieldError("documents", "must be a list of strings");
    r.documents.push_back(t->get<std::string>());
  }
  if (const Json* v = Get(body, "top_n"); v != nullptr) {
    int64_t n = 0;
    SM_RETURN_IF_ERROR(ReadIntIn(*v, "top_n", 1, 1 << 30, &n));
    r.top_n = n;
  }
  for (const auto& [key, out] : {std::pair<const char*, bool*>{"return_documents",
                                                               &r.return_documents},
                                 {"truncate", &r.truncate}}) {
    if (const Json* v = Get(body, key); v != nullptr) SM_RETURN_IF_ERROR(ReadBool(*v, key, out));
  }
  SM_RETURN_IF_ERROR(ReadString(body, "model", &r.model));
  return r;
}

std::string RerankResponseJson(const RerankRequest& request, const std::vector<float>& scores,
                               const std::string& model, int64_t prompt_tokens) {
  std::vector<size_t> order(scores.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  if (request.top_n && static_cast<size_t>(*request.top_n) < order.size()) {
    order.resize(static_cast<size_t>(*request.top_n));
  }
  Json results = Json::array();
  for (size_t i : order) {
    Json item = {{"index", i}, {"relevance_score", scores[i]}};
    if (request.return_documents) item["document"] = {{"text", request.documents[i]}};
    results.push_back(std::move(item));
  }
  return Dump({{"object", "list"},
               {"model", model},
               {"results", std::move(results)},
               {"usage", {{"prompt_tokens", prompt_tokens}, {"total_tokens", prompt_tokens}}}});
}

std::string TokensJson(absl::Span<const int32_t> ids) {
  return Dump({{"tokens", std::vector<int32_t>(ids.begin(), ids.end())}});
}

std::string ContentJson(absl::string_view text) {
  return Dump({{"content", std::string(text)}});
}

const char* FinishReason(runtime::StopReason reason) {
  switch (reason) {
    case runtime::StopReason::kEndOfText:
    case runtime::StopReason::kStopString:
    case runtime::StopReason::kCancelled:
    case runtime::StopReason::kGrammarStuck: return "stop";
    case runtime::StopReason::kMaxTokens:
    case runtime::StopReason::kContextFull: return "length";
  }
  return "stop";
}

const char* ErrorType(int status) {
  switch (status) {
    case 400:
    case 404:
    case 413: return "invalid_request_error";
    case 401: return "authentication_error";
    case 429:
    case 503: return "server_overloaded";
    default: return "server_error";
  }
}

std::string ErrorJson(int status, absl::string_view message) {
  const char* code = status == 404   ? "not_found"
                     : status == 401 ? "invalid_api_key"
                     : status == 413 ? "request_too_large"
                     : status == 503 ? "unavailable"
                     : status == 400 ? "invalid_request"
                                     : "internal_error";
  return Dump({{"error", {{"message", std::string(message)}, {"type", ErrorType(status)},
                          {"code", code}}}});
}

std::string CompletionResponseJson(bool chat, const std::string& id, int64_t created,
                                   const std::string& model, const std::vector<ChoiceReply>& choices,
                                   const Usage& usage) {
  Json out = Envelope(chat ? "chat.completion" : "text_completion", id, created, model);
  Json list = Json::array();
  for (size_t i = 0; i < choices.size(); ++i) {
    const ChoiceReply& c = choices[i];
    Logprobs logprobs = c.has_logprobs ? &c.logprobs : nullptr;
    list.push_back(chat ? ChoiceJson(i, "message", MessageJson(c), c.finish_reason, logprobs)
                        : ChoiceJson(i, "text", c.text, c.finish_reason, logprobs));
  }
  out["choices"] = std::move(list);
  out["usage"] = UsageJson(usage);
  return Dump(out);
}

std::string ChatChunkEvent(const std::string& id, int64_t created, const std::string& model,
                           size_t index, bool first, const std::string& content,
                           const char* finish_reason, Logprobs logprobs) {
  Json delta = Json::object();
  if (first) delta["role"] = "assistant";
  if (finish_reason == nullptr) delta["content"] = content;
  return Chunk(OneChoice("chat.completion.chunk", id, created, model, index, "delta",
                         std::move(delta), finish_reason, logprobs));
}

std::string CompletionChunkEvent(const std::string& id, int64_t created, const std::string& model,
                                 size_t index, const std::string& text, const char* finish_reason,
                                 Logprobs logprobs) {
  return Chunk(OneChoice("text_completion", id, created, model, index, "text", text, finish_reason,
                         logprobs));
}

std::string ToolCallChunkEvent(const std::string& id, int64_t created, const std::string& model,
                               size_t choice, size_t index, const ToolCallReply& call) {
  Json delta = {{"tool_calls", {{{"index", index}, {"id", call.id}, {"type", "function"},
                                 {"function", {{"name", call.call.name},
                                               {"arguments", call.call.arguments}}}}}}};
  return Chunk(OneChoice("chat.completion.chunk", id, created, model, choice, "delta",
                         std::move(delta), nullptr, nullptr));
}

std::string UsageChunkEvent(bool chat, const std::string& id, int64_t created,
                            const std::string& model, const Usage& usage) {
  Json out = Envelope(chat ? "chat.completion.chunk" : "text_completion", id, created, model);
  out["choices"] = Json::array();
  out["usage"] = UsageJson(usage);
  return Chunk(out);
}

std::string ModelListJson(const std::string& model, int64_t created) {
  return Dump({{"object", "list"},
               {"data", {{{"id", model}, {"object", "model"}, {"created", created},
                          {"owned_by", "smallmind"}}}}});
}

std::string JsonString(absl::string_view text) { return Dump(Json(std::string(text))); }

}  // namespace smallmind::server
