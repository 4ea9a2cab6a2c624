// Normalisation over one row. `out` may equal `x`. Thread-safe (no state).
#ifndef SMALLMIND_KERNELS_NORM_H_
#define SMALLMIND_KERNELS_NORM_H_

#include <cstddef>

namespace smallmind::kernels {

// out = (x - mean) / sqrt(var + eps) · weight + bias (population variance).
void LayerNorm(const float* x, const float* weight, const float* bias,
               float eps, float* out, size_t n);

// out = x / sqrt(mean(x²) + eps) · weight.
void RmsNorm(const float* x, const float* weight, float eps, float* out,
             size_t n);

}  // namespace smallmind::kernels

#endif  // SMALLMIND_KERNELS_NORM_H_
