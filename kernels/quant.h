// Block quantization in GGML's Q8_0 / Q4_0 layouts (core/dtype.h), and the
// integer block dot products quantized matmul is built from.
// `n` is a multiple of 32 (core::kQuantBlock) everywhere. Thread-safe.
#ifndef SMALLMIND_KERNELS_QUANT_H_
#define SMALLMIND_KERNELS_QUANT_H_

#include <cstddef>

#include "core/dtype.h"

namespace smallmind::kernels {

// Per block: d = max|x| / 127, q = round-to-nearest-even(x / d).
void QuantizeQ8_0(const float* x, core::BlockQ8_0* y, size_t n);
// Per block: m = the element of largest magnitude (with its sign),
// d = m / -8, q = min(15, floor(x / d + 8.5)), as GGML does.
void QuantizeQ4_0(const float* x, core::BlockQ4_0* y, size_t n);
void DequantizeQ8_0(const core::BlockQ8_0* x, float* y, size_t n);
void DequantizeQ4_0(const core::BlockQ4_0* x, float* y, size_t n);

// Σ over blocks of d_a·d_b·(Σ int products): the products of each block are
// summed in int32, then one float multiply-add per block.
float DotQ8_0(const core::BlockQ8_0* a, const core::BlockQ8_0* b, size_t n);
float DotQ4_0Q8_0(const core::BlockQ4_0* w, const core::BlockQ8_0* x, size_t n);

}  // namespace smallmind::kernels

#endif  // SMALLMIND_KERNELS_QUANT_H_
