// Picks the next token from logits, applying llama.cpp's chain in its order:
// penalties -> top-k -> top-p -> min-p -> temperature -> draw. A temperature
// <= 0 is greedy (argmax after penalties). All scratch is allocated at
// construction, so sampling allocates nothing. Not thread-safe: one per
// session.
#ifndef SMALLMIND_RUNTIME_SAMPLER_H_
#define SMALLMIND_RUNTIME_SAMPLER_H_

#include <cstdint>
#include <random>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace smallmind::runtime {

// Defaults are llama.cpp's.
struct SamplerOptions {
  float temperature = 0.8f;
  int top_k = 40;        // <= 0: off
  float top_p = 0.95f;   // >= 1: off
  float min_p = 0.05f;   // <= 0: off
  float repeat_penalty = 1.0f;  // 1: off; > 1 discourages repeats
  int repeat_last_n = 64;       // window of recent tokens penalised
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  uint64_t seed = 0;  // same seed, same logits -> same tokens
};

// Errors on a negative temperature or penalty, top_p or min_p outside
// [0, 1], or a negative repeat window.
absl::Status ValidateSamplerOptions(const SamplerOptions& options);

class Sampler {
 public:
  Sampler(int vocab_size, const SamplerOptions& options);

  // The next token. `logits` (vocab_size floats) is modified in place;
  // `history` is every token so far (the penalty window is its tail).
  int32_t Sample(float* logits, absl::Span<const int32_t> history);

 private:
  void ApplyPenalties(float* logits, absl::Span<const int32_t> history);

  SamplerOptions options_;
  int vocab_size_;
  std::mt19937_64 rng_;
  std::vector<int32_t> counts_;  // per token, within the penalty window
  std::vector<float> values_;    // candidate logits, best first
  std::vector<int32_t> ids_;     // candidate ids, parallel to values_
};

}  // namespace smallmind::runtime

#endif  // SMALLMIND_RUNTIME_SAMPLER_H_
