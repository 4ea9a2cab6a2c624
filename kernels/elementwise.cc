// Dispatch unit for kernels/elementwise.h.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/elementwise.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "kernels/elementwise-inl.h"
#include "kernels/elementwise.h"

HWY_BEFORE_NAMESPACE();
namespace smallmind::kernels::HWY_NAMESPACE {

void AddImpl(const float* a, const float* b, float* out, size_t n) {
  AddRow(a, b, out, n);
}

void BiasAddImpl(const float* bias, float* rows, size_t m, size_t n) {
  for (size_t r = 0; r < m; ++r) AddRow(rows + r * n, bias, rows + r * n, n);
}

void MultiplyImpl(const float* a, const float* b, float* out, size_t n) {
  MulRow(a, b, out, n);
}

void ScaleImpl(float s, float* x, size_t n) { ScaleRow(s, x, n); }

void AxpyImpl(float a, const float* x, float* y, size_t n) { AxpyRow(a, x, y, n); }

void F32ToF16Impl(const float* in, uint16_t* out, size_t n) {
  F32RowToHalf(in, out, n, [](auto du, auto bits)
                   HWY_ATTR { return F32BitsToF16Bits(du, bits); });
}

void F16ToF32Impl(const uint16_t* in, float* out, size_t n) {
  HalfRowToF32(in, out, n,
               [](auto du, auto h) HWY_ATTR { return F16BitsToF32Bits(du, h); });
}

void F32ToBF16Impl(const float* in, uint16_t* out, size_t n) {
  F32RowToHalf(in, out, n, [](auto du, auto bits)
                   HWY_ATTR { return F32BitsToBF16Bits(du, bits); });
}

void BF16ToF32Impl(const uint16_t* in, float* out, size_t n) {
  HalfRowToF32(in, out, n,
               [](auto, auto h) HWY_ATTR { return hn::ShiftLeft<16>(h); });
}

}  // namespace smallmind::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace smallmind::kernels {

HWY_EXPORT(AddImpl);
HWY_EXPORT(BiasAddImpl);
HWY_EXPORT(MultiplyImpl);
HWY_EXPORT(ScaleImpl);
HWY_EXPORT(AxpyImpl);
HWY_EXPORT(F32ToF16Impl);
HWY_EXPORT(F16ToF32Impl);
HWY_EXPORT(F32ToBF16Impl);
HWY_EXPORT(BF16ToF32Impl);

void Add(const float* a, const float* b, float* out, size_t n) {
  HWY_DYNAMIC_DISPATCH(AddImpl)(a, b, out, n);
}
void AddInPlace(const float* x, float* y, size_t n) {
  HWY_DYNAMIC_DISPATCH(AddImpl)(y, x, y, n);
}
void BiasAdd(const float* bias, float* rows, size_t m, size_t n) {
  HWY_DYNAMIC_DISPATCH(BiasAddImpl)(bias, rows, m, n);
}
void Multiply(const float* a, const float* b, float* out, size_t n) {
  HWY_DYNAMIC_DISPATCH(MultiplyImpl)(a, b, out, n);
}
void Scale(float s, float* x, size_t n) { HWY_DYNAMIC_DISPATCH(ScaleImpl)(s, x, n); }
void Axpy(float a, const float* x, float* y, size_t n) {
  HWY_DYNAMIC_DISPATCH(AxpyImpl)(a, x, y, n);
}
void F32ToF16(const float* in, uint16_t* out, size_t n) {
  HWY_DYNAMIC_DISPATCH(F32ToF16Impl)(in, out, n);
}
void F16ToF32(const uint16_t* in, float* out, size_t n) {
  HWY_DYNAMIC_DISPATCH(F16ToF32Impl)(in, out, n);
}
void F32ToBF16(const float* in, uint16_t* out, size_t n) {
  HWY_DYNAMIC_DISPATCH(F32ToBF16Impl)(in, out, n);
}
void BF16ToF32(const uint16_t* in, float* out, size_t n) {
  HWY_DYNAMIC_DISPATCH(BF16ToF32Impl)(in, out, n);
}

}  // namespace smallmind::kernels
#endif  // HWY_ONCE
