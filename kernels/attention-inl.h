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

HWY_INLINE void AttendHeadRow(const float* HWY_RESTRICT q,
                              const float* HWY_RESTRICT keys,
                              const float* HWY_RESTRICT values, size_t stride,
                              size_t positions, size_t head_dim, float scale,
                              float* HWY_RESTRICT scores, float* HWY_RESTRICT out) {
  for (size_t p = 0; p < positions; ++p) {
    scores[p] = DotF32(q, keys + p * stride, head_dim) * scale;
  }
  SoftmaxRow(scores, positions);
  // out = Σ P_p·v_p, a vector of head_dim at a time (head_dim is small).
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  size_t i = 0;
  for (; i + N <= head_dim; i += N) {
    auto acc = hn::Zero(d);
    for (size_t p = 0; p < positions; ++p) {
      acc = hn::MulAdd(hn::Set(d, scores[p]), hn::LoadU(d, values + p * stride + i), acc);
    }
    hn::StoreU(acc, d, out + i);
  }
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
