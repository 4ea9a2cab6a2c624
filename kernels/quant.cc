// Dispatch unit for kernels/quant.h.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/quant.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "kernels/quant-inl.h"
#include "kernels/quant.h"

HWY_BEFORE_NAMESPACE();
namespace smallmind::kernels::HWY_NAMESPACE {

void QuantizeQ8_0Impl(const float* x, BlockQ8_0* y, size_t n) {
  for (size_t b = 0; b < n / kQuantBlock; ++b) QuantizeBlockQ8_0(x + b * kQuantBlock, y + b);
}

void QuantizeQ4_0Impl(const float* x, BlockQ4_0* y, size_t n) {
  for (size_t b = 0; b < n / kQuantBlock; ++b) QuantizeBlockQ4_0(x + b * kQuantBlock, y + b);
}

void DequantizeQ8_0Impl(const BlockQ8_0* x, float* y, size_t n) {
  for (size_t b = 0; b < n / kQuantBlock; ++b) DequantizeBlockQ8_0(x[b], y + b * kQuantBlock);
}

void DequantizeQ4_0Impl(const BlockQ4_0* x, float* y, size_t n) {
  for (size_t b = 0; b < n / kQuantBlock; ++b) DequantizeBlockQ4_0(x[b], y + b * kQuantBlock);
}

float DotQ8_0Impl(const BlockQ8_0* a, const BlockQ8_0* b, size_t n) {
  return DotBlocksQ8_0(a, b, n / kQuantBlock);
}

float DotQ4_0Q8_0Impl(const BlockQ4_0* w, const BlockQ8_0* x, size_t n) {
  return DotBlocksQ4_0Q8_0(w, x, n / kQuantBlock);
}

}  // namespace smallmind::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace smallmind::kernels {

HWY_EXPORT(QuantizeQ8_0Impl);
HWY_EXPORT(QuantizeQ4_0Impl);
HWY_EXPORT(DequantizeQ8_0Impl);
HWY_EXPORT(DequantizeQ4_0Impl);
HWY_EXPORT(DotQ8_0Impl);
HWY_EXPORT(DotQ4_0Q8_0Impl);

void QuantizeQ8_0(const float* x, core::BlockQ8_0* y, size_t n) {
  HWY_DYNAMIC_DISPATCH(QuantizeQ8_0Impl)(x, y, n);
}
void QuantizeQ4_0(const float* x, core::BlockQ4_0* y, size_t n) {
  HWY_DYNAMIC_DISPATCH(QuantizeQ4_0Impl)(x, y, n);
}
void DequantizeQ8_0(const core::BlockQ8_0* x, float* y, size_t n) {
  HWY_DYNAMIC_DISPATCH(DequantizeQ8_0Impl)(x, y, n);
}
void DequantizeQ4_0(const core::BlockQ4_0* x, float* y, size_t n) {
  HWY_DYNAMIC_DISPATCH(DequantizeQ4_0Impl)(x, y, n);
}
float DotQ8_0(const core::BlockQ8_0* a, const core::BlockQ8_0* b, size_t n) {
  return HWY_DYNAMIC_DISPATCH(DotQ8_0Impl)(a, b, n);
}
float DotQ4_0Q8_0(const core::BlockQ4_0* w, const core::BlockQ8_0* x, size_t n) {
  return HWY_DYNAMIC_DISPATCH(DotQ4_0Q8_0Impl)(w, x, n);
}

}  // namespace smallmind::kernels
#endif  // HWY_ONCE
