// A conversation with a model: its own KV cache, arena, thread pool and token
// history over a shared, immutable Transformer. Prefill runs the prompt in
// batches of M > 1 rows; each decode step runs one token. Nothing on the
// decode path allocates: the arena, history and text buffers are sized when
// the session is created.
#ifndef SMALLMIND_RUNTIME_SESSION_H_
#define SMALLMIND_RUNTIME_SESSION_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "core/arena.h"
#include "core/thread_pool.h"
#include "runtime/generation.h"
#include "runtime/options.h"
#include "runtime/prompt_cache.h"
#include "runtime/transformer.h"
#include "text/tokenizer.h"

namespace smallmind::runtime {

class Session {
 public:
  // The transformer and tokenizer must outlive the session. Errors on a
  // context outside [1, model context], a batch < 1 or threads < 1.
  static absl::StatusOr<std::unique_ptr<Session>> Create(
      const Transformer& transformer, const text::Tokenizer& tokenizer,
      const SessionOptions& options);

  // Runs `tokens` after those already seen; afterwards logits() are the next
  // token's. Errors (changing nothing) when they do not fit the context.
  absl::Status Append(absl::Span<const int32_t> tokens);

  // The logits after the last Append (vocab floats); samplers may modify
  // them in place.
  absl::Span<float> logits() { return absl::MakeSpan(logits_); }
  absl::Span<const int32_t> tokens() const { return tokens_; }
  int64_t position() const { return static_cast<int64_t>(tokens_.size()); }
  int64_t context() const { return cache_.context(); }
  // Forgets every token; the next Append starts at position 0.
  void Reset();

  // Tokenizes `prompt` (with BOS when the vocabulary asks for it and the
  // session is empty), appends it to the history and generates, streaming
  // text to `on_text`. Stops at an end-of-generation token (EOS, EOT, ...),
  // a stop string, max_tokens or a full context. Every sampled token but
  // the last is appended, so a later call continues. Errors when the prompt
  // does not fit the context left, or on invalid sampler options; then
  // nothing is run.
  absl::StatusOr<GenerationStats> Generate(absl::string_view prompt,
                                           const GenerateOptions& options,
                                           const TextCallback& on_text);

  // The same for a prompt that is the whole history (a chat's rendered
  // conversation, resent each turn): the longest prefix the session already
  // holds is kept (stats.prompt_tokens_cached) and only the rest runs.
  absl::StatusOr<GenerationStats> GenerateFrom(absl::Span<const int32_t> prompt,
                                               const GenerateOptions& options,
                                               const TextCallback& on_text);

  // While `*cancel` is true, generation stops before its next token
  // (StopReason::kCancelled). Another thread may set it; null: never.
  void set_cancel(const std::atomic<bool>* cancel) { cancel_ = cancel; }
  // GenerateFrom keeps the history it gives up in `cache` and takes longer
  // prefixes from it (shared, outliving the session); null: off.
  void set_prompt_cache(PromptCache* cache) { prompt_cache_ = cache; }

  size_t arena_high_water() const { return arena_.high_water(); }
  size_t kv_cache_bytes() const { return cache_.bytes(); }
  core::ThreadPool& pool() { return *pool_; }

 private:
  // Runs `prompt` (already at its place in the history) and decodes.
  absl::StatusOr<GenerationStats> Decode(std::vector<int32_t> prompt,
                                         const GenerateOptions& options,
                                         const TextCallback& on_text, GenerationStats stats,
                                         std::chrono::steady_clock::time_point start);

  Session(const Transformer& transformer, const text::Tokenizer& tokenizer,
          KvCache cache, core::Arena arena, int threads, bool pin_threads,
          int64_t batch);

  const Transformer& transformer_;
  const text::Tokenizer& tokenizer_;
  KvCache cache_;
  core::Arena arena_;
  std::unique_ptr<core::ThreadPool> pool_;
  int64_t batch_;
  std::vector<int32_t> tokens_;  // capacity: the context
  std::vector<float> logits_;
  std::vector<int32_t> kept_;  // the tokens a context shift keeps
  const std::atomic<bool>* cancel_ = nullptr;
  PromptCache* prompt_cache_ = nullptr;
};

}  // namespace smallmind::runtime

#endif  // SMALLMIND_RUNTIME_SESSION_H_
