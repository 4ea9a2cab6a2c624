// Dispatch unit for kernels/norm.h.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/norm.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "kernels/norm-inl.h"
#include "kernels/norm.h"

HWY_BEFORE_NAMESPACE();
namespace smallmind::kernels::HWY_NAMESPACE {

// One pass for the statistics (sums of x - x[0], so a large mean does not
// cancel the variance's precision), one to scale and shift.
void LayerNormImpl(const float* x, const float* weight, const float* bias,
                   float eps, float* out, size_t n) {
  if (n == 0) return;
  float mean, var;
  MeanAndVariance(x, n, &mean, &var);
  ScaleShift(x, weight, bias, mean, 1.0f / std::sqrt(var + eps), out, n);
}

void RmsNormImpl(const float* x, const float* weight, float eps, float* out,
                 size_t n) {
  if (n == 0) return;
  const float ms = static_cast<float>(SumSquaredDeviation(x, n, 0.0f) / double(n));
  ScaleShift(x, weight, nullptr, 0.0f, 1.0f / std::sqrt(ms + eps), out, n);
}

}  // namespace smallmind::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace smallmind::kernels {

HWY_EXPORT(LayerNormImpl);
HWY_EXPORT(RmsNormImpl);

void LayerNorm(const float* x, const float* weight, const float* bias,
               float eps, float* out, size_t n) {
  HWY_DYNAMIC_DISPATCH(LayerNormImpl)(x, weight, bias, eps, out, n);
}

void RmsNorm(const float* x, const float* weight, float eps, float* out,
             size_t n) {
  HWY_DYNAMIC_DISPATCH(RmsNormImpl)(x, weight, eps, out, n);
}

}  // namespace smallmind::kernels
#endif  // HWY_ONCE
