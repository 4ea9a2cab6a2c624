// Named architectures and random-weight models: the seed's two benchmark
// models (`small`, `medium`) and llama-shaped ones (`stories15m`). Used by
// `smallmind init`, the benchmarks and the tests, so a model of any preset
// shape exists without downloading anything.
#ifndef SMALLMIND_MODEL_PRESETS_H_
#define SMALLMIND_MODEL_PRESETS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/dtype.h"
#include "model/model.pb.h"

namespace smallmind::model {

struct Preset {
  std::string name;
  std::string summary;
  Architecture arch;
};

const std::vector<Preset>& Presets();

// A GPT-2-style architecture: LayerNorm, learned positions, GELU, biases,
// as many kv heads as heads, untied output head.
Architecture Gpt2Architecture(int64_t vocab, int64_t context, int64_t dim,
                              int64_t layers, int64_t heads, int64_t hidden,
                              float norm_eps);

// The preset called `name`; the error lists the known names.
absl::StatusOr<Preset> FindPreset(absl::string_view name);

// A character vocabulary of `vocab_size` tokens: the 256 single bytes, then
// `<unusedN>` fillers. Errors when vocab_size < 256.
absl::StatusOr<TokenizerSpec> ByteTokenizer(int64_t vocab_size);

// A description of `arch` with `tokenizer`, ready for a writer (no tensors).
ModelDescription DescribeModel(const Architecture& arch,
                               const TokenizerSpec& tokenizer,
                               absl::string_view source_format,
                               absl::string_view source);

struct RandomModelOptions {
  core::DType dtype = core::DType::kF32;  // for the matmul weights
  uint64_t seed = 0;
  float stddev = 0.02f;  // of the normal weights; norms are 1, biases 0
};

// Writes `description` (architecture and tokenizer) with random weights.
absl::Status WriteRandomModel(const std::string& path,
                              const ModelDescription& description,
                              const RandomModelOptions& options);

}  // namespace smallmind::model

#endif  // SMALLMIND_MODEL_PRESETS_H_
