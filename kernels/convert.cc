// Dispatch unit for kernels/convert.h: per target, one table of row codecs
// in core::DType order.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/convert.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "kernels/convert-inl.h"
#include "kernels/convert.h"

#include <cstring>

#ifndef SMALLMIND_KERNELS_CONVERT_CODEC_
#define SMALLMIND_KERNELS_CONVERT_CODEC_
#include "kernels/quant_blocks.h"
namespace smallmind::kernels {
struct RowCodec {
  void (*decode)(const void* src, float* dst, size_t n);
  void (*encode)(const float* src, void* dst, size_t n);
};

// The types without SIMD codecs go through quant_blocks.h's scalar ones.
template <core::DType kType>
constexpr RowCodec kScalarCodec = {
    [](const void* src, float* dst, size_t n) { DecodeQuantBlocks(kType, src, dst, n); },
    [](const float* src, void* dst, size_t n) { EncodeQuantBlocks(kType, src, dst, n); }};
}  // namespace smallmind::kernels
#endif

HWY_BEFORE_NAMESPACE();
namespace smallmind::kernels::HWY_NAMESPACE {

void DecodeF32(const void* src, float* dst, size_t n) {
  if (n > 0) std::memcpy(dst, src, n * sizeof(float));
}
void EncodeF32(const float* src, void* dst, size_t n) {
  if (n > 0) std::memcpy(dst, src, n * sizeof(float));
}

void DecodeF16(const void* src, float* dst, size_t n) {
  HalfRowToF32(static_cast<const uint16_t*>(src), dst, n,
               [](auto du, auto h) HWY_ATTR { return F16BitsToF32Bits(du, h); });
}
void EncodeF16(const float* src, void* dst, size_t n) {
  F32RowToHalf(src, static_cast<uint16_t*>(dst), n, [](auto du, auto bits)
                   HWY_ATTR { return F32BitsToF16Bits(du, bits); });
}

void DecodeBF16(const void* src, float* dst, size_t n) {
  HalfRowToF32(static_cast<const uint16_t*>(src), dst, n,
               [](auto, auto h) HWY_ATTR { return hn::ShiftLeft<16>(h); });
}
void EncodeBF16(const float* src, void* dst, size_t n) {
  F32RowToHalf(src, static_cast<uint16_t*>(dst), n, [](auto du, auto bits)
                   HWY_ATTR { return F32BitsToBF16Bits(du, bits); });
}

void DecodeQ8_0(const void* src, float* dst, size_t n) {
  const auto* blocks = static_cast<const BlockQ8_0*>(src);
  for (size_t b = 0; b < n / kQuantBlock; ++b) DequantizeBlockQ8_0(blocks[b], dst + b * kQuantBlock);
}
void EncodeQ8_0(const float* src, void* dst, size_t n) {
  auto* blocks = static_cast<BlockQ8_0*>(dst);
  for (size_t b = 0; b < n / kQuantBlock; ++b) QuantizeBlockQ8_0(src + b * kQuantBlock, blocks + b);
}

void DecodeQ4_0(const void* src, float* dst, size_t n) {
  const auto* blocks = static_cast<const BlockQ4_0*>(src);
  for (size_t b = 0; b < n / kQuantBlock; ++b) DequantizeBlockQ4_0(blocks[b], dst + b * kQuantBlock);
}
void EncodeQ4_0(const float* src, void* dst, size_t n) {
  auto* blocks = static_cast<BlockQ4_0*>(dst);
  for (size_t b = 0; b < n / kQuantBlock; ++b) QuantizeBlockQ4_0(src + b * kQuantBlock, blocks + b);
}

// In core::DType order.
const RowCodec* CodecTable() {
  static constexpr RowCodec kCodecs[] = {
      {DecodeF32, EncodeF32},   {DecodeF16, EncodeF16},
      {DecodeBF16, EncodeBF16}, {DecodeQ8_0, EncodeQ8_0},
      {DecodeQ4_0, EncodeQ4_0},
      kScalarCodec<core::DType::kQ4_1>,   kScalarCodec<core::DType::kQ5_0>,
      kScalarCodec<core::DType::kQ5_1>,   kScalarCodec<core::DType::kIQ4_NL>,
      kScalarCodec<core::DType::kQ2_K>,   kScalarCodec<core::DType::kQ3_K>,
      kScalarCodec<core::DType::kQ4_K>,   kScalarCodec<core::DType::kQ5_K>,
      kScalarCodec<core::DType::kQ6_K>,
  };
  static_assert(std::size(kCodecs) == core::kNumDTypes, "one codec per DType");
  return kCodecs;
}

}  // namespace smallmind::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace smallmind::kernels {

HWY_EXPORT(CodecTable);

void DecodeRow(core::DType dtype, const void* src, float* dst, size_t n) {
  HWY_DYNAMIC_DISPATCH(CodecTable)()[static_cast<size_t>(dtype)].decode(src, dst, n);
}

void EncodeRow(core::DType dtype, const float* src, void* dst, size_t n) {
  HWY_DYNAMIC_DISPATCH(CodecTable)()[static_cast<size_t>(dtype)].encode(src, dst, n);
}

}  // namespace smallmind::kernels
#endif  // HWY_ONCE
