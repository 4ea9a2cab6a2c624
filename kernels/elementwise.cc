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

void BiasAddImpl(const float* bias, float* rows, size_t m, size_t n,
                 size_t stride) {
  for (size_t r = 0; r < m; ++r) AddRow(rows + r * stride, bias, rows + r * stride, n);
}

void AxpyImpl(float a, const float* x, float* y, size_t n) { AxpyRow(a, x, y, n); }

}  // namespace smallmind::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace smallmind::kernels {

HWY_EXPORT(AddImpl);
HWY_EXPORT(BiasAddImpl);
HWY_EXPORT(AxpyImpl);

void Add(const float* a, const float* b, float* out, size_t n) {
  HWY_DYNAMIC_DISPATCH(AddImpl)(a, b, out, n);
}
void AddInPlace(const float* x, float* y, size_t n) {
  HWY_DYNAMIC_DISPATCH(AddImpl)(y, x, y, n);
}
void BiasAdd(const float* bias, float* rows, size_t m, size_t n, size_t stride) {
  HWY_DYNAMIC_DISPATCH(BiasAddImpl)(bias, rows, m, n, stride);
}
void Axpy(float a, const float* x, float* y, size_t n) {
  HWY_DYNAMIC_DISPATCH(AxpyImpl)(a, x, y, n);
}

}  // namespace smallmind::kernels
#endif  // HWY_ONCE
