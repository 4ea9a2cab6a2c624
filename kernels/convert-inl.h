// Per-target code for kernels/convert.h: F16/BF16 bits and GGML's block
// quantization, one row or block at a time.

#if defined(SMALLMIND_KERNELS_CONVERT_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SMALLMIND_KERNELS_CONVERT_INL_H_
#undef SMALLMIND_KERNELS_CONVERT_INL_H_
#else
#define SMALLMIND_KERNELS_CONVERT_INL_H_
#endif

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "core/dtype.h"
#include "core/half.h"
#include "hwy/highway.h"
#include "kernels/simd_util-inl.h"

HWY_BEFORE_NAMESPACE();
namespace smallmind::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using core::BlockQ4_0;
using core::BlockQ8_0;
using core::kQuantBlock;

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

// Up to one block of floats per vector.
using BlockF = hn::CappedTag<float, kQuantBlock>;

HWY_INLINE void QuantizeBlockQ8_0(const float* HWY_RESTRICT x, BlockQ8_0* y) {
  const BlockF d;
  const hn::Rebind<int8_t, BlockF> d8;
  const size_t N = hn::Lanes(d);
  auto amax = hn::Zero(d);
  for (size_t j = 0; j < kQuantBlock; j += N) {
    amax = hn::Max(amax, hn::Abs(hn::LoadU(d, x + j)));
  }
  const float scale = ReduceMax(d, amax) / 127.0f;
  const float inv = scale != 0.0f ? 1.0f / scale : 0.0f;
  y->d = core::F32ToF16(scale);
  const auto vinv = hn::Set(d, inv);
  for (size_t j = 0; j < kQuantBlock; j += N) {
    const auto q = hn::NearestInt(hn::Mul(hn::LoadU(d, x + j), vinv));
    hn::StoreU(hn::DemoteTo(d8, q), d8, y->qs + j);
  }
}

HWY_INLINE void QuantizeBlockQ4_0(const float* HWY_RESTRICT x, BlockQ4_0* y) {
  float max = 0.0f, amax = 0.0f;
  for (size_t j = 0; j < kQuantBlock; ++j) {
    if (std::fabs(x[j]) > amax) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  const float scale = max / -8.0f;
  const float inv = scale != 0.0f ? 1.0f / scale : 0.0f;
  y->d = core::F32ToF16(scale);
  const BlockF d;
  const hn::RebindToSigned<BlockF> di;
  const size_t N = hn::Lanes(d);
  alignas(HWY_MAX_BYTES) int32_t q[kQuantBlock];
  for (size_t j = 0; j < kQuantBlock; j += N) {
    // Multiply, then add (not fused), to round exactly as GGML does.
    const auto v = hn::Floor(
        hn::Add(hn::Mul(hn::LoadU(d, x + j), hn::Set(d, inv)), hn::Set(d, 8.5f)));
    hn::StoreU(hn::Min(hn::ConvertTo(di, v), hn::Set(di, 15)), di, q + j);
  }
  for (size_t j = 0; j < kQuantBlock / 2; ++j) {
    y->qs[j] = static_cast<uint8_t>(q[j] | (q[j + kQuantBlock / 2] << 4));
  }
}

HWY_INLINE void DequantizeBlockQ8_0(const BlockQ8_0& b, float* HWY_RESTRICT y) {
  const BlockF d;
  const hn::RebindToSigned<BlockF> di;
  const hn::Rebind<int8_t, BlockF> d8;
  const size_t N = hn::Lanes(d);
  const auto scale = hn::Set(d, core::F16ToF32(b.d));
  for (size_t j = 0; j < kQuantBlock; j += N) {
    const auto q = hn::PromoteTo(di, hn::LoadU(d8, b.qs + j));
    hn::StoreU(hn::Mul(hn::ConvertTo(d, q), scale), d, y + j);
  }
}

HWY_INLINE void DequantizeBlockQ4_0(const BlockQ4_0& b, float* HWY_RESTRICT y) {
  const hn::CappedTag<float, kQuantBlock / 2> d;
  const hn::RebindToSigned<decltype(d)> di;
  const hn::Rebind<uint8_t, decltype(d)> du8;
  const size_t N = hn::Lanes(d);
  const auto scale = hn::Set(d, core::F16ToF32(b.d));
  const auto k8 = hn::Set(di, 8);
  for (size_t j = 0; j < kQuantBlock / 2; j += N) {
    const auto raw = hn::PromoteTo(di, hn::LoadU(du8, b.qs + j));
    const auto lo = hn::Sub(hn::And(raw, hn::Set(di, 0xF)), k8);
    const auto hi = hn::Sub(hn::ShiftRight<4>(raw), k8);
    hn::StoreU(hn::Mul(hn::ConvertTo(d, lo), scale), d, y + j);
    hn::StoreU(hn::Mul(hn::ConvertTo(d, hi), scale), d, y + j + kQuantBlock / 2);
  }
}

}  // namespace smallmind::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // SMALLMIND_KERNELS_CONVERT_INL_H_
