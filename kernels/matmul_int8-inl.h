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

// The fixed-count loops below are unrolled so that accumulators live in
// registers; the scalar target has no vector registers to keep and would
// only unroll into very long functions (its compile time dominated the
// build), so there they stay loops.
#undef SM_INT8_UNROLL
#if HWY_TARGET == HWY_SCALAR || HWY_TARGET == HWY_EMU128
#define SM_INT8_UNROLL
#else
#define SM_INT8_UNROLL _Pragma("GCC unroll 16")
#endif

// Rows of X per tile: the int32 and float accumulators of a tile
// (2 · rows · 16 / lanes registers, more with two scales per block) plus
// weights and broadcasts fit the register file (32 on AVX-512, 16 below).
constexpr size_t kInt8TileRows = HWY_LANES(int32_t) >= 16 ? 8 : HWY_LANES(int32_t) >= 8 ? 2 : 1;

// Decode reads each weight once, from DRAM for large models. While it
// works on one group, it prefetches the next (quants, scales and mins
// alike), a slice per block: one group (several KiB) ahead keeps enough
// lines in flight to stream at full bandwidth.

// A packed form (see the header) as compile-time constants.
template <int kBits_, bool kSignedBytes_, size_t kSubs_, bool kMins_, int32_t kBias_>
struct Int8Form {
  static constexpr int kBits = kBits_;               // 4, 5, 6 or 8
  static constexpr bool kSignedBytes = kSignedBytes_;  // u = v + 128 (DotOps::Q8)
  static constexpr size_t kSubs = kSubs_;            // scales per block: 1 or 2
  static constexpr bool kMins = kMins_;
  static constexpr int32_t kBias = kBias_;           // u = v + kBias (nibble forms)
  static constexpr size_t kChunks = kBits == 8 ? 8 : kBits;  // 64-byte chunks per block
  static constexpr size_t kDotChunks = kBits == 8 ? 8 : 4;   // chunks with dots
};

HWY_INLINE int32_t LoadI32(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

// Bits 4.. of each byte of a plane, moved from bit `from` of the same byte
// (shifts within 32-bit lanes never carry across bytes here).
template <class V>
HWY_INLINE V PlaneBits(V plane, int from, int32_t mask) {
  const Int8DI di;
  const V moved = from <= 4 ? hn::ShiftLeftSame(plane, 4 - from)
                            : hn::ShiftRightSame(plane, from - 4);
  return hn::And(moved, hn::Set(di, mask));
}

// Y[row0 : row0 + kRows, 0:out_rows] = X rows · one packed group (+ bias).
// The fixed-count loops are unrolled so that the accumulators live in
// registers.
// `next_group`, `prefetch_stride`: what to prefetch per block (null: none).
template <class Ops, class Form, size_t kRows>
HWY_INLINE void Int8GroupTile(const uint8_t* HWY_RESTRICT quants,
                              const hwy::float16_t* HWY_RESTRICT scales,
                              const hwy::float16_t* HWY_RESTRICT mins,
                              const uint8_t* next_group, size_t prefetch_stride,
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
  constexpr size_t kSubs = Form::kSubs;
  // Chunks alternate between kSplit partial dots, so that a tile of few
  // rows still has independent chains to overlap (the dot instruction's
  // latency is several times its throughput).
  constexpr size_t kSplit = kRows >= 4 ? 1 : (kSubs == 2 ? 2 : 4) / kRows;
  // What the integer dot adds per unit of the activation sum.
  constexpr int32_t kOffset = Form::kSignedBytes ? Ops::kQ8Bias : Form::kBias;
  const size_t blocks = x.cols / kInt8Block;

  VF acc[kRows][kVecs];
SM_INT8_UNROLL
  for (size_t r = 0; r < kRows; ++r) {
SM_INT8_UNROLL
    for (size_t v = 0; v < kVecs; ++v) acc[r][v] = hn::Zero(df);
  }
  const auto low_nibbles = hn::Set(di, 0x0F0F0F0F);
  for (size_t b = 0; b < blocks; ++b) {
    const uint8_t* block = quants + b * Form::kChunks * 64;
    if (next_group != nullptr) {
      // The stride is at most one line more than the block's chunks.
      const uint8_t* ahead = next_group + b * prefetch_stride;
SM_INT8_UNROLL
      for (size_t c = 0; c <= Form::kChunks; ++c) hwy::Prefetch(ahead + c * 64);
    }
    Int8VI dots[kSubs][kSplit][kRows][kVecs];
SM_INT8_UNROLL
    for (size_t s = 0; s < kSubs; ++s) {
SM_INT8_UNROLL
      for (size_t p = 0; p < kSplit; ++p) {
SM_INT8_UNROLL
        for (size_t r = 0; r < kRows; ++r) {
SM_INT8_UNROLL
          for (size_t v = 0; v < kVecs; ++v) dots[s][p][r][v] = hn::Zero(di);
        }
      }
    }
    Int8VI planes[2][kVecs];
    if constexpr (Form::kBits == 5 || Form::kBits == 6) {
SM_INT8_UNROLL
      for (size_t v = 0; v < kVecs; ++v) {
        planes[0][v] = hn::Load(di, reinterpret_cast<const int32_t*>(block + 4 * 64) + v * kLanes);
        planes[1][v] = Form::kBits == 6
            ? hn::Load(di, reinterpret_cast<const int32_t*>(block + 5 * 64) + v * kLanes)
            : planes[0][v];
      }
    }
SM_INT8_UNROLL
    for (size_t c = 0; c < Form::kDotChunks; ++c) {
      Int8VI w[kVecs], w_high[kVecs];
SM_INT8_UNROLL
      for (size_t v = 0; v < kVecs; ++v) {
        w[v] = hn::Load(di, reinterpret_cast<const int32_t*>(block + c * 64) + v * kLanes);
        if constexpr (Form::kBits != 8) {
          w_high[v] = hn::And(hn::BitCast(di, hn::ShiftRight<4>(hn::BitCast(du, w[v]))),
                              low_nibbles);
          w[v] = hn::And(w[v], low_nibbles);
        }
        if constexpr (Form::kBits == 5) {
          w[v] = hn::Or(w[v], PlaneBits(planes[0][v], static_cast<int>(c), 0x10101010));
          w_high[v] = hn::Or(w_high[v], PlaneBits(planes[0][v], static_cast<int>(4 + c), 0x10101010));
        } else if constexpr (Form::kBits == 6) {
          w[v] = hn::Or(w[v], PlaneBits(planes[0][v], static_cast<int>(2 * c), 0x30303030));
          w_high[v] = hn::Or(w_high[v], PlaneBits(planes[1][v], static_cast<int>(2 * c), 0x30303030));
        }
      }
SM_INT8_UNROLL
      for (size_t r = 0; r < kRows; ++r) {
        const int8_t* xq = x.q + (row0 + r) * x.cols + b * kInt8Block;
        const Int8VI x4 = hn::Set(di, LoadI32(xq + 4 * c));
        if constexpr (Form::kBits != 8) {
          const Int8VI x4_high = hn::Set(di, LoadI32(xq + 16 + 4 * c));
SM_INT8_UNROLL
          for (size_t v = 0; v < kVecs; ++v) {
            Int8VI& low = dots[0][c % kSplit][r][v];
            if constexpr (kSubs == 2) {
              Int8VI& high = dots[1][c % kSplit][r][v];
              low = Ops::U8(low, w[v], x4);
              high = Ops::U8(high, w_high[v], x4_high);
            } else {
              low = Ops::U8(Ops::U8(low, w[v], x4), w_high[v], x4_high);
            }
          }
        } else {
          constexpr size_t kSub = 0;
SM_INT8_UNROLL
          for (size_t v = 0; v < kVecs; ++v) {
            Int8VI& d = dots[kSubs == 2 ? c / 4 : kSub][c % kSplit][r][v];
            d = Form::kSignedBytes ? Ops::Q8(d, w[v], x4) : Ops::U8(d, w[v], x4);
          }
        }
      }
    }
    VF w_scale[kSubs][kVecs], w_min[kSubs][kVecs];
SM_INT8_UNROLL
    for (size_t s = 0; s < kSubs; ++s) {
SM_INT8_UNROLL
      for (size_t v = 0; v < kVecs; ++v) {
        const size_t at = (b * kSubs + s) * kInt8GroupRows + v * kLanes;
        w_scale[s][v] = hn::PromoteTo(df, hn::LoadU(dh, scales + at));
        if constexpr (Form::kMins) w_min[s][v] = hn::PromoteTo(df, hn::LoadU(dh, mins + at));
      }
    }
SM_INT8_UNROLL
    for (size_t r = 0; r < kRows; ++r) {
      const size_t i = (row0 + r) * blocks + b;
      const VF x_scale = hn::Set(df, x.scale[i]);
SM_INT8_UNROLL
      for (size_t s = 0; s < kSubs; ++s) {
        const int32_t sum = kSubs == 2 ? x.sum[2 * i + s] : x.sum[2 * i] + x.sum[2 * i + 1];
        const Int8VI offset = hn::Set(di, kOffset * sum);
        const VF x_sum = hn::Set(df, x.scale[i] * static_cast<float>(sum));
SM_INT8_UNROLL
        for (size_t v = 0; v < kVecs; ++v) {
          Int8VI dot = dots[s][0][r][v];
SM_INT8_UNROLL
          for (size_t p = 1; p < kSplit; ++p) dot = hn::Add(dot, dots[s][p][r][v]);
          acc[r][v] = hn::MulAdd(hn::ConvertTo(df, hn::Sub(dot, offset)),
                                 hn::Mul(w_scale[s][v], x_scale), acc[r][v]);
          if constexpr (Form::kMins) acc[r][v] = hn::NegMulAdd(w_min[s][v], x_sum, acc[r][v]);
        }
      }
    }
  }
SM_INT8_UNROLL
  for (size_t r = 0; r < kRows; ++r) {
    float* yr = y + (row0 + r) * ldy;
SM_INT8_UNROLL
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
template <class Ops, class Form>
HWY_INLINE void Int8GroupRows(const uint8_t* group, const Int8Activations& x,
                              const float* bias, float* y, size_t ldy,
                              size_t out_rows) {
  const size_t blocks = x.cols / kInt8Block;
  const size_t scale_bytes = (blocks * Form::kSubs * kInt8GroupRows * 2 + 63) / 64 * 64;
  const uint8_t* quants = group;
  const auto* scales = reinterpret_cast<const hwy::float16_t*>(group + blocks * Form::kChunks * 64);
  const auto* mins = reinterpret_cast<const hwy::float16_t*>(
      group + blocks * Form::kChunks * 64 + scale_bytes);
  const size_t group_bytes =
      blocks * Form::kChunks * 64 + (Form::kMins ? 2 : 1) * scale_bytes;
  const size_t stride = (group_bytes + blocks - 1) / blocks;
  // Only the first pass over the group prefetches the next one; the
  // others find it in cache.
  size_t row0 = 0;
  const uint8_t* next = group + group_bytes;
  for (; row0 + kInt8TileRows <= x.rows; row0 += kInt8TileRows) {
    Int8GroupTile<Ops, Form, kInt8TileRows>(quants, scales, mins, next, stride, x, row0, bias,
                                            y, ldy, out_rows);
    next = nullptr;
  }
  // A batch of a few sequences' tokens shares one pass over the weights.
  if constexpr (kInt8TileRows > 4) {
    for (; row0 + 4 <= x.rows; row0 += 4) {
      Int8GroupTile<Ops, Form, 4>(quants, scales, mins, next, stride, x, row0, bias, y, ldy,
                                  out_rows);
      next = nullptr;
    }
  }
  // The last rows, one at a time (prefill's tail, and decode).
  for (; row0 < x.rows; ++row0) {
    Int8GroupTile<Ops, Form, 1>(quants, scales, mins, next, stride, x, row0, bias, y, ldy,
                                out_rows);
    next = nullptr;
  }
}

// Quantizes one row of `cols` (a multiple of 32).
HWY_INLINE void QuantizeActivationRow(const float* HWY_RESTRICT x, size_t cols,
                                      int8_t* HWY_RESTRICT q,
                                      float* HWY_RESTRICT scale,
                                      int32_t* HWY_RESTRICT sum) {
  // At most 16 lanes, so that each vector lies within one half block.
  const hn::CappedTag<float, kInt8Block / 2> d;
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
    for (size_t half = 0; half < 2; ++half) {
      auto total = hn::Zero(di);
      for (size_t j = half * kInt8Block / 2; j < (half + 1) * kInt8Block / 2; j += N) {
        const auto qi = hn::NearestInt(hn::Mul(hn::LoadU(d, xb + j), inv));
        total = hn::Add(total, qi);
        hn::StoreU(hn::DemoteTo(d8, qi), d8, q + b * kInt8Block + j);
      }
      sum[2 * b + half] = ReduceSum(di, total);
    }
    scale[b] = s;
  }
}

}  // namespace smallmind::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // SMALLMIND_KERNELS_MATMUL_INT8_INL_H_
