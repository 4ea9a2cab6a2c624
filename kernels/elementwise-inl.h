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

HWY_INLINE void MulRow(const float* a, const float* b, float* out, size_t n) {
  BinaryOp(a, b, out, n, [](auto x, auto y) HWY_ATTR { return hn::Mul(x, y); });
}

HWY_INLINE void AxpyRow(float alpha, const float* x, float* y, size_t n) {
  const hn::ScalableTag<float> d;
  const auto va = hn::Set(d, alpha);
  BinaryOp(x, y, y, n,
           [va](auto vx, auto vy) HWY_ATTR { return hn::MulAdd(va, vx, vy); });
}

HWY_INLINE void ScaleRow(float s, float* x, size_t n) {
  const hn::ScalableTag<float> d;
  const auto vs = hn::Set(d, s);
  BinaryOp(x, x, x, n, [vs](auto v, auto) HWY_ATTR { return hn::Mul(v, vs); });
}

// F32 -> F16 bits, the same algorithm as core::F32ToF16, lane-wise. Highway
// 1.0.3's DemoteTo truncates on targets without F16C, so it is not used.
template <class DU>
HWY_INLINE hn::Vec<DU> F32BitsToF16Bits(DU du, hn::Vec<DU> bits) {
  const hn::RebindToSigned<DU> di;
  const hn::RebindToFloat<DU> df;
  const auto abs = hn::And(bits, hn::Set(du, 0x7FFFFFFFu));
  const auto sign = hn::And(hn::ShiftRight<16>(bits), hn::Set(du, 0x8000u));
  const auto odd = hn::And(hn::ShiftRight<13>(abs), hn::Set(du, 1u));
  const auto normal = hn::ShiftRight<13>(
      hn::Sub(hn::Add(abs, hn::Add(hn::Set(du, 0xFFFu), odd)),
              hn::Set(du, 0x38000000u)));
  // Subnormal: the FPU rounds abs + 0.5 to a multiple of 2^-24.
  const auto sub = hn::Sub(
      hn::BitCast(du, hn::Add(hn::BitCast(df, abs), hn::Set(df, 0.5f))),
      hn::Set(du, 0x3F000000u));
  const auto iabs = hn::BitCast(di, abs);
  auto r = hn::IfThenElse(
      hn::RebindMask(du, hn::Lt(iabs, hn::Set(di, 0x38800000))), sub, normal);
  r = hn::IfThenElse(
      hn::RebindMask(du, hn::Gt(iabs, hn::Set(di, 0x477FEFFF))),
      hn::Set(du, 0x7C00u), r);
  const auto nan = hn::Or(hn::Set(du, 0x7E00u),
                          hn::And(hn::ShiftRight<13>(abs), hn::Set(du, 0x1FFu)));
  r = hn::IfThenElse(hn::RebindMask(du, hn::Gt(iabs, hn::Set(di, 0x7F800000))),
                     nan, r);
  return hn::Or(r, sign);
}

// F16 bits (zero-extended to 32) -> F32 bits, as core::F16ToF32.
template <class DU>
HWY_INLINE hn::Vec<DU> F16BitsToF32Bits(DU du, hn::Vec<DU> h) {
  const hn::RebindToSigned<DU> di;
  const hn::RebindToFloat<DU> df;
  const auto sign = hn::ShiftLeft<16>(hn::And(h, hn::Set(du, 0x8000u)));
  const auto em = hn::And(h, hn::Set(du, 0x7FFFu));
  const auto iem = hn::BitCast(di, em);
  const auto normal = hn::Add(hn::ShiftLeft<13>(em), hn::Set(du, 0x38000000u));
  const auto special = hn::Or(hn::ShiftLeft<13>(em), hn::Set(du, 0x7F800000u));
  const auto sub = hn::BitCast(
      du, hn::Mul(hn::ConvertTo(df, iem), hn::Set(df, 1.0f / 16777216.0f)));
  auto r = hn::IfThenElse(hn::RebindMask(du, hn::Lt(iem, hn::Set(di, 0x400))),
                          sub, normal);
  r = hn::IfThenElse(hn::RebindMask(du, hn::Gt(iem, hn::Set(di, 0x7BFF))),
                     special, r);
  return hn::Or(r, sign);
}

// F32 -> BF16 bits: round to nearest even; NaN gets the quiet bit.
template <class DU>
HWY_INLINE hn::Vec<DU> F32BitsToBF16Bits(DU du, hn::Vec<DU> bits) {
  const hn::RebindToSigned<DU> di;
  const auto odd = hn::And(hn::ShiftRight<16>(bits), hn::Set(du, 1u));
  const auto rounded =
      hn::ShiftRight<16>(hn::Add(bits, hn::Add(hn::Set(du, 0x7FFFu), odd)));
  const auto nan = hn::Or(hn::ShiftRight<16>(bits), hn::Set(du, 0x40u));
  const auto iabs = hn::BitCast(di, hn::And(bits, hn::Set(du, 0x7FFFFFFFu)));
  return hn::IfThenElse(
      hn::RebindMask(du, hn::Gt(iabs, hn::Set(di, 0x7F800000))), nan, rounded);
}

// Converts a row of 16-bit values to F32 by `widen(u32 vector) -> u32 bits`.
template <class Widen>
HWY_INLINE void HalfRowToF32(const uint16_t* HWY_RESTRICT in,
                             float* HWY_RESTRICT out, size_t n,
                             const Widen& widen) {
  const hn::ScalableTag<float> df;
  const hn::RebindToUnsigned<decltype(df)> du;
  const hn::Rebind<uint16_t, decltype(df)> d16;
  const size_t N = hn::Lanes(df);
  size_t i = 0;
  for (; i + N <= n; i += N) {
    const auto h = hn::PromoteTo(du, hn::LoadU(d16, in + i));
    hn::StoreU(hn::BitCast(df, widen(du, h)), df, out + i);
  }
  if (i < n) {
    const size_t r = n - i;
    const auto h = hn::PromoteTo(du, LoadTail(d16, in + i, r));
    StoreTail(df, hn::BitCast(df, widen(du, h)), out + i, r);
  }
}

// Converts a row of F32 to 16-bit values by `narrow(u32 bits) -> u32`.
template <class Narrow>
HWY_INLINE void F32RowToHalf(const float* HWY_RESTRICT in,
                             uint16_t* HWY_RESTRICT out, size_t n,
                             const Narrow& narrow) {
  const hn::ScalableTag<float> df;
  const hn::RebindToUnsigned<decltype(df)> du;
  const hn::RebindToSigned<decltype(df)> di;
  const hn::Rebind<uint16_t, decltype(df)> d16;
  const size_t N = hn::Lanes(df);
  // The results are < 2^16, so the saturating i32 -> u16 demotion is exact.
  auto convert = [&](hn::Vec<decltype(df)> v) HWY_ATTR {
    return hn::DemoteTo(d16, hn::BitCast(di, narrow(du, hn::BitCast(du, v))));
  };
  size_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(convert(hn::LoadU(df, in + i)), d16, out + i);
  if (i < n) {
    const size_t r = n - i;
    StoreTail(d16, convert(LoadTail(df, in + i, r)), out + i, r);
  }
}


}  // namespace smallmind::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // SMALLMIND_KERNELS_ELEMENTWISE_INL_H_
