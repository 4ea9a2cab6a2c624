// Dispatch unit for kernels/softmax.h.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/softmax.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "kernels/softmax-inl.h"
#include "kernels/softmax.h"

HWY_BEFORE_NAMESPACE();
namespace smallmind::kernels::HWY_NAMESPACE {

void SoftmaxImpl(float* x, size_t n) { SoftmaxRow(x, n); }

}  // namespace smallmind::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace smallmind::kernels {

HWY_EXPORT(SoftmaxImpl);

void Softmax(float* x, size_t n) { HWY_DYNAMIC_DISPATCH(SoftmaxImpl)(x, n); }

void CausalSoftmax(float* x, size_t n, size_t pos) {
  HWY_DYNAMIC_DISPATCH(SoftmaxImpl)(x, pos + 1);
  for (size_t i = pos + 1; i < n; ++i) x[i] = 0.0f;
}

}  // namespace smallmind::kernels
#endif  // HWY_ONCE
