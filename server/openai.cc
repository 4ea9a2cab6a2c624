#include "server/openai.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace smallmind::server {
namespace {

using Json = nlohmann::json;

absl::Status FieldError(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("'", field, "' ", what));
}

// body[key] when present and not null.
const Json* Get(const Json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return nullptr;
  return &*it;
}

absl::Status ReadNumber(const Json& body, const char* key, double lo, double hi, float* out) {
  const Json* v = Get(body, key);
  if (v == nullptr) return absl::OkStatus();
  if (!v->is_number() || !(v->get<double>() >= lo && v->get<double>() <= hi)) {
    return FieldError(key, absl::StrCat("must be a number in [", lo, ", ", hi, "]"));
  }
  *out = v->get<float>();
  return absl::OkStatus();
}

absl::StatusOr<std::optional<int64_t>> ReadInt(const Json& body, const char* key, int64_t lo,
                                               int64_t hi) {
  const Json* v = Get(body, key);
  if (v == nullptr) return std::optional<int64_t>();
  if (!v->is_number_integer()) return FieldError(key, "must be an integer");
  // Unsigned JSON integers above int64's range are still integers.
  if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(hi)) {
    return FieldError(key, absl::StrCat("must be at most ", hi));
  }
  const int64_t i = v->get<int64_t>();
  if (i < lo || i > hi) return FieldError(key, absl::StrCat("must be in [", lo, ", ", hi, "]"));
  return std::optional<int64_t>(i);
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

// An envelope with the one choice: `key` (message, delta or text) and how
// it finished.
Json OneChoice(const char* object, const std::string& id, int64_t created, const std::string& model,
               const char* key, Json value, const char* finish_reason) {
  Json out = Envelope(object, id, created, model);
  out["choices"] = {{{"index", 0},
                     {key, std::move(value)},
                     {"logprobs", nullptr},
                     {"finish_reason", FinishJson(finish_reason)}}};
  return out;
}

}  // namespace

absl::StatusOr<CompletionRequest> ParseCompletionRequest(absl::string_view text, bool chat) {
  const Json body = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    return absl::InvalidArgumentError("the request body is not valid JSON (UTF-8)");
  }
  if (!body.is_object()) return absl::InvalidArgumentError("the request body is not a JSON object");
  CompletionRequest r;
  r.chat = chat;
  if (const Json* model = Get(body, "model"); model != nullptr) {
    if (!model->is_string()) return FieldError("model", "must be a string");
    r.model = model->get<std::string>();
  }
  if (chat) {
    const Json* messages = Get(body, "messages");
    if (messages == nullptr || !messages->is_array() || messages->empty()) {
      return FieldError("messages", "must be a non-empty list");
    }
    for (size_t i = 0; i < messages->size(); ++i) {
      const Json& m = (*messages)[i];
      const Json* role = m.is_object() ? Get(m, "role") : nullptr;
      if (role == nullptr || !role->is_string()) {
        return FieldError(absl::StrCat("messages[", i, "].role"), "must be a string");
      }
      absl::StatusOr<std::string> content = Content(m, i);
      if (!content.ok()) return content.status();
      r.messages.push_back({role->get<std::string>(), *std::move(content)});
    }
    for (const char* unsupported : {"tools", "functions"}) {
      if (const Json* t = Get(body, unsupported); t != nullptr && !(t->is_array() && t->empty())) {
        return FieldError(unsupported, "is not supported");
      }
    }
  } else {
    const Json* prompt = Get(body, "prompt");
    if (prompt != nullptr && prompt->is_array() && prompt->size() == 1 && (*prompt)[0].is_string()) {
      prompt = &(*prompt)[0];
    }
    if (prompt == nullptr || !prompt->is_string()) return FieldError("prompt", "must be a string");
    r.prompt = prompt->get<std::string>();
  }
  // max_completion_tokens is the newer name of max_tokens.
  for (const char* key : {"max_tokens", "max_completion_tokens"}) {
    absl::StatusOr<std::optional<int64_t>> n = ReadInt(body, key, 0, int64_t{1} << 40);
    if (!n.ok()) return n.status();
    if (n->has_value()) r.max_tokens = **n;
  }
  absl::StatusOr<std::optional<int64_t>> n = ReadInt(body, "n", 1, 128);
  if (!n.ok()) return n.status();
  if (n->has_value() && **n != 1) return FieldError("n", "must be 1 (one choice per request)");
  runtime::SamplerOptions& s = r.options.sampler;
  // OpenAI's default temperature and top_p are 1 (the sampler's defaults
  // are llama.cpp's).
  s.temperature = 1.0f;
  s.top_p = 1.0f;
  s.top_k = 0;
  s.min_p = 0.0f;
  s.repeat_penalty = 1.0f;
  absl::Status status = ReadNumber(body, "temperature", 0, 2, &s.temperature);
  if (status.ok()) status = ReadNumber(body, "top_p", 0, 1, &s.top_p);
  if (status.ok()) status = ReadNumber(body, "min_p", 0, 1, &s.min_p);
  if (status.ok()) status = ReadNumber(body, "presence_penalty", -2, 2, &s.presence_penalty);
  if (status.ok()) status = ReadNumber(body, "frequency_penalty", -2, 2, &s.frequency_penalty);
  if (status.ok()) status = ReadNumber(body, "repeat_penalty", 0, 10, &s.repeat_penalty);
  if (!status.ok()) return status;
  if (s.repeat_penalty == 0) return FieldError("repeat_penalty", "must be > 0");
  absl::StatusOr<std::optional<int64_t>> top_k = ReadInt(body, "top_k", 0, 1 << 24);
  if (!top_k.ok()) return top_k.status();
  if (top_k->has_value()) s.top_k = static_cast<int32_t>(**top_k);
  absl::StatusOr<std::optional<int64_t>> seed =
      ReadInt(body, "seed", std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max());
  if (!seed.ok()) return seed.status();
  if (seed->has_value()) s.seed = **seed;
  if (const Json* stop = Get(body, "stop"); stop != nullptr) {
    if (stop->is_string()) {
      if (!stop->get<std::string>().empty()) r.options.stop.push_back(stop->get<std::string>());
    } else if (stop->is_array() && stop->size() <= 16) {
      for (const Json& s : *stop) {
        if (!s.is_string()) return FieldError("stop", "must be a string or a list of strings");
        if (!s.get<std::string>().empty()) r.options.stop.push_back(s.get<std::string>());
      }
    } else {
      return FieldError("stop", "must be a string or a list of at most 16 strings");
    }
  }
  if (const Json* ignore = Get(body, "ignore_eos"); ignore != nullptr) {
    if (!ignore->is_boolean()) return FieldError("ignore_eos", "must be true or false");
    r.options.ignore_eos = ignore->get<bool>();
  }
  if (const Json* stream = Get(body, "stream"); stream != nullptr) {
    if (!stream->is_boolean()) return FieldError("stream", "must be true or false");
    r.stream = stream->get<bool>();
  }
  if (const Json* so = Get(body, "stream_options"); so != nullptr) {
    if (!so->is_object()) return FieldError("stream_options", "must be an object");
    if (const Json* usage = Get(*so, "include_usage"); usage != nullptr) {
      if (!usage->is_boolean()) return FieldError("stream_options.include_usage", "must be true or false");
      r.include_usage = usage->get<bool>();
    }
  }
  if (const Json* logprobs = Get(body, "logprobs"); logprobs != nullptr && logprobs->is_boolean() &&
                                                     logprobs->get<bool>()) {
    return FieldError("logprobs", "is not supported");
  }
  return r;
}

const char* FinishReason(runtime::StopReason reason) {
  switch (reason) {
    case runtime::StopReason::kEndOfText:
    case runtime::StopReason::kStopString:
    case runtime::StopReason::kCancelled: return "stop";
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

std::string ChatCompletionJson(const std::string& id, int64_t created, const std::string& model,
                               const std::string& content, const char* finish_reason,
                               const Usage& usage) {
  Json out = OneChoice("chat.completion", id, created, model, "message",
                       {{"role", "assistant"}, {"content", content}}, finish_reason);
  out["usage"] = UsageJson(usage);
  return Dump(out);
}

std::string CompletionJson(const std::string& id, int64_t created, const std::string& model,
                           const std::string& text, const char* finish_reason, const Usage& usage) {
  Json out = OneChoice("text_completion", id, created, model, "text", text, finish_reason);
  out["usage"] = UsageJson(usage);
  return Dump(out);
}

std::string ChatChunkEvent(const std::string& id, int64_t created, const std::string& model,
                           bool first, const std::string& content, const char* finish_reason) {
  Json delta = Json::object();
  if (first) delta["role"] = "assistant";
  if (finish_reason == nullptr) delta["content"] = content;
  return Chunk(OneChoice("chat.completion.chunk", id, created, model, "delta", std::move(delta),
                         finish_reason));
}

std::string CompletionChunkEvent(const std::string& id, int64_t created, const std::string& model,
                                 const std::string& text, const char* finish_reason) {
  return Chunk(OneChoice("text_completion", id, created, model, "text", text, finish_reason));
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
