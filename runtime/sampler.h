// Picks the next token from logits, applying llama.cpp's chain in its order:
// penalties -> top-k -> top-p -> min-p -> temperature -> draw. A temperature
// <= 0 is greedy (argmax after penalties). All scratch is allocated at
// construction, so sampling allocates nothing. Not thread-safe: one per
// session.
#ifndef SMALLMIND_RUNTIME_SAMPLER_H_
#define SMALLMIND_RUNTIME_SAMPLER_H_

#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "runtime/options.h"

namespace smallmind::runtime {

// Errors on a negative temperature or penalty, top_p or min_p outside
// [0, 1], a negative repeat window, or a logit bias that does not parse or
// names a token outside the vocabulary (`vocab_size`; -1: not checked).
absl::Status ValidateSamplerOptions(const SamplerOptions& options, int32_t vocab_size = -1);

// options.logit_bias as (token id, bias) pairs.
absl::StatusOr<std::vector<std::pair<int32_t, float>>> ParseLogitBias(
    const std::vector<std::string>& biases);

class Sampler {
 public:
  // A seed of -1 is replaced by one from the clock; seed() says which.
  Sampler(int vocab_size, const SamplerOptions& options);
  uint64_t seed() const { return seed_; }

  // The next token. `logits` (vocab_size floats) is modified in place;
  // `history` is every token so far (the penalty window is its tail).
  int32_t Sample(float* logits, absl::Span<const int32_t> history) {
    ApplyPenalties(logits, history);
    return Draw(logits);
  }

  // Sample's two halves, for a caller that may draw twice (grammar-
  // constrained sampling draws again from masked logits when the first
  // choice is not allowed): the penalties and the logit bias, then the
  // rest of the chain. Draw leaves `logits` as they are.
  void ApplyPenalties(float* logits, absl::Span<const int32_t> history);
  int32_t Draw(const float* logits);

 private:

  SamplerOptions options_;
  int vocab_size_;
  uint64_t seed_;
  std::mt19937_64 rng_;
  std::vector<int32_t> counts_;  // per token, within the penalty window
  std::vector<float> values_;    // candidate logits, best first
  std::vector<float> probs_;     // their probabilities
  std::vector<int32_t> ids_;     // candidate ids, parallel to values_
  std::vector<std::pair<int32_t, float>> bias_;  // options.logit_bias, parsed
};

}  // namespace smallmind::runtime

#endif  // SMALLMIND_RUNTIME_SAMPLER_H_
