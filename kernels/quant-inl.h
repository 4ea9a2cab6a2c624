// Per-target code for kernels/quant.h; the tiled backend's quantized
// matmul includes it too.

#if defined(SMALLMIND_KERNELS_QUANT_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SMALLMIND_KERNELS_QUANT_INL_H_
#undef SMALLMIND_KERNELS_QUANT_INL_H_
#else
#define SMALLMIND_KERNELS_QUANT_INL_H_
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
  alignas(kMaxVectorBytes) int32_t q[kQuantBlock];
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

// int16 lanes covering up to one block; products summed pairwise to int32.
using BlockI16 = hn::CappedTag<int16_t, kQuantBlock>;
using HalfBlockI16 = hn::CappedTag<int16_t, kQuantBlock / 2>;

// Σ over `blocks` of d_a·d_b·Σ a.qs·b.qs.
HWY_INLINE float DotBlocksQ8_0(const BlockQ8_0* HWY_RESTRICT a,
                               const BlockQ8_0* HWY_RESTRICT b, size_t blocks) {
  const BlockI16 d16;
  const hn::Rebind<int8_t, BlockI16> d8;
  const hn::RepartitionToWide<BlockI16> d32;
  const hn::RebindToFloat<decltype(d32)> df;
  const size_t N = hn::Lanes(d16);
  auto acc = hn::Zero(df);
  for (size_t blk = 0; blk < blocks; ++blk) {
    auto sum0 = hn::Zero(d32), sum1 = hn::Zero(d32);
    for (size_t j = 0; j < kQuantBlock; j += N) {
      const auto va = hn::PromoteTo(d16, hn::LoadU(d8, a[blk].qs + j));
      const auto vb = hn::PromoteTo(d16, hn::LoadU(d8, b[blk].qs + j));
      sum0 = hn::ReorderWidenMulAccumulate(d32, va, vb, sum0, sum1);
    }
    const float scale = core::F16ToF32(a[blk].d) * core::F16ToF32(b[blk].d);
    acc = hn::MulAdd(hn::ConvertTo(df, hn::Add(sum0, sum1)), hn::Set(df, scale),
                     acc);
  }
  return ReduceSum(df, acc);
}

// Σ over `blocks` of d_w·d_x·Σ (nibble - 8)·x.qs.
HWY_INLINE float DotBlocksQ4_0Q8_0(const BlockQ4_0* HWY_RESTRICT w,
                                   const BlockQ8_0* HWY_RESTRICT x,
                                   size_t blocks) {
  const HalfBlockI16 d16;
  const hn::Rebind<int8_t, HalfBlockI16> d8;
  const hn::Rebind<uint8_t, HalfBlockI16> du8;
  const hn::RepartitionToWide<HalfBlockI16> d32;
  const hn::RebindToFloat<decltype(d32)> df;
  const size_t N = hn::Lanes(d16);
  const auto k8 = hn::Set(d16, 8);
  const auto kLow = hn::Set(d16, 0xF);
  auto acc = hn::Zero(df);
  for (size_t blk = 0; blk < blocks; ++blk) {
    auto sum0 = hn::Zero(d32), sum1 = hn::Zero(d32);
    for (size_t j = 0; j < kQuantBlock / 2; j += N) {
      const auto raw = hn::PromoteTo(d16, hn::LoadU(du8, w[blk].qs + j));
      const auto lo = hn::Sub(hn::And(raw, kLow), k8);
      const auto hi = hn::Sub(hn::ShiftRight<4>(raw), k8);
      const auto xlo = hn::PromoteTo(d16, hn::LoadU(d8, x[blk].qs + j));
      const auto xhi =
          hn::PromoteTo(d16, hn::LoadU(d8, x[blk].qs + j + kQuantBlock / 2));
      sum0 = hn::ReorderWidenMulAccumulate(d32, lo, xlo, sum0, sum1);
      sum0 = hn::ReorderWidenMulAccumulate(d32, hi, xhi, sum0, sum1);
    }
    const float scale = core::F16ToF32(w[blk].d) * core::F16ToF32(x[blk].d);
    acc = hn::MulAdd(hn::ConvertTo(df, hn::Add(sum0, sum1)), hn::Set(df, scale),
                     acc);
  }
  return ReduceSum(df, acc);
}

}  // namespace smallmind::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // SMALLMIND_KERNELS_QUANT_INL_H_
