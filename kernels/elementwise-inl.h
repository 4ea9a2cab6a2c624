// Per-target code for kernels/elementwise.h.

#if defined(SMALLMIND_KERNELS_ELEMENTWISE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SMALLMIND_KERNELS_ELEMENTWISE_INL_H_
#undef SMALLMIND_KERNELS_ELEMENTWISE_INL_H_
#else
#define SMALLMIND_KERNELS_ELEMENTWISE_INL_H_
#endif

#include <cstddef>
#include <cstdint>

#include "hwy/highway.h"
#include "kernels/simd_util-inl.h"

HWY_BEFORE_NAMESPACE();
namespace smallmind::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Applies `op(a, b)` lane-wise: out = op(a, b). Two vectors per iteration
// keep two loads in flight. No restrict: in-place callers pass `out` equal
// to `a` or `b`, and each element is read before it is written.
template <class Op>
HWY_INLINE void BinaryOp(const float* a, const float* b, float* out, size_t n,
                         const Op& op) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  size_t i = 0;
  for (; i + 2 * N <= n; i += 2 * N) {
    const auto r0 = op(hn::LoadU(d, a + i), hn::LoadU(d, b + i));
    const auto r1 = op(hn::LoadU(d, a + i + N), hn::LoadU(d, b + i + N));
    hn::StoreU(r0, d, out + i);
    hn::StoreU(r1, d, out + i + N);
  }
  for (; i + N <= n; i += N) {
    hn::StoreU(op(hn::LoadU(d, a + i), hn::LoadU(d, b + i)), d, out + i);
  }
  if (i < n) {
    const size_t r = n - i;
    StoreTail(d, op(LoadTail(d, a + i, r), LoadTail(d, b + i, r)), out + i, r);
  }
}

HWY_INLINE void AddRow(const float* a, const float* b, float* out, size_t n) {
  BinaryOp(a, b, out, n, [](auto x, auto y) HWY_ATTR { return hn::Add(x, y); });
}

HWY_INLINE void AxpyRow(float alpha, const float* x, float* y, size_t n) {
  const hn::ScalableTag<float> d;
  const auto va = hn::Set(d, alpha);
  BinaryOp(x, y, y, n,
           [va](auto vx, auto vy) HWY_ATTR { return hn::MulAdd(va, vx, vy); });
}

}  // namespace smallmind::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // SMALLMIND_KERNELS_ELEMENTWISE_INL_H_
