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

// q·row over n elements: per block, then scaled (a block type), or with a
// scalar tail (a float type).
template <class Row, class D>
HWY_INLINE float DotStored(D d, const float* HWY_RESTRICT q, const uint8_t* HWY_RESTRICT row,
                           size_t n) {
  if constexpr (std::is_same_v<Row, RowF32>) {
    return DotF32(q, reinterpret_cast<const float*>(row), n);
  }
  const size_t N = hn::Lanes(d);
  if constexpr (Row::kBlocks) {
    auto sum = hn::Zero(d);
    for (size_t b = 0; b < n; b += core::kQuantBlock) {
      auto acc0 = hn::Zero(d), acc1 = hn::Zero(d);
      size_t i = b;
      for (; i + 2 * N <= b + core::kQuantBlock; i += 2 * N) {
        acc0 = hn::MulAdd(hn::LoadU(d, q + i), Row::Load(d, row, i), acc0);
        acc1 = hn::MulAdd(hn::LoadU(d, q + i + N), Row::Load(d, row, i + N), acc1);
      }
      for (; i < b + core::kQuantBlock; i += N) {
        acc0 = hn::MulAdd(hn::LoadU(d, q + i), Row::Load(d, row, i), acc0);
      }
      sum = hn::MulAdd(hn::Set(d, Row::Scale(row, b)), hn::Add(acc0, acc1), sum);
    }
    return ReduceSum(d, sum);
  } else {
    auto acc0 = hn::Zero(d), acc1 = hn::Zero(d);
    size_t i = 0;
    for (; i + 2 * N <= n; i += 2 * N) {
      acc0 = hn::MulAdd(hn::LoadU(d, q + i), Row::Load(d, row, i), acc0);
      acc1 = hn::MulAdd(hn::LoadU(d, q + i + N), Row::Load(d, row, i + N), acc1);
    }
    for (; i + N <= n; i += N) acc0 = hn::MulAdd(hn::LoadU(d, q + i), Row::Load(d, row, i), acc0);
    float s = ReduceSum(d, hn::Add(acc0, acc1));
    for (; i < n; ++i) s += q[i] * Row::At(row, i);
    return s;
  }
}

// out[0, kVectors·N) = Σ_p P_p·v_p[i0, i0 + kVectors·N): the value rows
// stream once for kVectors independent FMA chains, which hide each other's
// latency. Every lane sums its positions in order.
template <class Row, size_t kVectors, class D>
HWY_INLINE void WeightedRowSum(D d, const float* HWY_RESTRICT probs,
                               const uint8_t* HWY_RESTRICT values, size_t stride,
                               size_t positions, size_t i0, float* HWY_RESTRICT out) {
  const size_t N = hn::Lanes(d);
  hn::Vec<D> acc[kVectors];
  // Unrolled, so the accumulators live in registers.
#pragma GCC unroll 4
  for (size_t k = 0; k < kVectors; ++k) acc[k] = hn::Zero(d);
  for (size_t p = 0; p < positions; ++p) {
    const uint8_t* v = values + p * stride;
    auto w = hn::Set(d, probs[p] * Row::Scale(v, i0));
#pragma GCC unroll 4
    for (size_t k = 0; k < kVectors; ++k) {
      const size_t i = i0 + k * N;
      // A new block's scale (the float types have none: w stays).
      if (Row::kBlocks && k > 0 && i % core::kQuantBlock == 0) {
        w = hn::Set(d, probs[p] * Row::Scale(v, i));
      }
      acc[k] = hn::MulAdd(w, Row::Load(d, v, i), acc[k]);
    }
  }
#pragma GCC unroll 4
  for (size_t k = 0; k < kVectors; ++k) hn::StoreU(acc[k], d, out + k * N);
}

template <class Row>
HWY_INLINE void Scores(const float* HWY_RESTRICT q, const StoredRows& keys, size_t positions,
                       size_t head_dim, float scale, float* HWY_RESTRICT scores) {
  const hn::ScalableTag<float> d;
  const uint8_t* rows = static_cast<const uint8_t*>(keys.data);
  for (size_t p = 0; p < positions; ++p) {
    scores[p] = DotStored<Row>(d, q, rows + p * keys.stride, head_dim) * scale;
  }
}

// out = Σ P_p·v_p, up to four vectors of head_dim per pass (a whole head of
// 48 or 64 on AVX-512), then the float types' tail one element at a time.
template <class Row>
HWY_INLINE void ValueSum(const float* HWY_RESTRICT probs, const StoredRows& values,
                         size_t positions, size_t head_dim, float* HWY_RESTRICT out) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  const uint8_t* rows = static_cast<const uint8_t*>(values.data);
  const size_t stride = values.stride;
  size_t i = 0;
  for (; i + 4 * N <= head_dim; i += 4 * N) {
    WeightedRowSum<Row, 4>(d, probs, rows, stride, positions, i, out + i);
  }
  switch ((head_dim - i) / N) {
    case 3: WeightedRowSum<Row, 3>(d, probs, rows, stride, positions, i, out + i); break;
    case 2: WeightedRowSum<Row, 2>(d, probs, rows, stride, positions, i, out + i); break;
    case 1: WeightedRowSum<Row, 1>(d, probs, rows, stride, positions, i, out + i); break;
    default: break;
  }
  i += (head_dim - i) / N * N;
  if constexpr (!Row::kBlocks) {
    for (; i < head_dim; ++i) {
      float sum = 0;
      for (size_t p = 0; p < positions; ++p) sum += probs[p] * Row::At(rows + p * stride, i);
      out[i] = sum;
    }
  }
}

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

// scores = e^(scores - max) in place; returns their sum, the max in *max
// (-inf and 0 for no positions).
HWY_INLINE float ExpRow(float* HWY_RESTRICT scores, size_t positions, float* max) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  *max = positions > 0 ? RowMax(scores, positions) : -std::numeric_limits<float>::infinity();
  const auto vmax = hn::Set(d, *max);
  auto sum = hn::Zero(d);
  size_t p = 0;
  for (; p + N <= positions; p += N) {
    const auto e = ExpShifted(d, hn::LoadU(d, scores + p), vmax);
    sum = hn::Add(sum, e);
    hn::StoreU(e, d, scores + p);
  }
  float total = ReduceSum(d, sum);
  for (; p < positions; ++p) {
    scores[p] = std::exp(scores[p] - *max);
    total += scores[p];
  }
  return total;
}

// With `max` and `sum` set, the part of a head's attention over these
// positions, unnormalized (AttendHeadPart); else the whole (AttendHead).
HWY_INLINE void AttendHeadRow(const float* HWY_RESTRICT q, const StoredRows& keys,
                              const StoredRows& values, size_t positions, size_t head_dim,
                              float scale, float* HWY_RESTRICT scores, float* HWY_RESTRICT out,
                              float* max = nullptr, float* sum = nullptr) {
  WithRow(keys.dtype, [&](auto row) HWY_ATTR {
    Scores<decltype(row)>(q, keys, positions, head_dim, scale, scores);
  });
  if (max == nullptr) {
    SoftmaxRow(scores, positions);
  } else {
    *sum = ExpRow(scores, positions, max);
  }
  WithRow(values.dtype, [&](auto row) HWY_ATTR {
    ValueSum<decltype(row)>(scores, values, positions, head_dim, out);
  });
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

template <class KeyRow, class ValueRow>
HWY_INLINE void AttendBlockTyped(const QueryBlock& block, const StoredRows& keys,
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
  const uint8_t* key_rows = static_cast<const uint8_t*>(keys.data);
  const uint8_t* value_rows = static_cast<const uint8_t*>(values.data);
  for (int64_t k0 = first_key; k0 <= last; k0 += static_cast<int64_t>(kKeyTile)) {
    const size_t n_keys = static_cast<size_t>(std::min<int64_t>(kKeyTile, last + 1 - k0));
    // Whole groups of 4 vectors of keys (kKeyTile is a multiple of them on
    // every target); the ones past n_keys are zero, and masked.
    const size_t columns = (n_keys + 4 * N - 1) / (4 * N) * (4 * N);
    for (size_t j = 0; j < columns; ++j) {
      if (j < n_keys) {
        WidenRow<KeyRow>(key_rows + (k0 + j) * keys.stride, head_dim, head_pad, s.row);
        for (size_t i = 0; i < head_pad; ++i) s.keys_t[i * kKeyTile + j] = s.row[i];
        WidenRow<ValueRow>(value_rows + (k0 + j) * values.stride, head_dim, head_pad,
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

HWY_INLINE void AttendBlockRows(const QueryBlock& block, const StoredRows& keys,
                                const StoredRows& values, size_t head_dim, float scale,
                                int64_t window, float* scratch) {
  WithRow(keys.dtype, [&](auto key_row) HWY_ATTR {
    WithRow(values.dtype, [&](auto value_row) HWY_ATTR {
      AttendBlockTyped<decltype(key_row), decltype(value_row)>(block, keys, values, head_dim,
                                                                scale, window, scratch);
    });
  });
}

}  // namespace smallmind::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // SMALLMIND_KERNELS_ATTENTION_INL_H_
