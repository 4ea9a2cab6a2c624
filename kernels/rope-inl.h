// Per-target code for kernels/rope.h.

#if defined(SMALLMIND_KERNELS_ROPE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SMALLMIND_KERNELS_ROPE_INL_H_
#undef SMALLMIND_KERNELS_ROPE_INL_H_
#else
#define SMALLMIND_KERNELS_ROPE_INL_H_
#endif

#include <cstddef>

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace smallmind::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Rotates the `half` consecutive pairs (x[2i], x[2i+1]) by (c[i], s[i]).
HWY_INLINE void RotatePairwise(float* x, const float* c, const float* s,
                               size_t half) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  size_t i = 0;
  for (; i + N <= half; i += N) {
    hn::Vec<decltype(d)> a, b;
    hn::LoadInterleaved2(d, x + 2 * i, a, b);
    const auto vc = hn::LoadU(d, c + i);
    const auto vs = hn::LoadU(d, s + i);
    const auto ra = hn::NegMulAdd(b, vs, hn::Mul(a, vc));
    const auto rb = hn::MulAdd(a, vs, hn::Mul(b, vc));
    hn::StoreInterleaved2(ra, rb, d, x + 2 * i);
  }
  for (; i < half; ++i) {
    const float a = x[2 * i], b = x[2 * i + 1];
    x[2 * i] = a * c[i] - b * s[i];
    x[2 * i + 1] = a * s[i] + b * c[i];
  }
}

HWY_INLINE void RotateHalf(float* x, const float* c, const float* s,
                           size_t half) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  float* y = x + half;
  size_t i = 0;
  for (; i + N <= half; i += N) {
    const auto a = hn::LoadU(d, x + i);
    const auto b = hn::LoadU(d, y + i);
    const auto vc = hn::LoadU(d, c + i);
    const auto vs = hn::LoadU(d, s + i);
    hn::StoreU(hn::NegMulAdd(b, vs, hn::Mul(a, vc)), d, x + i);
    hn::StoreU(hn::MulAdd(a, vs, hn::Mul(b, vc)), d, y + i);
  }
  for (; i < half; ++i) {
    const float a = x[i], b = y[i];
    x[i] = a * c[i] - b * s[i];
    y[i] = a * s[i] + b * c[i];
  }
}

}  // namespace smallmind::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // SMALLMIND_KERNELS_ROPE_INL_H_
