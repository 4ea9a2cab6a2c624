// Writes a loaded model back out as GGUF in llama.cpp's layout for its family
// (gpt2, llama, qwen2, qwen3, gemma3, phi3: their tensor names and fusions,
// ggml dimension order, tokenizer.ggml.* metadata), for the
// converter's round-trip tests and the GGUF fuzzer's seeds.
#ifndef SMALLMIND_FORMATS_GGUF_FROM_MODEL_H_
#define SMALLMIND_FORMATS_GGUF_FROM_MODEL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/dtype.h"
#include "model/model.h"

namespace smallmind::formats {

// The GGUF architecture whose forward pass `a` is (gpt2, llama, qwen2,
// qwen3, gemma3, phi3), or "" for none.
std::string GgufArchitectureOf(const model::Architecture& a);

// Matrices are stored as `matrices`; vectors as F32.
absl::StatusOr<std::vector<uint8_t>> GgufFromModel(const model::Model& model,
                                                   core::DType matrices);

}  // namespace smallmind::formats

#endif  // SMALLMIND_FORMATS_GGUF_FROM_MODEL_H_
