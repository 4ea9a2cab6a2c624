// GGML's block-quantized layouts (ggml-common.h) reduced to one form: every
// quantized dtype's block unpacks to small signed integers v and, per 16
// elements, a scale and a min, with
//   x = scale · v − min.
// Decoding, the int8 kernels' packing (matmul_int8.cc) and the test
// reference's dot all start from it, so each layout is spelled out once.
//
// Layouts, per block (f16 values are IEEE half bits):
//   Q4_1   (32):  d, m, 16 nibble bytes (as Q4_0);      x = d·q + m
//   Q5_0   (32):  d, qh (u32: bit j = bit 4 of element j), 16 nibble bytes;
//                 x = d·(q − 16)
//   Q5_1   (32):  d, m, qh, 16 nibble bytes;             x = d·q + m
//   IQ4_NL (32):  d, 16 nibble bytes indexing a fixed table of 16 levels;
//                 x = d·level
//   Q2_K  (256):  16 bytes of 4-bit (scale | min << 4) per 16 elements,
//                 64 bytes of 2-bit q, d, dmin;   x = d·sc·q − dmin·m
//   Q3_K  (256):  32 bytes of high bits, 64 bytes of 2-bit low bits, 12
//                 bytes of 6-bit scales (offset 32) per 16 elements, d;
//                 x = d·(sc − 32)·(q − 4)
//   Q4_K  (256):  d, dmin, 12 bytes of 6-bit scale and min per 32 elements,
//                 128 nibble bytes;                x = d·sc·q − dmin·m
//   Q5_K  (256):  as Q4_K plus 32 bytes of fifth bits before the nibbles
//   Q6_K  (256):  128 bytes of low nibbles, 64 bytes of 2-bit high parts,
//                 16 int8 scales per 16 elements, d;  x = d·sc·(q − 32)
// (element order within the K-quant blocks as ggml's dequantize_row_*.)
//
// Quantizers for `convert --quantize`: one pass of min/max (or absmax)
// scales per sub-block, then the super-block's scales quantized; simpler
// than llama-quantize's search, so their error is somewhat larger (use
// llama-quantize for the best files).
#ifndef SMALLMIND_KERNELS_QUANT_BLOCKS_H_
#define SMALLMIND_KERNELS_QUANT_BLOCKS_H_

#include <cstddef>
#include <cstdint>

#include "core/dtype.h"

namespace smallmind::kernels {

inline constexpr size_t kSubBlock = 16;

struct UnpackedBlock {
  int8_t v[core::kMaxBlockElements];
  float scale[core::kMaxBlockElements / kSubBlock];
  float min[core::kMaxBlockElements / kSubBlock];
};

// Unpacks one block of a quantized `dtype`: BlockElements(dtype) values
// and as many / 16 scales and mins.
void UnpackBlock(core::DType dtype, const uint8_t* block, UnpackedBlock* out);

// Decodes and encodes `n` elements (whole blocks) of a quantized `dtype`,
// element for element scale·v − min; the same float operations as ggml's
// dequantize_row_*, so the results are equal.
void DecodeQuantBlocks(core::DType dtype, const void* src, float* dst, size_t n);
void EncodeQuantBlocks(core::DType dtype, const float* src, void* dst, size_t n);

}  // namespace smallmind::kernels

#endif  // SMALLMIND_KERNELS_QUANT_BLOCKS_H_
