// Rows of every storage dtype to and from F32: one codec per dtype, looked
// up in a table indexed by core::DType (convert.cc). Writers (init,
// convert, checkpoints), the embedding lookup and backends that widen
// weights at load all go through these two calls.
//
// Encoding F16/BF16 rounds to nearest even (NaN stays NaN, overflow becomes
// infinity), element for element as core/half.h. Q8_0 and Q4_0 quantize as
// GGML does: Q8_0 d = max|x| / 127, q = round-to-nearest-even(x / d);
// Q4_0 m = the element of largest magnitude, d = m / -8,
// q = min(15, floor(x / d + 8.5)). Thread-safe (no state).
#ifndef SMALLMIND_KERNELS_CONVERT_H_
#define SMALLMIND_KERNELS_CONVERT_H_

#include <cstddef>

#include "core/dtype.h"

namespace smallmind::kernels {

// `n` elements, a whole number of `dtype` blocks.
void DecodeRow(core::DType dtype, const void* src, float* dst, size_t n);
void EncodeRow(core::DType dtype, const float* src, void* dst, size_t n);

}  // namespace smallmind::kernels

#endif  // SMALLMIND_KERNELS_CONVERT_H_
