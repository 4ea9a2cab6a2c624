// The golden models of tests/golden/ (see tests/reference/make_golden.py, PyTorch):
// their weights, the token ids they were run on and the reference logits,
// for tests that rebuild a golden model some other way (converters, the
// public API) and check it still computes the same thing.
#ifndef SMALLMIND_TESTS_GOLDEN_UTIL_H_
#define SMALLMIND_TESTS_GOLDEN_UTIL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model/model.h"

namespace smallmind::golden {

struct Golden {
  std::unique_ptr<model::Model> model;
  std::vector<int32_t> tokens;
  std::vector<float> logits;  // [tokens, vocab], float64 reference rounded
  // The families' models also carry the reference's greedy continuation
  // of `prompt` (empty for the others).
  std::vector<int32_t> prompt, continuation;
};

// The golden models, by name.
inline constexpr const char* kGoldenModels[] = {
    "gpt2_tiny",  "llama_tiny",  "neox_tiny",   "llama3_tiny",
    "qwen2_tiny", "qwen3_tiny",  "gemma3_tiny", "phi3_tiny"};

// `name` is one of kGoldenModels.
absl::StatusOr<Golden> LoadGolden(const std::string& name);

// `model`'s logits at every position of `tokens`, run in one prefill on
// `backend` with `threads` threads.
absl::StatusOr<std::vector<float>> Logits(const model::Model& model,
                                          const std::vector<int32_t>& tokens,
                                          const std::string& backend = "tiled",
                                          int threads = 1);

// The largest |logit - reference| over every position when `model` runs the
// golden tokens in one prefill on `backend` with `threads` threads.
absl::StatusOr<float> MaxLogitError(const model::Model& model,
                                    const Golden& golden,
                                    const std::string& backend = "tiled",
                                    int threads = 1);

}  // namespace smallmind::golden

#endif  // SMALLMIND_TESTS_GOLDEN_UTIL_H_
