// Per-target code for kernels/norm.h.

#if defined(SMALLMIND_KERNELS_NORM_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SMALLMIND_KERNELS_NORM_INL_H_
#undef SMALLMIND_KERNELS_NORM_INL_H_
#else
#define SMALLMIND_KERNELS_NORM_INL_H_
#endif

#include <cmath>
#include <cstddef>

#include "hwy/highway.h"
#include "kernels/reductions-inl.h"
#include "kernels/simd_util-inl.h"

HWY_BEFORE_NAMESPACE();
namespace smallmind::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Σ (x[i] - shift)² over one chunk, two accumulators for latency.
HWY_INLINE float SumSquaredDeviationFloat(const float* x, size_t n, float shift) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  const auto vs = hn::Set(d, shift);
  auto s0 = hn::Zero(d), s1 = hn::Zero(d);
  size_t i = 0;
  for (; i + 2 * N <= n; i += 2 * N) {
    const auto a = hn::Sub(hn::LoadU(d, x + i), vs);
    const auto b = hn::Sub(hn::LoadU(d, x + i + N), vs);
    s0 = hn::MulAdd(a, a, s0);
    s1 = hn::MulAdd(b, b, s1);
  }
  for (; i + N <= n; i += N) {
    const auto a = hn::Sub(hn::LoadU(d, x + i), vs);
    s0 = hn::MulAdd(a, a, s0);
  }
  if (i < n) {
    // Pad with `shift` so padding lanes contribute 0.
    const auto a = hn::Sub(LoadTail(d, x + i, n - i, shift), vs);
    s0 = hn::MulAdd(a, a, s0);
  }
  return ReduceSum(d, hn::Add(s0, s1));
}

HWY_INLINE double SumSquaredDeviation(const float* x, size_t n, float shift) {
  return ChunkedSum(n, [x, shift](size_t begin, size_t count) HWY_ATTR {
    return SumSquaredDeviationFloat(x + begin, count, shift);
  });
}

// out = (x - shift) · scale · weight (+ bias when non-null).
// Σ(x - shift) and Σ(x - shift)² in one pass, in float over one chunk.
HWY_INLINE void ShiftedSumsFloat(const float* x, size_t n, float shift,
                                 float* sum, float* squares) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  const auto vs = hn::Set(d, shift);
  auto s0 = hn::Zero(d), s1 = hn::Zero(d), q0 = hn::Zero(d), q1 = hn::Zero(d);
  size_t i = 0;
  for (; i + 2 * N <= n; i += 2 * N) {
    const auto a = hn::Sub(hn::LoadU(d, x + i), vs);
    const auto b = hn::Sub(hn::LoadU(d, x + i + N), vs);
    s0 = hn::Add(s0, a);
    s1 = hn::Add(s1, b);
    q0 = hn::MulAdd(a, a, q0);
    q1 = hn::MulAdd(b, b, q1);
  }
  for (; i + N <= n; i += N) {
    const auto a = hn::Sub(hn::LoadU(d, x + i), vs);
    s0 = hn::Add(s0, a);
    q0 = hn::MulAdd(a, a, q0);
  }
  if (i < n) {
    const auto a = hn::Sub(LoadTail(d, x + i, n - i, shift), vs);  // pads add 0
    s0 = hn::Add(s0, a);
    q0 = hn::MulAdd(a, a, q0);
  }
  *sum = ReduceSum(d, hn::Add(s0, s1));
  *squares = ReduceSum(d, hn::Add(q0, q1));
}

// Mean and variance of x in one pass over it. Sums are of x - x[0], so
// the variance does not cancel catastrophically when |mean| >> stddev, and
// are carried in double across chunks.
HWY_INLINE void MeanAndVariance(const float* x, size_t n, float* mean, float* var) {
  const float shift = x[0];
  double sum = 0.0, squares = 0.0;
  for (size_t begin = 0; begin < n; begin += kSumChunk) {
    float s, q;
    ShiftedSumsFloat(x + begin, n - begin < kSumChunk ? n - begin : kSumChunk, shift,
                     &s, &q);
    sum += s;
    squares += q;
  }
  const double shifted_mean = sum / double(n);
  *mean = static_cast<float>(shift + shifted_mean);
  const double v = squares / double(n) - shifted_mean * shifted_mean;
  *var = static_cast<float>(v > 0.0 ? v : 0.0);
}

HWY_INLINE void ScaleShift(const float* x, const float* weight,
                           const float* bias, float shift, float scale,
                           float* out, size_t n) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  const auto vshift = hn::Set(d, shift);
  const auto vscale = hn::Set(d, scale);
  auto one = [&](auto vx, auto vw, auto vb) HWY_ATTR {
    return hn::MulAdd(hn::Mul(hn::Sub(vx, vshift), vscale), vw, vb);
  };
  size_t i = 0;
  for (; i + N <= n; i += N) {
    const auto vb = bias ? hn::LoadU(d, bias + i) : hn::Zero(d);
    hn::StoreU(one(hn::LoadU(d, x + i), hn::LoadU(d, weight + i), vb), d, out + i);
  }
  if (i < n) {
    const size_t r = n - i;
    const auto vb = bias ? LoadTail(d, bias + i, r) : hn::Zero(d);
    StoreTail(d, one(LoadTail(d, x + i, r), LoadTail(d, weight + i, r), vb),
              out + i, r);
  }
}

}  // namespace smallmind::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // SMALLMIND_KERNELS_NORM_INL_H_
