// Per-target code for kernels/attention.h.

#if defined(SMALLMIND_KERNELS_ATTENTION_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SMALLMIND_KERNELS_ATTENTION_INL_H_
#undef SMALLMIND_KERNELS_ATTENTION_INL_H_
#else
#define SMALLMIND_KERNELS_ATTENTION_INL_H_
#endif

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "hwy/highway.h"
#include "kernels/reductions-inl.h"
#include "kernels/simd_util-inl.h"
#include "kernels/softmax-inl.h"

HWY_BEFORE_NAMESPACE();
namespace smallmind::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// out[0, kVectors·N) = Σ_p P_p·v_p[0, kVectors·N): the value rows stream once
// for kVectors independent FMA chains, which hide each other's latency.
// Every lane sums its positions in order.
template <size_t kVectors, class D>
HWY_INLINE void WeightedRowSum(D d, const float* HWY_RESTRICT probs,
                               const float* HWY_RESTRICT values, size_t stride,
                               size_t positions, float* HWY_RESTRICT out) {
  const size_t N = hn::Lanes(d);
  hn::Vec<D> acc[kVectors];
  // Unrolled, so the accumulators live in registers.
#pragma GCC unroll 4
  for (size_t k = 0; k < kVectors; ++k) acc[k] = hn::Zero(d);
  for (size_t p = 0; p < positions; ++p) {
    const auto w = hn::Set(d, probs[p]);
    const float* v = values + p * stride;
#pragma GCC unroll 4
    for (size_t k = 0; k < kVectors; ++k) acc[k] = hn::MulAdd(w, hn::LoadU(d, v + k * N), acc[k]);
  }
#pragma GCC unroll 4
  for (size_t k = 0; k < kVectors; ++k) hn::StoreU(acc[k], d, out + k * N);
}

HWY_INLINE void AttendHeadRow(const float* HWY_RESTRICT q,
                              const float* HWY_RESTRICT keys,
                              const float* HWY_RESTRICT values, size_t stride,
                              size_t positions, size_t head_dim, float scale,
                              float* HWY_RESTRICT scores, float* HWY_RESTRICT out) {
  for (size_t p = 0; p < positions; ++p) {
    scores[p] = DotF32(q, keys + p * stride, head_dim) * scale;
  }
  SoftmaxRow(scores, positions);
  // out = Σ P_p·v_p, up to four vectors of head_dim per pass (a whole head of
  // 48 or 64 on AVX-512).
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  size_t i = 0;
  for (; i + 4 * N <= head_dim; i += 4 * N) {
    WeightedRowSum<4>(d, scores, values + i, stride, positions, out + i);
  }
  switch ((head_dim - i) / N) {
    case 3: WeightedRowSum<3>(d, scores, values + i, stride, positions, out + i); break;
    case 2: WeightedRowSum<2>(d, scores, values + i, stride, positions, out + i); break;
    case 1: WeightedRowSum<1>(d, scores, values + i, stride, positions, out + i); break;
    default: break;
  }
  i += (head_dim - i) / N * N;
  if (i < head_dim) {
    const size_t r = head_dim - i;
    auto acc = hn::Zero(d);
    for (size_t p = 0; p < positions; ++p) {
      acc = hn::MulAdd(hn::Set(d, scores[p]), LoadTail(d, values + p * stride + i, r), acc);
    }
    StoreTail(d, acc, out + i, r);
  }
}

}  // namespace smallmind::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // SMALLMIND_KERNELS_ATTENTION_INL_H_
