// Dispatch unit for kernels/matmul_f32.h.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/matmul_f32.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "kernels/matmul_f32-inl.h"
#include "kernels/matmul_f32.h"

HWY_BEFORE_NAMESPACE();
namespace smallmind::kernels::HWY_NAMESPACE {

size_t F32PanelWidthImpl() { return PanelWidth(); }

void PackF32PanelsImpl(const float* w, size_t ldw, size_t n, size_t k,
                       float* packed) {
  PackPanelsRows(w, ldw, n, k, packed);
}

void F32PanelGemmImpl(const float* x, size_t ldx, size_t m, size_t k,
                      const float* panel, size_t cols, const float* bias,
                      float* y, size_t ldy) {
  PanelGemmRows(x, ldx, m, k, panel, cols, bias, y, ldy);
}

}  // namespace smallmind::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace smallmind::kernels {

HWY_EXPORT(F32PanelWidthImpl);
HWY_EXPORT(PackF32PanelsImpl);
HWY_EXPORT(F32PanelGemmImpl);

size_t F32PanelWidth() { return HWY_DYNAMIC_DISPATCH(F32PanelWidthImpl)(); }

void PackF32Panels(const float* w, size_t ldw, size_t n, size_t k,
                   float* packed) {
  HWY_DYNAMIC_DISPATCH(PackF32PanelsImpl)(w, ldw, n, k, packed);
}

void F32PanelGemm(const float* x, size_t ldx, size_t m, size_t k,
                  const float* panel, size_t cols, const float* bias, float* y,
                  size_t ldy) {
  HWY_DYNAMIC_DISPATCH(F32PanelGemmImpl)(x, ldx, m, k, panel, cols, bias, y, ldy);
}

}  // namespace smallmind::kernels
#endif  // HWY_ONCE
