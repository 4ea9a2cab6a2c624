// Plain scalar references for every kernel, accumulating in double where it
// matters. Test-only: the kernels are checked against these.
#ifndef SMALLMIND_KERNELS_REFERENCE_H_
#define SMALLMIND_KERNELS_REFERENCE_H_

#include <cstddef>
#include <vector>

#include "core/dtype.h"

namespace smallmind::kernels::reference {

double GeluTanh(double x);
double GeluErf(double x);
double Silu(double x);

std::vector<double> Softmax(const float* x, size_t n);
std::vector<double> LayerNorm(const float* x, const float* w, const float* b,
                              double eps, size_t n);
std::vector<double> RmsNorm(const float* x, const float* w, double eps, size_t n);

// One head of `head_dim`, rotated as the kernels' header describes, with
// angles computed directly (no table).
std::vector<double> RopePairwise(const float* x, size_t head_dim,
                                 size_t rotary_dim, double base, size_t pos);
std::vector<double> RopeRotateHalf(const float* x, size_t head_dim,
                                   size_t rotary_dim, double base, size_t pos);

double Dot(const float* a, const float* b, size_t n);
// Σ |a[i]·b[i]|: the scale a dot product's rounding error grows with.
double DotMagnitude(const float* a, const float* b, size_t n);

void QuantizeQ8_0(const float* x, core::BlockQ8_0* y, size_t n);
void QuantizeQ4_0(const float* x, core::BlockQ4_0* y, size_t n);
void DequantizeQ8_0(const core::BlockQ8_0* x, float* y, size_t n);
void DequantizeQ4_0(const core::BlockQ4_0* x, float* y, size_t n);
// Block products summed exactly in integers, scaled in double.
double DotQ8_0(const core::BlockQ8_0* a, const core::BlockQ8_0* b, size_t n);
double DotQ4_0Q8_0(const core::BlockQ4_0* w, const core::BlockQ8_0* x, size_t n);

}  // namespace smallmind::kernels::reference

#endif  // SMALLMIND_KERNELS_REFERENCE_H_
