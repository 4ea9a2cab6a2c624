// Elementwise kernels over float rows.
// Dynamic dispatch picks the best SIMD target at run time. Output may alias
// an input wherever both have the same type. Thread-safe (no state).
#ifndef SMALLMIND_KERNELS_ELEMENTWISE_H_
#define SMALLMIND_KERNELS_ELEMENTWISE_H_

#include <cstddef>
#include <cstdint>

namespace smallmind::kernels {

// out[i] = a[i] + b[i]
void Add(const float* a, const float* b, float* out, size_t n);
// y[i] += x[i]
void AddInPlace(const float* x, float* y, size_t n);
// rows[r * stride + i] += bias[i] for each of `m` rows of `n` (`stride`
// floats apart).
void BiasAdd(const float* bias, float* rows, size_t m, size_t n, size_t stride);
// y[i] += a * x[i]
void Axpy(float a, const float* x, float* y, size_t n);

}  // namespace smallmind::kernels

#endif  // SMALLMIND_KERNELS_ELEMENTWISE_H_
