// Per-target code for kernels/matmul_int8.h.
//
// The one operation Highway 1.0.3 lacks is the u8 × s8 dot of four byte
// pairs per int32 lane; `DotOps` supplies it per target with the
// instruction each has, and everything around it (loads, broadcasts, the
// float scaling) is portable Highway code.

#if defined(SMALLMIND_KERNELS_MATMUL_INT8_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SMALLMIND_KERNELS_MATMUL_INT8_INL_H_
#undef SMALLMIND_KERNELS_MATMUL_INT8_INL_H_
#else
#define SMALLMIND_KERNELS_MATMUL_INT8_INL_H_
#endif

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "hwy/cache_control.h"
#include "hwy/highway.h"
#include "kernels/matmul_int8.h"
#include "kernels/simd_util-inl.h"

HWY_BEFORE_NAMESPACE();
namespace smallmind::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using Int8DI = hn::ScalableTag<int32_t>;
using Int8VI = hn::Vec<Int8DI>;

// Each op returns acc + Σ_j w_j·x_j over the four byte pairs of every int32
// lane, w unsigned and x signed:
//   U8(acc, w, x): exact when every w <= 127 (Q4_0's nibbles) on every
//                  target, and for any w where kQ8Bias is 128 (VNNI).
//   Q8(acc, w, x): for Q8_0's stored bytes w = q + 128; returns
//                  acc + Σ q·x + kQ8Bias·Σ x, exact.
#if HWY_TARGET == HWY_AVX3_DL
struct DotOps {
  static constexpr int32_t kQ8Bias = 128;
  // AVX512-VNNI's vpdpbusd. Highway 1.0.3's AVX3_DL target enables
  // "avxvnni" rather than "avx512vnni", so GCC refuses the intrinsic there;
  // the instruction itself is what the target's CPUs have.
  static HWY_INLINE Int8VI U8(Int8VI acc, Int8VI w, Int8VI x) {
    __m512i r = acc.raw;
    asm("vpdpbusd %2, %1, %0" : "+v"(r) : "v"(w.raw), "v"(x.raw));
    return Int8VI{r};
  }
  static HWY_INLINE Int8VI Q8(Int8VI acc, Int8VI w, Int8VI x) { return U8(acc, w, x); }
};
#elif HWY_TARGET == HWY_AVX3
struct DotOps {
  static constexpr int32_t kQ8Bias = 0;
  static HWY_INLINE Int8VI U8(Int8VI acc, Int8VI w, Int8VI x) {
    const __m512i pairs = _mm512_maddubs_epi16(w.raw, x.raw);
    return Int8VI{_mm512_add_epi32(acc.raw, _mm512_madd_epi16(pairs, _mm512_set1_epi16(1)))};
  }
  // |q| times x with q's sign: the int16 pair sums stay within 2·128·127.
  static HWY_INLINE Int8VI Q8(Int8VI acc, Int8VI w, Int8VI x) {
    const __m512i q = _mm512_xor_si512(w.raw, _mm512_set1_epi8(static_cast<char>(0x80)));
    const __m512i signed_x = _mm512_mask_sub_epi8(x.raw, _mm512_movepi8_mask(q),
                                                  _mm512_setzero_si512(), x.raw);
    return U8(acc, Int8VI{_mm512_abs_epi8(q)}, Int8VI{signed_x});
  }
};
#elif HWY_TARGET == HWY_AVX2
template <bool kVnni>
struct DotOpsAvx2 {
  static constexpr int32_t kQ8Bias = kVnni ? 128 : 0;
  static HWY_INLINE Int8VI U8(Int8VI acc, Int8VI w, Int8VI x) {
    if constexpr (kVnni) {
      // AVX-VNNI's VEX-encoded vpdpbusd; GCC 12 has no intrinsic for it
      // inside Highway's AVX2 target.
      __m256i r = acc.raw;
      asm("%{vex%} vpdpbusd %2, %1, %0" : "+x"(r) : "x"(w.raw), "x"(x.raw));
      return Int8VI{r};
    } else {
      const __m256i pairs = _mm256_maddubs_epi16(w.raw, x.raw);
      return Int8VI{_mm256_add_epi32(acc.raw, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)))};
    }
  }
  static HWY_INLINE Int8VI Q8(Int8VI acc, Int8VI w, Int8VI x) {
    if constexpr (kVnni) return U8(acc, w, x);
    const __m256i q = _mm256_xor_si256(w.raw, _mm256_set1_epi8(static_cast<char>(0x80)));
    return U8(acc, Int8VI{_mm256_abs_epi8(q)}, Int8VI{_mm256_sign_epi8(x.raw, q)});
  }
};
#elif HWY_TARGET == HWY_SSE4 || HWY_TARGET == HWY_SSSE3
struct DotOps {
  static constexpr int32_t kQ8Bias = 0;
  static HWY_INLINE Int8VI U8(Int8VI acc, Int8VI w, Int8VI x) {
    const __m128i pairs = _mm_maddubs_epi16(w.raw, x.raw);
    return Int8VI{_mm_add_epi32(acc.raw, _mm_madd_epi16(pairs, _mm_set1_epi16(1)))};
  }
  static HWY_INLINE Int8VI Q8(Int8VI acc, Int8VI w, Int8VI x) {
    const __m128i q = _mm_xor_si128(w.raw, _mm_set1_epi8(static_cast<char>(0x80)));
    return U8(acc, Int8VI{_mm_abs_epi8(q)}, Int8VI{_mm_sign_epi8(x.raw, q)});
  }
};
#else
// Scalar and other architectures: byte by byte, in int32.
struct DotOps {
  static constexpr int32_t kQ8Bias = 128;
  static HWY_INLINE Int8VI U8(Int8VI acc, Int8VI w, Int8VI x) {
    const Int8DI d;
    constexpr size_t kN = HWY_LANES(int32_t);
    int32_t a[kN], wl[kN], xl[kN];
    hn::StoreU(acc, d, a);
    hn::StoreU(w, d, wl);
    hn::StoreU(x, d, xl);
    for (size_t i = 0; i < hn::Lanes(d); ++i) {
      uint8_t wb[4];
      int8_t xb[4];
      std::memcpy(wb, &wl[i], 4);
      std::memcpy(xb, &xl[i], 4);
      for (int j = 0; j < 4; ++j) a[i] += int32_t{wb[j]} * xb[j];
    }
    return hn::LoadU(d, a);
  }
  static HWY_INLINE Int8VI Q8(Int8VI acc, Int8VI w, Int8VI x) { return U8(acc, w, x); }
};
#endif

// Rows of X per tile: the int32 and float accumulators of a tile
// (2 · rows · 16 / lanes registers) plus weights and broadcasts fit the
// register file (32 on AVX-512, 16 below).
constexpr size_t kInt8TileRows = HWY_LANES(int32_t) >= 16 ? 8 : HWY_LANES(int32_t) >= 8 ? 2 : 1;

// Decode reads each weight once, from DRAM for large models: prefetching
// this far ahead keeps enough lines in flight to stream at full bandwidth.
constexpr size_t kPrefetchAhead = 8192;

HWY_INLINE int32_t LoadI32(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

// Y[row0 : row0 + kRows, 0:out_rows] = X rows · one packed group (+ bias).
// kQ4: Q4_0's 4 chunks of nibble pairs; else Q8_0's 8 chunks. The fixed-
// count loops are unrolled so that the accumulators live in registers.
template <class Ops, bool kQ4, size_t kRows>
HWY_INLINE void Int8GroupTile(const uint8_t* HWY_RESTRICT quants,
                              const hwy::float16_t* HWY_RESTRICT scales,
                              const Int8Activations& x, size_t row0,
                              const float* HWY_RESTRICT bias, float* HWY_RESTRICT y,
                              size_t ldy, size_t out_rows) {
  const Int8DI di;
  const hn::RebindToUnsigned<Int8DI> du;
  const hn::RebindToFloat<Int8DI> df;
  const hn::Rebind<hwy::float16_t, decltype(df)> dh;
  using VF = hn::Vec<decltype(df)>;
  constexpr size_t kLanes = HWY_LANES(int32_t);
  constexpr size_t kVecs = kInt8GroupRows / kLanes;  // registers per row of Y
  constexpr size_t kChunks = kQ4 ? 4 : 8;
  // Chunks alternate between kSplit partial dots, so that a tile of few
  // rows still has independent chains to overlap (the dot instruction's
  // latency is several times its throughput).
  constexpr size_t kSplit = kRows >= 4 ? 1 : 4 / kRows;
  // What the integer dot adds per unit of the activation sum: Q4_0's
  // nibbles are q + 8, and Q8_0's bias is the target's (see DotOps).
  constexpr int32_t kOffset = kQ4 ? 8 : Ops::kQ8Bias;
  const size_t blocks = x.cols / kInt8Block;

  VF acc[kRows][kVecs];
#pragma GCC unroll 16
  for (size_t r = 0; r < kRows; ++r) {
#pragma GCC unroll 16
    for (size_t v = 0; v < kVecs; ++v) acc[r][v] = hn::Zero(df);
  }
  const auto low_nibbles = hn::Set(di, 0x0F0F0F0F);
  for (size_t b = 0; b < blocks; ++b) {
    const uint8_t* block = quants + b * kChunks * 64;
    if constexpr (kRows == 1) {
#pragma GCC unroll 16
      for (size_t c = 0; c < kChunks; ++c) hwy::Prefetch(block + kPrefetchAhead + c * 64);
    }
    Int8VI dots[kSplit][kRows][kVecs];
#pragma GCC unroll 16
    for (size_t p = 0; p < kSplit; ++p) {
#pragma GCC unroll 16
      for (size_t r = 0; r < kRows; ++r) {
#pragma GCC unroll 16
        for (size_t v = 0; v < kVecs; ++v) dots[p][r][v] = hn::Zero(di);
      }
    }
#pragma GCC unroll 16
    for (size_t c = 0; c < kChunks; ++c) {
      Int8VI w[kVecs], w_high[kVecs];
#pragma GCC unroll 16
      for (size_t v = 0; v < kVecs; ++v) {
        w[v] = hn::Load(di, reinterpret_cast<const int32_t*>(block + c * 64) + v * kLanes);
        if constexpr (kQ4) {
          w_high[v] = hn::And(hn::BitCast(di, hn::ShiftRight<4>(hn::BitCast(du, w[v]))),
                              low_nibbles);
          w[v] = hn::And(w[v], low_nibbles);
        }
      }
#pragma GCC unroll 16
      for (size_t r = 0; r < kRows; ++r) {
        const int8_t* xq = x.q + (row0 + r) * x.cols + b * kInt8Block;
        const Int8VI x4 = hn::Set(di, LoadI32(xq + 4 * c));
        if constexpr (kQ4) {
          const Int8VI x4_high = hn::Set(di, LoadI32(xq + 16 + 4 * c));
#pragma GCC unroll 16
          for (size_t v = 0; v < kVecs; ++v) {
            Int8VI& d = dots[c % kSplit][r][v];
            d = Ops::U8(Ops::U8(d, w[v], x4), w_high[v], x4_high);
          }
        } else {
#pragma GCC unroll 16
          for (size_t v = 0; v < kVecs; ++v) {
            Int8VI& d = dots[c % kSplit][r][v];
            d = Ops::Q8(d, w[v], x4);
          }
        }
      }
    }
    VF w_scale[kVecs];
#pragma GCC unroll 16
    for (size_t v = 0; v < kVecs; ++v) {
      w_scale[v] = hn::PromoteTo(df, hn::LoadU(dh, scales + b * kInt8GroupRows + v * kLanes));
    }
#pragma GCC unroll 16
    for (size_t r = 0; r < kRows; ++r) {
      const size_t i = (row0 + r) * blocks + b;
      const Int8VI offset = hn::Set(di, kOffset * x.sum[i]);
      const VF x_scale = hn::Set(df, x.scale[i]);
#pragma GCC unroll 16
      for (size_t v = 0; v < kVecs; ++v) {
        Int8VI dot = dots[0][r][v];
#pragma GCC unroll 16
        for (size_t p = 1; p < kSplit; ++p) dot = hn::Add(dot, dots[p][r][v]);
        acc[r][v] = hn::MulAdd(hn::ConvertTo(df, hn::Sub(dot, offset)),
                               hn::Mul(w_scale[v], x_scale), acc[r][v]);
      }
    }
  }
#pragma GCC unroll 16
  for (size_t r = 0; r < kRows; ++r) {
    float* yr = y + (row0 + r) * ldy;
#pragma GCC unroll 16
    for (size_t v = 0; v < kVecs; ++v) {
      const size_t first = v * kLanes;
      if (first >= out_rows) break;
      VF out = acc[r][v];
      const size_t n = out_rows - first < kLanes ? out_rows - first : kLanes;
      if (bias != nullptr) {
        out = hn::Add(out, n == kLanes ? hn::LoadU(df, bias + first)
                                       : LoadTail(df, bias + first, n));
      }
      if (n == kLanes) {
        hn::StoreU(out, df, yr + first);
      } else {
        StoreTail(df, out, yr + first, n);
      }
    }
  }
}

// Every row of X against one group, in tiles of kInt8TileRows.
template <class Ops, bool kQ4>
HWY_INLINE void Int8GroupRows(const uint8_t* group, const Int8Activations& x,
                              const float* bias, float* y, size_t ldy,
                              size_t out_rows) {
  const size_t blocks = x.cols / kInt8Block;
  const size_t chunks = kQ4 ? 4 : 8;
  const uint8_t* quants = group;
  const auto* scales =
      reinterpret_cast<const hwy::float16_t*>(group + blocks * chunks * 64);
  size_t row0 = 0;
  for (; row0 + kInt8TileRows <= x.rows; row0 += kInt8TileRows) {
    Int8GroupTile<Ops, kQ4, kInt8TileRows>(quants, scales, x, row0, bias, y, ldy, out_rows);
  }
  // The last rows, one at a time (prefill's tail, and decode).
  for (; row0 < x.rows; ++row0) {
    Int8GroupTile<Ops, kQ4, 1>(quants, scales, x, row0, bias, y, ldy, out_rows);
  }
}

// Quantizes one row of `cols` (a multiple of 32).
HWY_INLINE void QuantizeActivationRow(const float* HWY_RESTRICT x, size_t cols,
                                      int8_t* HWY_RESTRICT q,
                                      float* HWY_RESTRICT scale,
                                      int32_t* HWY_RESTRICT sum) {
  const hn::CappedTag<float, kInt8Block> d;
  const hn::RebindToSigned<decltype(d)> di;
  const hn::Rebind<int8_t, decltype(d)> d8;
  const size_t N = hn::Lanes(d);
  for (size_t b = 0; b < cols / kInt8Block; ++b) {
    const float* xb = x + b * kInt8Block;
    auto amax = hn::Zero(d);
    for (size_t j = 0; j < kInt8Block; j += N) {
      amax = hn::Max(amax, hn::Abs(hn::LoadU(d, xb + j)));
    }
    const float s = ReduceMax(d, amax) / 127.0f;
    const auto inv = hn::Set(d, s != 0.0f ? 1.0f / s : 0.0f);
    auto total = hn::Zero(di);
    for (size_t j = 0; j < kInt8Block; j += N) {
      const auto qi = hn::NearestInt(hn::Mul(hn::LoadU(d, xb + j), inv));
      total = hn::Add(total, qi);
      hn::StoreU(hn::DemoteTo(d8, qi), d8, q + b * kInt8Block + j);
    }
    scale[b] = s;
    sum[b] = ReduceSum(di, total);
  }
}

}  // namespace smallmind::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // SMALLMIND_KERNELS_MATMUL_INT8_INL_H_
