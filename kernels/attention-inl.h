// Per-target code for kernels/attention.h.

#if defined(SMALLMIND_KERNELS_ATTENTION_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SMALLMIND_KERNELS_ATTENTION_INL_H_
#undef SMALLMIND_KERNELS_ATTENTION_INL_H_
#else
#define SMALLMIND_KERNELS_ATTENTION_INL_H_
#endif

#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <type_traits>

#include "core/dtype.h"
#include "core/half.h"
#include "hwy/cache_control.h"
#include "hwy/highway.h"
#include "kernels/attention.h"
#include "kernels/reductions-inl.h"
#include "kernels/simd_util-inl.h"
#include "kernels/softmax-inl.h"

HWY_BEFORE_NAMESPACE();
namespace smallmind::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// How a stored row is read: Load(d, row, i) widens elements [i, i + N) to
// f32 without their block's scale (i a multiple of N, N dividing the
// block), Scale(row, i) is the scale of the block holding element i (1 for
// the float types, which have no blocks), At(row, i) one element (the
// float types' tails).
struct RowF32 {
  static constexpr bool kBlocks = false;
  template <class D>
  static HWY_INLINE hn::Vec<D> Load(D d, const uint8_t* row, size_t i) {
    return hn::LoadU(d, reinterpret_cast<const float*>(row) + i);
  }
  static HWY_INLINE float Scale(const uint8_t*, size_t) { return 1.0f; }
  static HWY_INLINE float At(const uint8_t* row, size_t i) {
    float f;
    std::memcpy(&f, row + i * sizeof(float), sizeof(f));
    return f;
  }
};

struct RowF16 {
  static constexpr bool kBlocks = false;
  template <class D>
  static HWY_INLINE hn::Vec<D> Load(D d, const uint8_t* row, size_t i) {
    const hn::Rebind<hwy::float16_t, D> dh;
    return hn::PromoteTo(d, hn::LoadU(dh, reinterpret_cast<const hwy::float16_t*>(row) + i));
  }
  static HWY_INLINE float Scale(const uint8_t*, size_t) { return 1.0f; }
  static HWY_INLINE float At(const uint8_t* row, size_t i) {
    uint16_t h;
    std::memcpy(&h, row + i * sizeof(h), sizeof(h));
    return core::F16ToF32(h);
  }
};

struct RowBF16 {
  static constexpr bool kBlocks = false;
  template <class D>
  static HWY_INLINE hn::Vec<D> Load(D d, const uint8_t* row, size_t i) {
    const hn::RebindToUnsigned<D> du;
    const hn::Rebind<uint16_t, D> d16;
    const auto h = hn::PromoteTo(du, hn::LoadU(d16, reinterpret_cast<const uint16_t*>(row) + i));
    return hn::BitCast(d, hn::ShiftLeft<16>(h));
  }
  static HWY_INLINE float Scale(const uint8_t*, size_t) { return 1.0f; }
  static HWY_INLINE float At(const uint8_t* row, size_t i) {
    uint16_t b;
    std::memcpy(&b, row + i * sizeof(b), sizeof(b));
    return core::BF16ToF32(b);
  }
};

// A block's F16 scale, converted by the target's instruction where it has
// one (core::F16ToF32 is a dozen scalar operations).
HWY_INLINE float BlockScale(const uint16_t& bits) {
  const hn::CappedTag<float, 1> d1;
  const hn::Rebind<hwy::float16_t, decltype(d1)> dh1;
  const auto* half = reinterpret_cast<const hwy::float16_t*>(&bits);
  return hn::GetLane(hn::PromoteTo(d1, hn::LoadU(dh1, half)));
}

struct RowQ8_0 {
  static constexpr bool kBlocks = true;
  static HWY_INLINE const core::BlockQ8_0& Block(const uint8_t* row, size_t i) {
    return reinterpret_cast<const core::BlockQ8_0*>(row)[i / core::kQuantBlock];
  }
  template <class D>
  static HWY_INLINE hn::Vec<D> Load(D d, const uint8_t* row, size_t i) {
    const hn::RebindToSigned<D> di;
    const hn::Rebind<int8_t, D> d8;
    const int8_t* qs = Block(row, i).qs + i % core::kQuantBlock;
    return hn::ConvertTo(d, hn::PromoteTo(di, hn::LoadU(d8, qs)));
  }
  static HWY_INLINE float Scale(const uint8_t* row, size_t i) {
    return BlockScale(Block(row, i).d);
  }
};

// A Q4_0 block's byte j holds element j in its low nibble and element
// j + 16 in its high one.
struct RowQ4_0 {
  static constexpr bool kBlocks = true;
  static HWY_INLINE const core::BlockQ4_0& Block(const uint8_t* row, size_t i) {
    return reinterpret_cast<const core::BlockQ4_0*>(row)[i / core::kQuantBlock];
  }
  template <class D>
  static HWY_INLINE hn::Vec<D> Load(D d, const uint8_t* row, size_t i) {
    constexpr size_t kHalf = core::kQuantBlock / 2;
    const hn::RebindToSigned<D> di;
    const hn::Rebind<uint8_t, D> d8;
    const size_t j = i % core::kQuantBlock;
    const auto raw = hn::PromoteTo(di, hn::LoadU(d8, Block(row, i).qs + j % kHalf));
    const auto nibble = j < kHalf ? hn::And(raw, hn::Set(di, 0xF)) : hn::ShiftRight<4>(raw);
    return hn::ConvertTo(d, hn::Sub(nibble, hn::Set(di, 8)));
  }
  static HWY_INLINE float Scale(const uint8_t* row, size_t i) {
    return BlockScale(Block(row, i).d);
  }
};

// Calls fn(Row{}) for the reader of `dtype` (one of IsAttentionType's).
template <class Fn>
HWY_INLINE void WithRow(core::DType dtype, const Fn& fn) {
  switch (dtype) {
    case core::DType::kF16: return fn(RowF16{});
    case core::DType::kBF16: return fn(RowBF16{});
    case core::DType::kQ8_0: return fn(RowQ8_0{});
    case core::DType::kQ4_0: return fn(RowQ4_0{});
    default: return fn(RowF32{});
  }
}

// Row `row` widened to floats: n elements, then zeros up to n_padded.
template <class Row>
HWY_INLINE void WidenRow(const uint8_t* HWY_RESTRICT row, size_t n, size_t n_padded,
                         float* HWY_RESTRICT out) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  size_t i = 0;
  if constexpr (Row::kBlocks) {
    for (; i < n; i += core::kQuantBlock) {
      const auto scale = hn::Set(d, Row::Scale(row, i));
      for (size_t k = i; k < i + core::kQuantBlock; k += N) {
        hn::StoreU(hn::Mul(Row::Load(d, row, k), scale), d, out + k);
      }
    }
  } else {
    for (; i + N <= n; i += N) hn::StoreU(Row::Load(d, row, i), d, out + i);
    for (; i < n; ++i) out[i] = Row::At(row, i);
  }
  for (; i < n_padded; ++i) out[i] = 0.0f;
}

// The parts of AttendBlock's scratch, for a head padded to a whole number
// of vectors.
struct BlockScratch {
  float* keys_t;  // [head_pad][kKeyTile]: the tile's keys, transposed
  float* values;  // [kKeyTile][head_pad]
  float* row;     // [head_pad]: one key being widened
  float* scores;  // [2][kKeyTile]: two queries' scores, then weights
  float* acc;     // [queries][head_pad]
  float* max;     // [queries]
  float* sum;     // [queries]
};

HWY_INLINE size_t PaddedHead(size_t head_dim) {
  const size_t N = hn::Lanes(hn::ScalableTag<float>());
  return (head_dim + N - 1) / N * N;
}

HWY_INLINE BlockScratch CarveScratch(float* s, size_t queries, size_t head_pad) {
  BlockScratch b;
  b.keys_t = s;
  b.values = b.keys_t + head_pad * kKeyTile;
  b.row = b.values + kKeyTile * head_pad;
  b.scores = b.row + head_pad;
  b.acc = b.scores + 2 * kKeyTile;
  b.max = b.acc + queries * head_pad;
  b.sum = b.max + queries;
  return b;
}

// For kQ queries at once, acc_q[0, kVectors·N) = acc_q·factor_q +
// Σ_j p_q[j]·v_j: the accumulators stay in registers over the tile's keys,
// and each value vector loaded serves every query.
template <size_t kQ, size_t kVectors, class D>
HWY_INLINE void ScaledValueSum(D d, float* const* p, const float* HWY_RESTRICT v,
                               size_t v_stride, size_t keys, const float* factor,
                               float* const* acc) {
  const size_t N = hn::Lanes(d);
  hn::Vec<D> a[kQ][kVectors];
#pragma GCC unroll 4
  for (size_t q = 0; q < kQ; ++q) {
    const auto f = hn::Set(d, factor[q]);
#pragma GCC unroll 4
    for (size_t k = 0; k < kVectors; ++k) a[q][k] = hn::Mul(hn::LoadU(d, acc[q] + k * N), f);
  }
  for (size_t j = 0; j < keys; ++j) {
    hn::Vec<D> w[kQ];
#pragma GCC unroll 4
    for (size_t q = 0; q < kQ; ++q) w[q] = hn::Set(d, p[q][j]);
#pragma GCC unroll 4
    for (size_t k = 0; k < kVectors; ++k) {
      const auto vk = hn::LoadU(d, v + j * v_stride + k * N);
#pragma GCC unroll 4
      for (size_t q = 0; q < kQ; ++q) a[q][k] = hn::MulAdd(w[q], vk, a[q][k]);
    }
  }
#pragma GCC unroll 4
  for (size_t q = 0; q < kQ; ++q) {
#pragma GCC unroll 4
    for (size_t k = 0; k < kVectors; ++k) hn::StoreU(a[q][k], d, acc[q] + k * N);
  }
}

// For kQ queries at once, scores_q[0, kVectors·N) = q · keys_t[:, 0,
// kVectors·N): each query broadcast one element at a time, the tile's keys
// side by side in the lanes, each key vector loaded serving every query.
template <size_t kQ, size_t kVectors, class D>
HWY_INLINE void TileScores(D d, const float* const* q, size_t head_dim,
                           const float* HWY_RESTRICT keys_t, float* const* scores) {
  const size_t N = hn::Lanes(d);
  hn::Vec<D> a[kQ][kVectors];
#pragma GCC unroll 4
  for (size_t x = 0; x < kQ; ++x) {
#pragma GCC unroll 4
    for (size_t k = 0; k < kVectors; ++k) a[x][k] = hn::Zero(d);
  }
  for (size_t i = 0; i < head_dim; ++i) {
    hn::Vec<D> qi[kQ];
#pragma GCC unroll 4
    for (size_t x = 0; x < kQ; ++x) qi[x] = hn::Set(d, q[x][i]);
#pragma GCC unroll 4
    for (size_t k = 0; k < kVectors; ++k) {
      const auto kv = hn::LoadU(d, keys_t + i * kKeyTile + k * N);
#pragma GCC unroll 4
      for (size_t x = 0; x < kQ; ++x) a[x][k] = hn::MulAdd(qi[x], kv, a[x][k]);
    }
  }
#pragma GCC unroll 4
  for (size_t x = 0; x < kQ; ++x) {
#pragma GCC unroll 4
    for (size_t k = 0; k < kVectors; ++k) hn::StoreU(a[x][k], d, scores[x] + k * N);
  }
}

// One query's tile of scores becomes its softmax weights: scaled, keys
// outside [from, to) masked, the running max and sum moved on. Returns the
// factor its accumulator is to be scaled by (0 before any key).
template <class D>
HWY_INLINE float TileSoftmax(D d, float* HWY_RESTRICT scores, size_t columns, size_t from,
                             size_t to, float scale, float* max, float* sum) {
  const size_t N = hn::Lanes(d);
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  const auto vscale = hn::Set(d, scale);
  for (size_t j = 0; j < columns; j += N) {
    hn::StoreU(hn::Mul(hn::LoadU(d, scores + j), vscale), d, scores + j);
  }
  for (size_t j = 0; j < from; ++j) scores[j] = kNegInf;
  for (size_t j = to; j < columns; ++j) scores[j] = kNegInf;
  auto tile_max = hn::Set(d, kNegInf);
  for (size_t j = 0; j < columns; j += N) tile_max = hn::Max(tile_max, hn::LoadU(d, scores + j));
  const float new_max = std::max(*max, ReduceMax(d, tile_max));
  const float factor = *max == kNegInf ? 0.0f : std::exp(*max - new_max);
  const auto vmax = hn::Set(d, new_max);
  auto tile_sum = hn::Zero(d);
  for (size_t j = 0; j < columns; j += N) {
    const auto e = ExpShifted(d, hn::LoadU(d, scores + j), vmax);
    tile_sum = hn::Add(tile_sum, e);
    hn::StoreU(e, d, scores + j);
  }
  *sum = *sum * factor + ReduceSum(d, tile_sum);
  *max = new_max;
  return factor;
}

// kQ queries (1 or 2) of a block against the tile in `s`, whose first
// `columns` keys (a multiple of 4 vectors) are filled: scores, softmax, and
// the weighted values into their accumulators. Query x is a[x], its keys
// [from[x], to[x]).
template <size_t kQ, class D>
HWY_INLINE void AttendTile(D d, const BlockScratch& s, size_t columns, const float* const* q,
                           const size_t* a, const size_t* from, const size_t* to,
                           size_t head_dim, size_t head_pad, float scale) {
  const size_t N = hn::Lanes(d);
  float* scores[kQ];
  float* acc[kQ];
  float factor[kQ];
  size_t keys = 0;
  for (size_t x = 0; x < kQ; ++x) {
    scores[x] = s.scores + x * kKeyTile;
    acc[x] = s.acc + a[x] * head_pad;
    keys = std::max(keys, to[x]);
  }
  for (size_t j = 0; j < columns; j += 4 * N) {
    float* at[kQ];
    for (size_t x = 0; x < kQ; ++x) at[x] = scores[x] + j;
    TileScores<kQ, 4>(d, q, head_dim, s.keys_t + j, at);
  }
  for (size_t x = 0; x < kQ; ++x) {
    factor[x] = TileSoftmax(d, scores[x], columns, from[x], to[x], scale, s.max + a[x],
                            s.sum + a[x]);
  }
  // Weights past a query's keys are 0, so both run to the longer range.
  size_t i = 0;
  auto sum = [&](auto vectors) HWY_ATTR {
    float* acc_i[kQ];
    for (size_t x = 0; x < kQ; ++x) acc_i[x] = acc[x] + i;
    ScaledValueSum<kQ, decltype(vectors)::value>(d, scores, s.values + i, head_pad, keys,
                                                 factor, acc_i);
  };
  for (; i + 4 * N <= head_pad; i += 4 * N) sum(std::integral_constant<size_t, 4>());
  switch ((head_pad - i) / N) {
    case 3: sum(std::integral_constant<size_t, 3>()); break;
    case 2: sum(std::integral_constant<size_t, 2>()); break;
    case 1: sum(std::integral_constant<size_t, 1>()); break;
    default: break;
  }
}

#if HWY_TARGET != HWY_SCALAR
// The sum of v's 128-bit blocks.
template <class D>
HWY_INLINE hn::Vec<hn::Full128<float>> SumBlocks(D d, hn::Vec<D> v) {
  if constexpr (hn::MaxLanes(D()) <= 4) {
    return v;
  } else {
    const hn::Half<D> dh;
    return SumBlocks(dh, hn::Add(hn::LowerHalf(dh, v), hn::UpperHalf(dh, v)));
  }
}
#endif

// out[j] = the sum of a_j's lanes, j < 4: a 4×4 transpose within each
// 128-bit block (interleaves of floats, then of pairs), then the blocks
// added. Four dot products for three operations each, where reducing each
// vector alone takes six.
template <class D, class V = hn::Vec<D>>
HWY_INLINE void StoreSumsOf4(D d, V a0, V a1, V a2, V a3, float* HWY_RESTRICT out) {
#if HWY_TARGET == HWY_SCALAR
  out[0] = hn::GetLane(a0);
  out[1] = hn::GetLane(a1);
  out[2] = hn::GetLane(a2);
  out[3] = hn::GetLane(a3);
#else
  const hn::Repartition<double, D> dd;
  const V s01 = hn::Add(hn::InterleaveLower(d, a0, a1), hn::InterleaveUpper(d, a0, a1));
  const V s23 = hn::Add(hn::InterleaveLower(d, a2, a3), hn::InterleaveUpper(d, a2, a3));
  const V blocks =
      hn::Add(hn::BitCast(d, hn::InterleaveLower(dd, hn::BitCast(dd, s01), hn::BitCast(dd, s23))),
              hn::BitCast(d, hn::InterleaveUpper(dd, hn::BitCast(dd, s01), hn::BitCast(dd, s23))));
  hn::StoreU(SumBlocks(d, blocks), hn::Full128<float>(), out);
#endif
}

// scores[j] = q·keys[j] for j < n (n a multiple of 4), the keys widened
// rows of `head_pad` floats (a whole number of vectors): four keys at a
// time, each in two FMA chains.
template <class D>
HWY_INLINE void GroupScores(D d, const float* HWY_RESTRICT q, const float* HWY_RESTRICT keys,
                            size_t head_pad, size_t n, float* HWY_RESTRICT scores) {
  const size_t N = hn::Lanes(d);
  for (size_t j = 0; j < n; j += 4) {
    const float* k = keys + j * head_pad;
    auto a0 = hn::Zero(d), a1 = hn::Zero(d), a2 = hn::Zero(d), a3 = hn::Zero(d);
    auto b0 = hn::Zero(d), b1 = hn::Zero(d), b2 = hn::Zero(d), b3 = hn::Zero(d);
    size_t i = 0;
    for (; i + 2 * N <= head_pad; i += 2 * N) {
      const auto qa = hn::LoadU(d, q + i), qb = hn::LoadU(d, q + i + N);
      a0 = hn::MulAdd(qa, hn::LoadU(d, k + i), a0);
      a1 = hn::MulAdd(qa, hn::LoadU(d, k + head_pad + i), a1);
      a2 = hn::MulAdd(qa, hn::LoadU(d, k + 2 * head_pad + i), a2);
      a3 = hn::MulAdd(qa, hn::LoadU(d, k + 3 * head_pad + i), a3);
      b0 = hn::MulAdd(qb, hn::LoadU(d, k + i + N), b0);
      b1 = hn::MulAdd(qb, hn::LoadU(d, k + head_pad + i + N), b1);
      b2 = hn::MulAdd(qb, hn::LoadU(d, k + 2 * head_pad + i + N), b2);
      b3 = hn::MulAdd(qb, hn::LoadU(d, k + 3 * head_pad + i + N), b3);
    }
    if (i < head_pad) {
      const auto qa = hn::LoadU(d, q + i);
      a0 = hn::MulAdd(qa, hn::LoadU(d, k + i), a0);
      a1 = hn::MulAdd(qa, hn::LoadU(d, k + head_pad + i), a1);
      a2 = hn::MulAdd(qa, hn::LoadU(d, k + 2 * head_pad + i), a2);
      a3 = hn::MulAdd(qa, hn::LoadU(d, k + 3 * head_pad + i), a3);
    }
    StoreSumsOf4(d, hn::Add(a0, b0), hn::Add(a1, b1), hn::Add(a2, b2), hn::Add(a3, b3),
                 scores + j);
  }
}

// One GQA group's view of AttendRow's scratch, for a head padded to a
// whole number of vectors.
struct GroupTile {
  const float* keys;    // [kRowTile][head_pad]: the tile's keys of the group's kv head, widened
  const float* values;  // [kRowTile][head_pad]
  const float* q;       // [group][head_pad]: the queries, padded
  float* scores;        // [2][kRowTile]
  float* acc;           // [group][head_pad]
  float* max;           // [group]
  float* sum;           // [group]
};

// A group's queries over the `n` keys of one tile: scores, the online
// softmax, and the weighted values into the accumulators, two queries at a
// time.
template <class D>
HWY_INLINE void AttendGroupTile(D d, const GroupTile& t, size_t group, size_t n,
                                size_t head_pad, float scale) {
  const size_t N = hn::Lanes(d);
  const size_t scored = (n + 3) / 4 * 4;
  // Whole vectors of scores: the columns past n are masked to -inf.
  const size_t columns = (n + N - 1) / N * N;
  float factor[2];
  float* p[2] = {t.scores, t.scores + kRowTile};
  for (size_t g0 = 0; g0 < group; g0 += 2) {
    const size_t kq = std::min<size_t>(2, group - g0);
    for (size_t x = 0; x < kq; ++x) {
      const size_t g = g0 + x;
      GroupScores(d, t.q + g * head_pad, t.keys, head_pad, scored, p[x]);
      factor[x] = TileSoftmax(d, p[x], columns, 0, n, scale, t.max + g, t.sum + g);
    }
    size_t i = 0;
    float* acc_i[2];
    auto sum = [&](auto q_count, auto vectors) HWY_ATTR {
      for (size_t x = 0; x < kq; ++x) acc_i[x] = t.acc + (g0 + x) * head_pad + i;
      ScaledValueSum<decltype(q_count)::value, decltype(vectors)::value>(
          d, p, t.values + i, head_pad, n, factor, acc_i);
    };
    auto sums = [&](auto q_count) HWY_ATTR {
      for (i = 0; i + 4 * N <= head_pad; i += 4 * N) {
        sum(q_count, std::integral_constant<size_t, 4>());
      }
      switch ((head_pad - i) / N) {
        case 3: sum(q_count, std::integral_constant<size_t, 3>()); break;
        case 2: sum(q_count, std::integral_constant<size_t, 2>()); break;
        case 1: sum(q_count, std::integral_constant<size_t, 1>()); break;
        default: break;
      }
    };
    if (kq == 2) {
      sums(std::integral_constant<size_t, 2>());
    } else {
      sums(std::integral_constant<size_t, 1>());
    }
  }
}

// A stored head widened to floats: WidenRow for one row type.
using WidenFn = void (*)(const uint8_t* HWY_RESTRICT row, size_t n, size_t n_padded,
                         float* HWY_RESTRICT out);

// The widening is all that depends on the stored types, so the rest is
// compiled once, not once per pair of key and value types.
HWY_INLINE WidenFn Widener(core::DType dtype) {
  WidenFn widen = nullptr;
  WithRow(dtype, [&](auto row) HWY_ATTR { widen = &WidenRow<decltype(row)>; });
  return widen;
}

HWY_INLINE void AttendRowHeads(const float* HWY_RESTRICT q, size_t heads, size_t kv_heads,
                               const StoredRows& keys, const StoredRows& values,
                               size_t positions, size_t head_dim, float scale, float* scratch,
                               float* out, size_t out_stride, bool part) {
  const hn::ScalableTag<float> d;
  const size_t head_pad = PaddedHead(head_dim);
  const size_t group = heads / kv_heads;
  const size_t head_tile = kRowTile * head_pad;
  // [kv_heads][kRowTile][head_pad] keys, then values, then queries,
  // scores, accumulators, maxima and sums.
  float* tile_keys = scratch;
  float* tile_values = tile_keys + kv_heads * head_tile;
  float* padded_q = tile_values + kv_heads * head_tile;
  float* scores = padded_q + heads * head_pad;
  float* acc = scores + 2 * kRowTile;
  float* max = acc + heads * head_pad;
  float* sum = max + heads;
  for (size_t g = 0; g < heads; ++g) {
    std::copy(q + g * head_dim, q + (g + 1) * head_dim, padded_q + g * head_pad);
    std::fill(padded_q + g * head_pad + head_dim, padded_q + (g + 1) * head_pad, 0.0f);
    max[g] = -std::numeric_limits<float>::infinity();
    sum[g] = 0.0f;
  }
  std::fill(acc, acc + heads * head_pad, 0.0f);
  const uint8_t* key_rows = static_cast<const uint8_t*>(keys.data);
  const uint8_t* value_rows = static_cast<const uint8_t*>(values.data);
  const WidenFn widen_key = Widener(keys.dtype), widen_value = Widener(values.dtype);
  // Whole blocks (the caller's contract), so BytesFor cannot fail.
  const size_t key_head = *core::BytesFor(keys.dtype, head_dim);
  const size_t value_head = *core::BytesFor(values.dtype, head_dim);
  for (size_t k0 = 0; k0 < positions; k0 += kRowTile) {
    const size_t n = std::min(kRowTile, positions - k0);
    // Whole rows, in address order: a cache row holds every kv head. The
    // next tile's lines are asked for meanwhile (~20% faster at depth than
    // the hardware prefetchers alone; prefetching past the end reads
    // nothing).
    for (size_t j = 0; j < n; ++j) {
      const uint8_t* k = key_rows + (k0 + j) * keys.stride;
      const uint8_t* v = value_rows + (k0 + j) * values.stride;
      for (size_t b = 0; b < keys.stride; b += 64) hwy::Prefetch(k + kRowTile * keys.stride + b);
      for (size_t b = 0; b < values.stride; b += 64) {
        hwy::Prefetch(v + kRowTile * values.stride + b);
      }
      for (size_t h = 0; h < kv_heads; ++h) {
        widen_key(k + h * key_head, head_dim, head_pad, tile_keys + h * head_tile + j * head_pad);
        widen_value(v + h * value_head, head_dim, head_pad,
                    tile_values + h * head_tile + j * head_pad);
      }
    }
    // Scored four at a time: the keys up to the next four are zero.
    for (size_t h = 0; h < kv_heads; ++h) {
      std::fill(tile_keys + h * head_tile + n * head_pad,
                tile_keys + h * head_tile + (n + 3) / 4 * 4 * head_pad, 0.0f);
    }
    for (size_t h = 0; h < kv_heads; ++h) {
      const size_t g = h * group;
      const GroupTile t{tile_keys + h * head_tile, tile_values + h * head_tile,
                        padded_q + g * head_pad,   scores,
                        acc + g * head_pad,        max + g,
                        sum + g};
      AttendGroupTile(d, t, group, n, head_pad, scale);
    }
  }
  for (size_t g = 0; g < heads; ++g) {
    float* o = out + g * out_stride;
    const float* a = acc + g * head_pad;
    if (part) {
      std::copy(a, a + head_dim, o);
      o[head_dim] = max[g];
      o[head_dim + 1] = sum[g];
    } else {
      const float inv = 1.0f / sum[g];
      for (size_t i = 0; i < head_dim; ++i) o[i] = a[i] * inv;
    }
  }
}

HWY_INLINE void AttendBlockRows(const QueryBlock& block, const StoredRows& keys,
                                const StoredRows& values, size_t head_dim, float scale,
                                int64_t window, float* scratch) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  const size_t head_pad = PaddedHead(head_dim);
  const size_t queries = block.rows * block.heads;
  const BlockScratch s = CarveScratch(scratch, queries, head_pad);
  for (size_t a = 0; a < queries; ++a) {
    s.max[a] = -std::numeric_limits<float>::infinity();
    s.sum[a] = 0.0f;
  }
  std::fill(s.acc, s.acc + queries * head_pad, 0.0f);
  if (block.keys > 0) window = 0;
  const int64_t last = block.keys > 0 ? block.keys - 1
                                      : block.first_position + static_cast<int64_t>(block.rows) - 1;
  const int64_t first_key =
      window > 0 ? std::max<int64_t>(0, block.first_position + 1 - window) : 0;
  const WidenFn widen_key = Widener(keys.dtype), widen_value = Widener(values.dtype);
  const uint8_t* key_rows = static_cast<const uint8_t*>(keys.data);
  const uint8_t* value_rows = static_cast<const uint8_t*>(values.data);
  for (int64_t k0 = first_key; k0 <= last; k0 += static_cast<int64_t>(kKeyTile)) {
    const size_t n_keys = static_cast<size_t>(std::min<int64_t>(kKeyTile, last + 1 - k0));
    // Whole groups of 4 vectors of keys (kKeyTile is a multiple of them on
    // every target); the ones past n_keys are zero, and masked.
    const size_t columns = (n_keys + 4 * N - 1) / (4 * N) * (4 * N);
    for (size_t j = 0; j < columns; ++j) {
      if (j < n_keys) {
        widen_key(key_rows + (k0 + j) * keys.stride, head_dim, head_pad, s.row);
        for (size_t i = 0; i < head_pad; ++i) s.keys_t[i * kKeyTile + j] = s.row[i];
        widen_value(value_rows + (k0 + j) * values.stride, head_dim, head_pad,
                           s.values + j * head_pad);
      } else {
        for (size_t i = 0; i < head_pad; ++i) s.keys_t[i * kKeyTile + j] = 0.0f;
      }
    }
    // The queries with keys in this tile, two at a time.
    const float* q[2];
    size_t a[2], from[2], to[2];
    size_t pending = 0;
    for (size_t r = 0; r < block.rows; ++r) {
      // The last position the row sees: its own, or the sequence's last.
      const int64_t pos =
          block.keys > 0 ? last : block.first_position + static_cast<int64_t>(r);
      if (k0 > pos) continue;  // the tile is in this row's future
      const int64_t lo = window > 0 ? pos + 1 - window : 0;
      if (k0 + static_cast<int64_t>(n_keys) <= lo) continue;  // the tile is before its window
      for (size_t h = 0; h < block.heads; ++h) {
        q[pending] = block.q + r * block.q_stride + h * head_dim;
        a[pending] = r * block.heads + h;
        from[pending] = static_cast<size_t>(std::max<int64_t>(0, lo - k0));
        to[pending] = static_cast<size_t>(std::min<int64_t>(n_keys, pos + 1 - k0));
        if (++pending == 2) {
          AttendTile<2>(d, s, columns, q, a, from, to, head_dim, head_pad, scale);
          pending = 0;
        }
      }
    }
    if (pending == 1) AttendTile<1>(d, s, columns, q, a, from, to, head_dim, head_pad, scale);
  }
  for (size_t r = 0; r < block.rows; ++r) {
    for (size_t h = 0; h < block.heads; ++h) {
      const size_t a = r * block.heads + h;
      const float inv = 1.0f / s.sum[a];
      float* out = block.out + r * block.out_stride + h * head_dim;
      for (size_t i = 0; i < head_dim; ++i) out[i] = s.acc[a * head_pad + i] * inv;
    }
  }
}

}  // namespace smallmind::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // SMALLMIND_KERNELS_ATTENTION_INL_H_
