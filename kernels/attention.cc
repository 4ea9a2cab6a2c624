// Dispatch unit for kernels/attention.h.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/attention.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "kernels/attention-inl.h"
#include "kernels/attention.h"

HWY_BEFORE_NAMESPACE();
namespace smallmind::kernels::HWY_NAMESPACE {

void AttendHeadImpl(const float* q, const float* keys, const float* values,
                    size_t stride, size_t positions, size_t head_dim, float scale,
                    float* scores, float* out) {
  AttendHeadRow(q, keys, values, stride, positions, head_dim, scale, scores, out);
}

}  // namespace smallmind::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace smallmind::kernels {

HWY_EXPORT(AttendHeadImpl);

void AttendHead(const float* q, const float* keys, const float* values,
                size_t stride, size_t positions, size_t head_dim, float scale,
                float* scores, float* out) {
  HWY_DYNAMIC_DISPATCH(AttendHeadImpl)(q, keys, values, stride, positions, head_dim,
                                       scale, scores, out);
}

}  // namespace smallmind::kernels
#endif  // HWY_ONCE
