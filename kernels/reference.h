// Plain scalar references for every kernel, accumulating in double where it
// matters. Test-only: the kernels are checked against these.
#ifndef SMALLMIND_KERNELS_REFERENCE_H_
#define SMALLMIND_KERNELS_REFERENCE_H_

#include <cstddef>
#include <cstdint>
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
// angles computed directly (no table); `factors` (rotary_dim/2 of them, or
// null) divide each pair's frequency.
std::vector<double> RopePairwise(const float* x, size_t head_dim,
                                 size_t rotary_dim, double base, size_t pos,
                                 const float* factors = nullptr);
std::vector<double> RopeRotateHalf(const float* x, size_t head_dim,
                                   size_t rotary_dim, double base, size_t pos,
                                   const float* factors = nullptr);

double Dot(const float* a, const float* b, size_t n);
// Σ |a[i]·b[i]|: the scale a dot product's rounding error grows with.
double DotMagnitude(const float* a, const float* b, size_t n);

// Every dtype's row codec, element by element with core/half.h: what
// kernels/convert.h must reproduce byte for byte.
void DecodeRow(core::DType dtype, const void* src, float* dst, size_t n);
void EncodeRow(core::DType dtype, const float* src, void* dst, size_t n);

// Activations as kernels/matmul_int8.h quantizes them, one row of `cols`:
// per block of 32, scale = max|x| / 127, q = nearbyint(x · (1 / scale));
// sum = Σ q per 16 (two per block).
void QuantizeActivations(const float* x, size_t cols, int8_t* q, float* scale,
                         int32_t* sum);

// One output of the int8 matmul: Σ over sub-blocks of 16 of
// scale_x · (scale_w · Σ v·q − min_w · Σ q), the sums in exact integers,
// with v, scale_w and min_w as quant_blocks.h unpacks them (scales and mins
// rounded to f16, as the packed layout keeps them). `magnitude` gets the
// Σ of |each product| (scale and min terms apart: they may cancel), what
// the kernels' float rounding grows with.
double Int8Dot(core::DType dtype, const void* w_row, const int8_t* q,
               const float* scale, size_t cols, double* magnitude);

}  // namespace smallmind::kernels::reference

#endif  // SMALLMIND_KERNELS_REFERENCE_H_
