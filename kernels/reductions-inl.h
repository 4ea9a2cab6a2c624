// Per-target code for kernels/reductions.h.

#if defined(SMALLMIND_KERNELS_REDUCTIONS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SMALLMIND_KERNELS_REDUCTIONS_INL_H_
#undef SMALLMIND_KERNELS_REDUCTIONS_INL_H_
#else
#define SMALLMIND_KERNELS_REDUCTIONS_INL_H_
#endif

#include <cstddef>
#include <limits>

#include "hwy/highway.h"
#include "kernels/simd_util-inl.h"

HWY_BEFORE_NAMESPACE();
namespace smallmind::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// F32 dot product with four independent accumulators, enough to hide FMA
// latency and keep two loads per cycle busy.
HWY_INLINE float DotF32(const float* HWY_RESTRICT a, const float* HWY_RESTRICT b,
                        size_t n) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  auto s0 = hn::Zero(d), s1 = hn::Zero(d), s2 = hn::Zero(d), s3 = hn::Zero(d);
  size_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    s0 = hn::MulAdd(hn::LoadU(d, a + i), hn::LoadU(d, b + i), s0);
    s1 = hn::MulAdd(hn::LoadU(d, a + i + N), hn::LoadU(d, b + i + N), s1);
    s2 = hn::MulAdd(hn::LoadU(d, a + i + 2 * N), hn::LoadU(d, b + i + 2 * N), s2);
    s3 = hn::MulAdd(hn::LoadU(d, a + i + 3 * N), hn::LoadU(d, b + i + 3 * N), s3);
  }
  for (; i + N <= n; i += N) {
    s0 = hn::MulAdd(hn::LoadU(d, a + i), hn::LoadU(d, b + i), s0);
  }
  if (i < n) {
    s1 = hn::MulAdd(LoadTail(d, a + i, n - i), LoadTail(d, b + i, n - i), s1);
  }
  return ReduceSum(d, hn::Add(hn::Add(s0, s1), hn::Add(s2, s3)));
}

// Long sums run in float lanes within chunks of kSumChunk elements and in
// double across chunks, so rounding error stays that of a chunk instead of
// growing with n (which matters most on targets with few lanes).
inline constexpr size_t kSumChunk = 4096;

template <class Partial>
HWY_INLINE double ChunkedSum(size_t n, const Partial& partial) {
  double total = 0.0;
  for (size_t begin = 0; begin < n; begin += kSumChunk) {
    total += partial(begin, n - begin < kSumChunk ? n - begin : kSumChunk);
  }
  return total;
}

HWY_INLINE float RowMax(const float* x, size_t n) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  const float kNegInf = -std::numeric_limits<float>::infinity();
  auto m0 = hn::Set(d, kNegInf);
  auto m1 = m0;
  size_t i = 0;
  for (; i + 2 * N <= n; i += 2 * N) {
    m0 = hn::Max(m0, hn::LoadU(d, x + i));
    m1 = hn::Max(m1, hn::LoadU(d, x + i + N));
  }
  for (; i + N <= n; i += N) m0 = hn::Max(m0, hn::LoadU(d, x + i));
  if (i < n) m0 = hn::Max(m0, LoadTail(d, x + i, n - i, kNegInf));
  return ReduceMax(d, hn::Max(m0, m1));
}

}  // namespace smallmind::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // SMALLMIND_KERNELS_REDUCTIONS_INL_H_
