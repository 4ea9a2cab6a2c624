// Per-target code for kernels/softmax.h.

#if defined(SMALLMIND_KERNELS_SOFTMAX_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SMALLMIND_KERNELS_SOFTMAX_INL_H_
#undef SMALLMIND_KERNELS_SOFTMAX_INL_H_
#else
#define SMALLMIND_KERNELS_SOFTMAX_INL_H_
#endif

#include <cmath>
#include <cstddef>
#include <limits>

#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"
#include "kernels/reductions-inl.h"
#include "kernels/simd_util-inl.h"

HWY_BEFORE_NAMESPACE();
namespace smallmind::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// exp(v - max) with exact zeros where the difference is below float's range
// (including -inf scores).
template <class D, class V>
HWY_INLINE V ExpShifted(D d, V v, V max) {
  const V diff = hn::Sub(v, max);
  const auto tiny = hn::Lt(diff, hn::Set(d, -87.0f));
  return hn::IfThenZeroElse(tiny, ExpClamped(d, hn::Max(diff, hn::Set(d, -87.0f))));
}

// Pass 1 finds the max; pass 2 writes exp(x - max) and sums it in the same
// sweep; pass 3 scales by 1/sum.
HWY_INLINE void SoftmaxRow(float* x, size_t n) {
  if (n == 0) return;
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  const float max = RowMax(x, n);
  if (max == -std::numeric_limits<float>::infinity()) {
    for (size_t i = 0; i < n; ++i) x[i] = 0.0f;
    return;
  }
  const auto vmax = hn::Set(d, max);
  const double sum = ChunkedSum(n, [&](size_t begin, size_t count) HWY_ATTR {
    float* HWY_RESTRICT p = x + begin;
    auto partial = hn::Zero(d);
    size_t i = 0;
    for (; i + N <= count; i += N) {
      const auto e = ExpShifted(d, hn::LoadU(d, p + i), vmax);
      partial = hn::Add(partial, e);
      hn::StoreU(e, d, p + i);
    }
    if (i < count) {
      const size_t r = count - i;
      // Padding lanes are -inf, so they add exactly 0 to the sum.
      const auto e = ExpShifted(
          d, LoadTail(d, p + i, r, -std::numeric_limits<float>::infinity()), vmax);
      partial = hn::Add(partial, e);
      StoreTail(d, e, p + i, r);
    }
    return ReduceSum(d, partial);
  });
  const auto inv = hn::Set(d, static_cast<float>(1.0 / sum));
  size_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(hn::Mul(hn::LoadU(d, x + i), inv), d, x + i);
  if (i < n) StoreTail(d, hn::Mul(LoadTail(d, x + i, n - i), inv), x + i, n - i);
}

}  // namespace smallmind::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // SMALLMIND_KERNELS_SOFTMAX_INL_H_
