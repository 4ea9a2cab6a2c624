// A conversation with a model: a DecodeBatch of one slot (its own KV cache,
// arena, thread pool and token history over a shared, immutable
// Transformer), driven on the caller's thread. Prefill runs the prompt in
// batches of M > 1 rows; each decode step runs one token. Nothing on the
// decode path allocates: the arena, history and text buffers are sized when
// the session is created.
#ifndef SMALLMIND_RUNTIME_SESSION_H_
#define SMALLMIND_RUNTIME_SESSION_H_

#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "runtime/decode_batch.h"
#include "runtime/generation.h"
#include "runtime/options.h"
#include "runtime/prompt_cache.h"
#include "runtime/transformer.h"
#include "text/tokenizer.h"

namespace smallmind::runtime {

class Session {
 public:
  // The transformer and tokenizer (and the prompt cache, if any) must
  // outlive the session. Errors on a context outside [1, model context], a
  // batch < 1 or threads < 1. With a prompt cache, GenerateFrom keeps the
  // history it gives up there and takes longer prefixes from it.
  static absl::StatusOr<std::unique_ptr<Session>> Create(
      const Transformer& transformer, const text::Tokenizer& tokenizer,
      const SessionOptions& options, PromptCache* prompt_cache = nullptr);

  absl::Span<const int32_t> tokens() const { return batch_->history(0); }
  int64_t position() const { return static_cast<int64_t>(tokens().size()); }
  int64_t context() const { return batch_->context(); }
  // Forgets every token; the next generation starts at position 0.
  void Reset() { batch_->Reset(0); }

  // Tokenizes `prompt` (with BOS when the vocabulary asks for it and the
  // session is empty), appends it to the history and generates, streaming
  // text to `on_text` (and, with options.logprobs, each token's log
  // probabilities to `on_token`). Stops at an end-of-generation token (EOS, EOT, ...),
  // a stop string, max_tokens or a full context. Every sampled token but
  // the last is appended, so a later call continues. Errors when the prompt
  // does not fit the context left, or on invalid sampler options; then
  // nothing is run.
  absl::StatusOr<GenerationStats> Generate(absl::string_view prompt,
                                           const GenerateOptions& options,
                                           const TextCallback& on_text,
                                           const TokenCallback& on_token = nullptr);

  // The same for a prompt that is the whole history (a chat's rendered
  // conversation, resent each turn): the longest prefix the session already
  // holds is kept (stats.prompt_tokens_cached) and only the rest runs.
  absl::StatusOr<GenerationStats> GenerateFrom(absl::Span<const int32_t> prompt,
                                               const GenerateOptions& options,
                                               const TextCallback& on_text,
                                               const TokenCallback& on_token = nullptr);

  size_t arena_high_water() const { return batch_->arena_high_water(); }
  size_t kv_cache_bytes() const { return batch_->kv_cache_bytes(0); }

 private:
  explicit Session(const text::Tokenizer& tokenizer, std::unique_ptr<DecodeBatch> batch)
      : tokenizer_(tokenizer), batch_(std::move(batch)) {}

  const text::Tokenizer& tokenizer_;
  std::unique_ptr<DecodeBatch> batch_;
};

}  // namespace smallmind::runtime

#endif  // SMALLMIND_RUNTIME_SESSION_H_
