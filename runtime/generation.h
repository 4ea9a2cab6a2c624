// The per-token half of generating, shared by Session (one sequence) and
// DecodeBatch (many at once): sample the next token, end at an
// end-of-generation token, a stop string or max_tokens, and stream the text
// in whole UTF-8 characters with any stop string's beginning held back.
#ifndef SMALLMIND_RUNTIME_GENERATION_H_
#define SMALLMIND_RUNTIME_GENERATION_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "grammar/grammar.h"
#include "grammar/matcher.h"
#include "grammar/token_mask.h"
#include "runtime/options.h"
#include "runtime/sampler.h"
#include "runtime/token_logprobs.h"
#include "text/tokenizer.h"

namespace smallmind::runtime {

// kGrammarStuck: the grammar allows no token of the vocabulary next (the
// vocabulary cannot spell what it needs); the generation is an error.
enum class StopReason { kMaxTokens, kEndOfText, kStopString, kContextFull,
                        kCancelled, kGrammarStuck };
absl::string_view StopReasonName(StopReason reason);

struct GenerationStats {
  int64_t prompt_tokens = 0;       // of the prompt, after any truncation
  int64_t prompt_tokens_cached = 0;  // of those, already in the KV cache
  int64_t prompt_tokens_dropped = 0;  // by truncate_prompt
  int64_t generated_tokens = 0;   // sampled, including the one ending it
  int64_t decode_steps = 0;       // single-token forward passes
  int64_t context_shifts = 0;
  double prefill_seconds = 0;     // tokenizing and the prompt's forward passes
  double decode_seconds = 0;      // decode forward passes and sampling
  double ttft_seconds = 0;        // call to first sampled token
  double queue_seconds = 0;       // waiting for a slot (the server's), before the call
  size_t arena_high_water = 0;    // bytes of scratch ever in use
  size_t kv_cache_bytes = 0;
  // operator new calls during the decode loop (sampling, forward passes,
  // streaming), or -1 when the binary does not count them
  // (//core:counting_allocator).
  int64_t decode_heap_allocations = -1;
  StopReason stop_reason = StopReason::kMaxTokens;
  uint64_t seed = 0;  // the sampler's, after -1 is resolved

  // Of the prompt tokens that ran, not those taken from the cache.
  double prefill_tokens_per_second() const {
    return prefill_seconds > 0 ? (prompt_tokens - prompt_tokens_cached) / prefill_seconds : 0;
  }
  double decode_tokens_per_second() const {
    return decode_seconds > 0 ? decode_steps / decode_seconds : 0;
  }
};

// Receives generated text as it is produced, in whole UTF-8 characters, with
// any stop string withheld. Returning false cancels generation.
using TextCallback = std::function<bool(absl::string_view text)>;


// Log probabilities from a row of logits: the log-softmax's normaliser and
// the k likeliest tokens, in buffers allocated once.
class LogprobMeter {
 public:
  LogprobMeter(int32_t vocab_size, int32_t k);
  // Measures `logits` (kept as they are now; the caller may change them
  // afterwards).
  void Measure(const float* logits);
  float Logprob(int32_t token) const {
    return static_cast<float>(raw_[token] - log_normaliser_);
  }
  absl::Span<const std::pair<int32_t, float>> top() const { return top_; }

 private:
  std::vector<float> raw_, probs_, top_values_;
  std::vector<int32_t> top_ids_;
  std::vector<std::pair<int32_t, float>> top_;
  double log_normaliser_ = 0;
};

// One generation, from the logits after its prompt to its end.
class Generation {
 public:
  using Clock = std::chrono::steady_clock;

  // `options` must be valid (ValidateGenerateOptions); `start` is when the
  // request began, so the time until now is its prefill and TTFT counts
  // from it; `stats` carries the prompt's figures. `grammar`, when not
  // null, is options.grammar compiled, and `mask` its masks over the
  // tokenizer's vocabulary. The tokenizer, grammar and mask must outlive
  // the generation.
  Generation(const text::Tokenizer& tokenizer, const GenerateOptions& options, TextCallback on_text,
             GenerationStats stats, Clock::time_point start,
             const grammar::Grammar* grammar = nullptr, grammar::TokenMask* mask = nullptr,
             TokenCallback on_token = nullptr);

  // Samples the token after `history` from `logits` (which the sampler may
  // modify) and streams its text. Returns the token when it is to be run
  // next; nullopt when generation has ended (stats().stop_reason says why).
  std::optional<int32_t> Next(float* logits, absl::Span<const int32_t> history);

  // Ends the generation early (the context is full, it was cancelled).
  void Stop(StopReason reason);
  bool done() const { return done_; }

  // Hands over the text still held back (unless cancelled) and completes
  // the timing; call once, at the end.
  GenerationStats Finish();
  GenerationStats& stats() { return stats_; }

 private:
  void Emit(size_t keep);
  // The sampler's choice among the tokens the grammar allows; nullopt when
  // it allows none.
  std::optional<int32_t> SampleAllowed(float* logits, absl::Span<const int32_t> history);
  bool Allows(int32_t token);

  const text::Tokenizer& tokenizer_;
  const GenerateOptions& options_;
  TextCallback on_text_;
  Sampler sampler_;
  std::optional<grammar::Matcher> matcher_;
  grammar::TokenMask* mask_ = nullptr;
  std::vector<float> eog_logits_;  // end-of-generation logits, kept while masking
  std::vector<int32_t> greedy_ids_;  // the likeliest tokens, when greedy
  std::vector<float> greedy_values_;
  TokenCallback on_token_;
  std::optional<LogprobMeter> meter_;  // with options.logprobs
  GenerationStats stats_;
  Clock::time_point start_, decode_start_;
  std::string pending_;  // generated text not yet handed to the callback
  bool done_ = false;
};

// Checks max_tokens, the stop strings and the sampler options (the grammar
// is checked where it is compiled, DecodeBatch::Start).
// `vocab_size` (-1: not checked) bounds the logit bias's token ids.
absl::Status ValidateGenerateOptions(const GenerateOptions& options, int32_t vocab_size = -1);
// Checks that a prompt of ids is not empty and every id is in the
// vocabulary.
absl::Status ValidatePromptIds(absl::Span<const int32_t> prompt, int32_t vocab_size);

}  // namespace smallmind::runtime

#endif  // SMALLMIND_RUNTIME_GENERATION_H_
