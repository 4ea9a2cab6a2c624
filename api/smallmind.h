// SmallMind's public C++ API: load a model, choose a matmul backend by name,
// open sessions and generate text with a streaming callback; embed texts
// and rerank documents with embedding models.
//
//   #include "api/smallmind.h"
//   absl::StatusOr<std::unique_ptr<smallmind::Model>> model =
//       smallmind::Model::Load("model.smm", {.backend = "tiled"});
//   if (!model.ok()) { /* model.status().message() says why */ }
//   std::unique_ptr<smallmind::Session> session = *(*model)->NewSession({});
//   absl::StatusOr<smallmind::Stats> stats = session->Generate(
//       "Once upon a time", {.max_tokens = 32, .sampler = {.temperature = 0}},
//       [](absl::string_view text) { std::cout << text; return true; });
//
// Backends are plugged in by linking them: `@smallmind//backends:all`, or one
// of `@smallmind//backends/{portable,tiled,blas}`. Errors are absl::Status
// values whose messages name the problem; nothing here throws or aborts on
// bad input. A Model is immutable and thread-safe; a Session is used by one
// thread at a time, and any number of sessions may run concurrently.
// See docs/api.md for a complete example.
#ifndef SMALLMIND_API_SMALLMIND_H_
#define SMALLMIND_API_SMALLMIND_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "runtime/options.h"
#include "runtime/token_logprobs.h"

namespace smallmind {

// The names of the backends linked into this binary, best first.
std::vector<std::string> ListBackends();

// The options structs are the runtime's own (runtime/options.h), so every
// option the `smallmind` command and the HTTP server take is settable here:
//   LoadOptions     backend
//   SessionOptions  threads, context, batch, pin_threads, cache_type_k,
//                   cache_type_v
//   GenerateOptions max_tokens, stop, context_shift, truncate_prompt,
//                   parse_special, ignore_eos, grammar (GBNF; JsonSchemaToGbnf
//                   makes one from a JSON schema), logprobs, sampler
//   SamplerOptions  temperature, top_k, top_p, min_p, repeat_penalty,
//                   repeat_last_n, presence_penalty, frequency_penalty,
//                   logit_bias, seed
using LoadOptions = runtime::LoadOptions;
using SessionOptions = runtime::SessionOptions;
using GenerateOptions = runtime::GenerateOptions;
using SamplerOptions = runtime::SamplerOptions;
// Per-token log probabilities (GenerateOptions::logprobs).
using TokenLogprobs = runtime::TokenLogprobs;
// Embeddings (Model::Embed): pooling (mean, cls, last; empty: the model's),
// normalize, dimensions (Matryoshka), truncate.
using EmbedOptions = runtime::EmbedOptions;
using TokenCallback = runtime::TokenCallback;

// A GBNF grammar (for GenerateOptions::grammar) whose sentences are the
// JSON documents valid against `json_schema`; errors name an unsupported
// keyword and where it is (grammar/json_schema.h lists what is supported).
absl::StatusOr<std::string> JsonSchemaToGrammar(absl::string_view json_schema);

struct Stats {
  int64_t prompt_tokens = 0;
  int64_t prompt_tokens_cached = 0;  // of those, kept from the session's earlier turns
  int64_t generated_tokens = 0;
  double prefill_tokens_per_second = 0;
  double decode_tokens_per_second = 0;
  double time_to_first_token_seconds = 0;
  size_t kv_cache_bytes = 0;
  size_t scratch_bytes = 0;  // arena high-water mark
  std::string stop_reason;   // "max tokens", "end of text", "stop string",
                             // "context full" or "cancelled"
  uint64_t seed = 0;         // the sampler's (a seed of -1 is drawn here)
};

// Receives generated text in whole UTF-8 characters; return false to stop.
using TextCallback = std::function<bool(absl::string_view text)>;

// One turn of a conversation: role "system", "user" or "assistant".
struct ChatMessage {
  std::string role;
  std::string content;
};

class Session;

class Model {
 public:
  // Opens the model at `path` (a .smm or GGUF file, a Hugging Face
  // checkpoint directory or a llama2.c checkpoint; weights used in place
  // where their layout allows) and prepares its weights for the backend.
  // Errors: the model is missing or malformed (the message names the
  // problem), the backend name is unknown (the message lists the linked
  // ones), or the backend cannot multiply by the model's weight dtype.
  static absl::StatusOr<std::unique_ptr<Model>> Load(
      const std::string& path, const LoadOptions& options = {});
  ~Model();

  std::string backend() const;       // the backend chosen
  std::string architecture() const;  // e.g. "gpt2", "llama"
  int64_t parameters() const;
  int64_t context_length() const;
  int64_t vocab_size() const;

  // Text to token ids (with BOS first when `add_bos` and the vocabulary has
  // one) and back. Tokenize errors when a character has no token.
  absl::StatusOr<std::vector<int32_t>> Tokenize(absl::string_view text,
                                                bool add_bos = true) const;
  std::string Detokenize(absl::Span<const int32_t> ids) const;

  // The conversation as the model's chat template renders it (the GGUF's
  // tokenizer.chat_template, a checkpoint's tokenizer_config.json), with
  // the assistant's turn opened when `add_generation_prompt`. Errors when
  // the model has no template or the template refuses the conversation.
  absl::StatusOr<std::string> ApplyChatTemplate(const std::vector<ChatMessage>& messages,
                                                bool add_generation_prompt = true) const;

  // One vector per text, in order, from an embedding model (an encoder
  // such as BERT or nomic-bert, or a decoder's last or mean hidden state),
  // on `threads` threads. Errors on an empty text, a text longer than the
  // context (unless options.truncate), dimensions outside [1, width], or a
  // reranker (use Rerank).
  absl::StatusOr<std::vector<std::vector<float>>> Embed(const std::vector<std::string>& texts,
                                                        const EmbedOptions& options = {},
                                                        int threads = 1) const;
  // A cross-encoder's relevance score of each document for `query` (higher
  // is more relevant), in the documents' order. Errors when the model has
  // no classifier head.
  absl::StatusOr<std::vector<float>> Rerank(absl::string_view query,
                                            const std::vector<std::string>& documents,
                                            bool truncate = false, int threads = 1) const;

  // A new session with its own KV cache and threads. Errors on threads < 1,
  // batch < 1 or a context outside [1, context_length()]. The Model must
  // outlive it.
  absl::StatusOr<std::unique_ptr<Session>> NewSession(
      const SessionOptions& options = {}) const;

  struct Impl;

 private:
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class Session {
 public:
  ~Session();

  // Appends `prompt` to the conversation and generates up to max_tokens
  // tokens, streaming their text to `on_text` (and, with options.logprobs
  // >= 0, each token's log probabilities to `on_token`). Errors (running
  // nothing) when the prompt does not fit the free context, an option is
  // out of range, or options.grammar does not parse.
  absl::StatusOr<Stats> Generate(absl::string_view prompt,
                                 const GenerateOptions& options,
                                 const TextCallback& on_text,
                                 const TokenCallback& on_token = nullptr);

  // The conversation so far (every turn, the newest last) rendered with the
  // model's chat template, and the assistant's reply generated. The
  // session keeps what it already holds of a conversation it saw before,
  // so resending a growing conversation prefills only its new turns.
  // Errors as ApplyChatTemplate and Generate do.
  absl::StatusOr<Stats> Chat(const std::vector<ChatMessage>& messages,
                             const GenerateOptions& options, const TextCallback& on_text,
                             const TokenCallback& on_token = nullptr);

  // Positions used so far, out of context().
  int64_t position() const;
  int64_t context() const;
  // Forgets the conversation.
  void Reset();

  struct Impl;

 private:
  friend class Model;
  explicit Session(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace smallmind

#endif  // SMALLMIND_API_SMALLMIND_H_
