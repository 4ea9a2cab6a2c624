// Converting tensor rows between F32 and every storage dtype: what writers
// (init, convert, training checkpoints) and the embedding lookup share.
#ifndef SMALLMIND_MODEL_TENSOR_CODEC_H_
#define SMALLMIND_MODEL_TENSOR_CODEC_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/dtype.h"
#include "core/tensor.h"

namespace smallmind::model {

// Encodes `values` (rows of `row_length`) as `dtype`. Errors when a quantized
// dtype's block does not divide `row_length`.
absl::StatusOr<std::vector<uint8_t>> EncodeF32(absl::Span<const float> values,
                                               int64_t row_length,
                                               core::DType dtype);

// Decodes row `row` of `t` into `out` (t.row_length() floats). No allocation.
void DecodeRow(const core::TensorView& t, int64_t row, float* out);

// Decodes all of `t` to F32.
std::vector<float> DecodeAll(const core::TensorView& t);

}  // namespace smallmind::model

#endif  // SMALLMIND_MODEL_TENSOR_CODEC_H_
