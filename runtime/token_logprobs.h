// What generation reports per token when asked for log probabilities
// (GenerateOptions::logprobs): a header of its own, so the public API can
// name it without the generation machinery.
#ifndef SMALLMIND_RUNTIME_TOKEN_LOGPROBS_H_
#define SMALLMIND_RUNTIME_TOKEN_LOGPROBS_H_

#include <cstdint>
#include <functional>
#include <utility>

#include "absl/types/span.h"

namespace smallmind::runtime {

inline constexpr int32_t kMaxLogprobs = 20;

// A sampled token and how likely the model found it (natural logs).
struct TokenLogprobs {
  int32_t token = 0;
  float logprob = 0;
  // The options.logprobs most likely tokens, most likely first.
  absl::Span<const std::pair<int32_t, float>> top;
};

// With options.logprobs >= 0: each sampled token that is not an
// end-of-generation one, before its text reaches the text callback. The
// text may then be cut by a stop string (the token that completed it is
// still reported).
using TokenCallback = std::function<void(const TokenLogprobs& token)>;

}  // namespace smallmind::runtime

#endif  // SMALLMIND_RUNTIME_TOKEN_LOGPROBS_H_
