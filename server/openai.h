// OpenAI's HTTP API as SmallMind serves it: the request bodies of
// /v1/chat/completions and /v1/completions read into generation options
// (fields mean what OpenAI's mean; llama.cpp's top_k, min_p,
// repeat_penalty, repeat_last_n and ignore_eos too; OpenAI's fields not
// implemented are refused by name; unknown fields are ignored; a field of the
// wrong type or out of range is an error naming it), and the response objects and
// stream chunks written back. No I/O: the server (server.h) does that.
#ifndef SMALLMIND_SERVER_OPENAI_H_
#define SMALLMIND_SERVER_OPENAI_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "runtime/options.h"
#include "runtime/session.h"
#include "server/tool_calls.h"
#include "text/chat_template.h"

namespace smallmind::server {

struct CompletionRequest {
  bool chat = false;
  std::string model;                           // empty when not given
  std::vector<text::ChatMessage> messages;  // chat
  std::string prompt;                          // completions: text,
  std::vector<int32_t> prompt_ids;             // or token ids (then non-empty)
  std::string user;  // OpenAI's user / safety_identifier: logged
  // max_tokens unset: until the context is full.
  std::optional<int64_t> max_tokens;
  runtime::GenerateOptions options;  // stop strings, grammar and sampler
  // The field that set options.grammar (response_format, json_schema or
  // grammar), so a second one is refused by name.
  std::string grammar_field;
  // Chat's logprobs (true/false) and top_logprobs, resolved into
  // options.logprobs once the body is read.
  bool chat_logprobs = false;
  std::optional<int64_t> top_logprobs;
  // Chat: the functions the model may call, and how (server/tool_calls.h).
  std::vector<Tool> tools;
  std::string tool_choice = "auto";  // auto, none, required, or function
  std::string tool_name;             // tool_choice function: its name
  bool parallel_tool_calls = true;
  // Completions: the reply begins with the prompt (with logprobs, the
  // prompt's tokens' log probabilities first).
  bool echo = false;
  // Choices, each its own sequence of the one prompt (prefilled once).
  int64_t n = 1;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
};

// The body of a chat (`chat`) or text completion request. InvalidArgument
// errors name the field ("'temperature' must be a number in [0, 2]"); an
// OpenAI field the server does not implement is refused by name.
absl::StatusOr<CompletionRequest> ParseCompletionRequest(absl::string_view body, bool chat);
// Every field the parser reads or refuses for that endpoint (for tests and
// docs); any other field is ignored.
std::vector<std::string> RequestFieldNames(bool chat);

// POST /tokenize (llama-server's): {"content", "add_special", "parse_special"}.
struct TokenizeRequest {
  std::string content;
  bool add_special = false;
  bool parse_special = false;
};
absl::StatusOr<TokenizeRequest> ParseTokenizeRequest(absl::string_view body);
// POST /detokenize: {"tokens": [ids]} (checked against the vocabulary by
// the caller).
absl::StatusOr<std::vector<int32_t>> ParseDetokenizeRequest(absl::string_view body);
// Their answers: {"tokens": [...]} and {"content": "..."}.
std::string TokensJson(absl::Span<const int32_t> ids);
std::string ContentJson(absl::string_view text);

// POST /v1/embeddings: {"input": a string, a list of strings, a list of
// token ids or a list of such lists; "encoding_format": "float" or
// "base64"; "dimensions"; "model"; "user"; "truncate" (Hugging Face TEI's:
// cut inputs longer than the context rather than refuse them)}. An empty
// string or list is an error, as OpenAI's.
struct EmbeddingRequest {
  std::vector<std::string> texts;             // or
  std::vector<std::vector<int32_t>> ids;      // token ids, one list per input
  bool base64 = false;
  int64_t dimensions = 0;
  bool truncate = false;
  std::string model, user;
};
absl::StatusOr<EmbeddingRequest> ParseEmbeddingRequest(absl::string_view body);
// {"object": "list", "data": [{"object": "embedding", "index", "embedding"}],
// "model", "usage": {"prompt_tokens", "total_tokens"}}; base64: each
// vector's little-endian float32 bytes.
std::string EmbeddingResponseJson(const std::vector<std::vector<float>>& vectors, bool base64,
                                  const std::string& model, int64_t prompt_tokens);

// POST /v1/rerank (llama-server's and Jina's): {"query", "documents": [text],
// "top_n", "return_documents", "model", "truncate"}.
struct RerankRequest {
  std::string query;
  std::vector<std::string> documents;
  std::optional<int64_t> top_n;
  bool return_documents = false;
  bool truncate = false;
  std::string model;
};
absl::StatusOr<RerankRequest> ParseRerankRequest(absl::string_view body);
// {"object": "list", "model", "results": [{"index", "relevance_score"
// (, "document": {"text"})}] best first, the first top_n, "usage"}.
std::string RerankResponseJson(const RerankRequest& request, const std::vector<float>& scores,
                               const std::string& model, int64_t prompt_tokens);

// OpenAI's finish_reason for how generation stopped: "stop" or "length".
const char* FinishReason(runtime::StopReason reason);

// {"error": {"message", "type", "code"}} for an HTTP `status`.
std::string ErrorJson(int status, absl::string_view message);
// OpenAI's error type for an HTTP status (invalid_request_error, ...).
const char* ErrorType(int status);

struct Usage {
  int64_t prompt_tokens = 0, completion_tokens = 0, cached_tokens = 0;
};

// A generated token with its log probability and the most likely
// alternatives', as a reply reports them (chat: OpenAI's logprobs.content;
// completions: the legacy tokens / token_logprobs / top_logprobs /
// text_offset lists).
struct TokenLogprob {
  std::string text;  // the token's bytes
  float logprob = 0;
  std::vector<std::pair<std::string, float>> top;
  int64_t text_offset = 0;  // where its text begins in the reply
};
// Null when the request did not ask for log probabilities.
using Logprobs = const std::vector<TokenLogprob>*;

// A tool call as a reply reports it: its id ("call_..."), name and
// arguments.
struct ToolCallReply {
  std::string id;
  ToolCall call;
};

// One choice of a reply: its text (chat: the message's content, null when
// empty beside tool calls), how it finished, its log probabilities and
// tool calls.
struct ChoiceReply {
  std::string text;
  const char* finish_reason = "stop";
  bool has_logprobs = false;
  std::vector<TokenLogprob> logprobs;
  std::vector<ToolCallReply> tool_calls;
};

// The non-streamed response object: chat.completion (`chat`) or
// text_completion, the choices indexed in order.
std::string CompletionResponseJson(bool chat, const std::string& id, int64_t created,
                                   const std::string& model, const std::vector<ChoiceReply>& choices,
                                   const Usage& usage);

// One Server-Sent Event ("data: {...}\n\n") of a stream: a chunk with
// `content` (and the assistant role in a chat's first chunk), or the last
// chunk with `finish_reason`, or (usage set) the usage chunk.
std::string ChatChunkEvent(const std::string& id, int64_t created, const std::string& model,
                           size_t index, bool first, const std::string& content,
                           const char* finish_reason, Logprobs logprobs = nullptr);
std::string CompletionChunkEvent(const std::string& id, int64_t created, const std::string& model,
                                 size_t index, const std::string& text, const char* finish_reason,
                                 Logprobs logprobs = nullptr);
// A chunk of choice `choice` with one whole tool call: delta.tool_calls
// [{index, id, type, function {name, arguments}}].
std::string ToolCallChunkEvent(const std::string& id, int64_t created, const std::string& model,
                               size_t choice, size_t index, const ToolCallReply& call);
std::string UsageChunkEvent(bool chat, const std::string& id, int64_t created,
                            const std::string& model, const Usage& usage);
inline constexpr char kDoneEvent[] = "data: [DONE]\n\n";

// GET /v1/models: the one model this server has.
std::string ModelListJson(const std::string& model, int64_t created);
// `text` as a JSON string, bytes that are not UTF-8 replaced by U+FFFD
// (model output and file names need not be UTF-8).
std::string JsonString(absl::string_view text);

}  // namespace smallmind::server

#endif  // SMALLMIND_SERVER_OPENAI_H_
