// Elementwise kernels over float rows, and whole-row F16/BF16 conversion.
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
// rows[r * n + i] += bias[i] for each of `m` rows of `n`.
void BiasAdd(const float* bias, float* rows, size_t m, size_t n);
// out[i] = a[i] * b[i]
void Multiply(const float* a, const float* b, float* out, size_t n);
// x[i] *= s
void Scale(float s, float* x, size_t n);
// y[i] += a * x[i]
void Axpy(float a, const float* x, float* y, size_t n);

// Round to nearest even; NaN stays NaN; overflow becomes infinity. The same
// results as core/half.h, element for element.
void F32ToF16(const float* in, uint16_t* out, size_t n);
void F16ToF32(const uint16_t* in, float* out, size_t n);
void F32ToBF16(const float* in, uint16_t* out, size_t n);
void BF16ToF32(const uint16_t* in, float* out, size_t n);

}  // namespace smallmind::kernels

#endif  // SMALLMIND_KERNELS_ELEMENTWISE_H_
