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

}  // namespace smallmind::kernels
#endif  // HWY_ONCE
