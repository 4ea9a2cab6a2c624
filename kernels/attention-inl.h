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
  return hn::GetLane(hn::PromoteTo(d1, hn::LoadU(dh1, reinterpret_cast<const hwy::float16_t*>(&bits))));
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

HWY_INLINE void AttendHeadRow(const float* HWY_RESTRICT q, const StoredRows& keys,
                              const StoredRows& values, size_t positions, size_t head_dim,
                              float scale, float* HWY_RESTRICT scores, float* HWY_RESTRICT out) {
  WithRow(keys.dtype, [&](auto row) HWY_ATTR {
    Scores<decltype(row)>(q, keys, positions, head_dim, scale, scores);
  });
  SoftmaxRow(scores, positions);
  WithRow(values.dtype, [&](auto row) HWY_ATTR {
    ValueSum<decltype(row)>(scores, values, positions, head_dim, out);
  });
}

}  // namespace smallmind::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // SMALLMIND_KERNELS_ATTENTION_INL_H_
