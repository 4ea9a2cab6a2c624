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
  // NaN for the prompt's first token, which nothing comes before.
  float logprob = 0;
  // The options.logprobs most likely tokens, most likely first (empty for
  // the prompt's first token).
  absl::Span<const std::pair<int32_t, float>> top;
  bool prompt = false;  // a prompt token (options.prompt_logprobs)
};

// With options.logprobs >= 0: with prompt_logprobs, each prompt token in
// order first; then each sampled token that is not an end-of-generation
// one, before its text reaches the text callback. The text may then be cut
// by a stop string (the token that completed it is still reported).
using TokenCallback = std::function<void(const TokenLogprobs& token)>;

}  // namespace smallmind::runtime

#endif  // SMALLMIND_RUNTIME_TOKEN_LOGPROBS_H_
