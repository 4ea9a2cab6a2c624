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

// Loads `count` < Lanes(d) elements, filling the remaining lanes with `fill`.
template <class D, typename T = hn::TFromD<D>>
HWY_INLINE hn::Vec<D> LoadTail(D d, const T* HWY_RESTRICT p, size_t count,
                               T fill = T()) {
  alignas(HWY_MAX_BYTES) T buf[HWY_MAX_BYTES / sizeof(T)];
  for (size_t i = 0; i < hn::Lanes(d); ++i) buf[i] = fill;
  std::memcpy(buf, p, count * sizeof(T));
  return hn::Load(d, buf);
}

// Stores the first `count` < Lanes(d) lanes of `v`.
template <class D, typename T = hn::TFromD<D>>
HWY_INLINE void StoreTail(D d, hn::Vec<D> v, T* HWY_RESTRICT p, size_t count) {
  alignas(HWY_MAX_BYTES) T buf[HWY_MAX_BYTES / sizeof(T)];
  hn::Store(v, d, buf);
  std::memcpy(p, buf, count * sizeof(T));
}

// e^x for x in [-87, 88] (callers clamp), to about 2 ulp. x = n·ln2 + r
// with |r| <= ln2/2: adding 1.5·2^23 rounds x·log2(e) to the integer n and
// leaves n in the sum's low mantissa bits, which shifted into the exponent
// field give 2^n; ln2 is split in two for an exact reduction; e^r is a
// degree-5 polynomial fitted for minimal relative error on that interval
// (7.5e-8 exactly, 2.1e-7 as evaluated in float, as good as degree-6
// Taylor). Cheaper than hn::Exp, which also handles the whole float range.
template <class D, class V = hn::Vec<D>>
HWY_INLINE V ExpClamped(D d, V x) {
  const hn::RebindToSigned<D> di;
  const V magic = hn::Set(d, 12582912.0f);
  const V t = hn::MulAdd(x, hn::Set(d, 1.44269504088896341f), magic);
  const V n = hn::Sub(t, magic);
  V r = hn::NegMulAdd(n, hn::Set(d, 0.693145751953125f), x);
  r = hn::NegMulAdd(n, hn::Set(d, 1.428606765330187e-6f), r);
  V p = hn::Set(d, 0.00829813f);
  p = hn::MulAdd(p, r, hn::Set(d, 0.04191541f));
  p = hn::MulAdd(p, r, hn::Set(d, 0.16667568f));
  p = hn::MulAdd(p, r, hn::Set(d, 0.49998895f));
  p = hn::MulAdd(p, r, hn::Set(d, 0.99999969f));
  p = hn::MulAdd(p, r, hn::Set(d, 1.00000007f));
  const auto bits = hn::ShiftLeft<23>(hn::Add(hn::BitCast(di, t), hn::Set(di, 127)));
  return hn::Mul(p, hn::BitCast(d, bits));
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
