// Perplexity as llama-perplexity measures it. The text's tokens are cut
// into chunks of `context`; each chunk runs from an empty KV cache (its
// first token replaced by BOS when the vocabulary has one), and the tokens
// of its second half are scored by the log-softmax of the logits before
// them, so every token scored is predicted from at least half a context.
// The same walk feeds --kl-divergence (eval/kl_base.h), which compares
// those log-probabilities with a base model's.
#ifndef SMALLMIND_EVAL_PERPLEXITY_H_
#define SMALLMIND_EVAL_PERPLEXITY_H_

#include <cstdint>
#include <functional>
#include <optional>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "core/thread_pool.h"
#include "runtime/transformer.h"

namespace smallmind::eval {

struct PerplexityOptions {
  int64_t context = 512;
  int64_t max_chunks = -1;  // -1: every whole chunk of the text
  int64_t batch = 512;      // tokens per forward pass
  runtime::KvTypes kv_types;
};

// Tokens scored per chunk: those from context / 2 on whose successor is in
// the chunk (llama-perplexity's count).
int64_t ScoredPerChunk(int64_t context);

// Chunks ScoreText runs over `num_tokens` tokens.
int64_t ChunksOf(int64_t num_tokens, const PerplexityOptions& options);

// Called for every scored token with its chunk, the log-softmax of the
// logits that predicted it (vocab entries) and the token itself.
using TokenScorer =
    std::function<absl::Status(int64_t chunk, absl::Span<const float> logprobs, int32_t next)>;

// Runs the chunks of `tokens` through `transformer`. Errors on a context
// outside [4, the model's], a batch < 1, a text shorter than one chunk, or
// whatever `on_token` returns.
absl::Status ScoreText(const runtime::Transformer& transformer, std::optional<int32_t> bos,
                       absl::Span<const int32_t> tokens, const PerplexityOptions& options,
                       core::ThreadPool& pool, const TokenScorer& on_token);

// The mean of what is added and its standard error.
class RunningMean {
 public:
  void Add(double x) {
    ++n_;
    sum_ += x;
    sum_squares_ += x * x;
  }
  int64_t count() const { return n_; }
  double mean() const { return n_ > 0 ? sum_ / n_ : 0; }
  double error() const;  // 0 below two values

 private:
  int64_t n_ = 0;
  double sum_ = 0, sum_squares_ = 0;
};

}  // namespace smallmind::eval

#endif  // SMALLMIND_EVAL_PERPLEXITY_H_
