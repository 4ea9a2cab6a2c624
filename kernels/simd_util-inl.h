// Per-target helpers shared by the kernel families: tails and reductions.
//
// Highway 1.0.3's MaskedLoad reads a whole vector on some targets, which
// would run past the end of a buffer; tails go through a stack buffer
// instead, so no kernel touches memory it was not given.

#if defined(SMALLMIND_KERNELS_SIMD_UTIL_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SMALLMIND_KERNELS_SIMD_UTIL_INL_H_
#undef SMALLMIND_KERNELS_SIMD_UTIL_INL_H_
#else
#define SMALLMIND_KERNELS_SIMD_UTIL_INL_H_
#endif

#include <cstddef>
#include <cstring>

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace smallmind::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Largest vector in bytes over all x86 targets (AVX-512).
inline constexpr size_t kMaxVectorBytes = 64;

// Loads `count` < Lanes(d) elements, filling the remaining lanes with `fill`.
template <class D, typename T = hn::TFromD<D>>
HWY_INLINE hn::Vec<D> LoadTail(D d, const T* HWY_RESTRICT p, size_t count,
                               T fill = T()) {
  alignas(kMaxVectorBytes) T buf[kMaxVectorBytes / sizeof(T)];
  for (size_t i = 0; i < hn::Lanes(d); ++i) buf[i] = fill;
  std::memcpy(buf, p, count * sizeof(T));
  return hn::Load(d, buf);
}

// Stores the first `count` < Lanes(d) lanes of `v`.
template <class D, typename T = hn::TFromD<D>>
HWY_INLINE void StoreTail(D d, hn::Vec<D> v, T* HWY_RESTRICT p, size_t count) {
  alignas(kMaxVectorBytes) T buf[kMaxVectorBytes / sizeof(T)];
  hn::Store(v, d, buf);
  std::memcpy(p, buf, count * sizeof(T));
}

template <class D>
HWY_INLINE hn::TFromD<D> ReduceSum(D d, hn::Vec<D> v) {
  return hn::GetLane(hn::SumOfLanes(d, v));
}

template <class D>
HWY_INLINE hn::TFromD<D> ReduceMax(D d, hn::Vec<D> v) {
  return hn::GetLane(hn::MaxOfLanes(d, v));
}

}  // namespace smallmind::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // SMALLMIND_KERNELS_SIMD_UTIL_INL_H_
