// Quantized matmul on int8 dot products: Y = X·Wᵀ (+ bias) for block-
// quantized W, with X quantized once per matmul to int8 (a float scale and
// an int32 sum per block of 32), so every multiply is an integer one.
//
// Weights are repacked once, at load, into groups of kInt8GroupRows rows
// whose blocks sit side by side: one SIMD register then holds four columns
// of each of the 16 rows, and one instruction multiplies them by four
// broadcast activations (`vpdpbusd` on AVX512-VNNI and AVX-VNNI, `pmaddubsw`
// + `pmaddwd` without VNNI; plain loops on the scalar target). The layout is
// the same on every target, so packed weights never depend on the CPU.
//
// Every dtype is first unpacked (quant_blocks.h) to integers v with a scale
// and a min per 16 columns, x = scale·v − min; the packed weight is the
// unsigned u = v + bias, for a bias that makes every u ≥ 0. A group of
// `cols` columns is blocks = cols / 32 blocks:
//   quants: blocks × chunks × 64 bytes, in one of four forms:
//     bytes   (8 chunks; Q8_0, IQ4_NL): chunk c holds columns 4c..4c+3 of
//             each of the 16 rows, row r at bytes 4r..4r+3;
//     nibbles (4 chunks; Q4_0, Q4_1, Q4_K, and Q2_K, Q3_K): chunk c holds
//             columns 4c+j in the low and 16+4c+j in the high nibble of
//             byte 4r+j (GGML's Q4_0 order);
//     nibbles + 1 plane (5 chunks; Q5_0, Q5_1, Q5_K): the fifth bits in
//             chunk 4, byte 4r+j bit c for column 4c+j, bit 4+c for 16+4c+j;
//     nibbles + 2 planes (6 chunks; Q6_K): bits 4-5 in chunks 4 (columns
//             0..15) and 5 (16..31), byte 4r+j bits 2c..2c+1 for column
//             4c+j (resp. 16+4c+j);
//   scales: blocks × subs × 16 f16 (subs = 2 where scales change every 16
//           columns: Q2_K, Q3_K, Q6_K; else 1), padded to 64 bytes;
//   mins:   the same, for dtypes with mins (Q4_1, Q5_1, Q2_K, Q4_K, Q5_K).
// Scales and mins are rounded to f16 (relative error 2^-11, far below any
// of these types' quantization step).
//
// A block's integer dot Σ u·q is taken back to Σ v·q with the activation
// sums (bias · Σ q), and the min term is min · Σ q: the activations carry
// their sum per 16 columns. u ≤ 63 for all but the byte forms, so the
// 16-bit pair sums of pmaddubsw cannot saturate; the byte forms use a sign
// trick there (see DotOps).
// Thread-safe; threading is the caller's (groups are independent).
#ifndef SMALLMIND_KERNELS_MATMUL_INT8_H_
#define SMALLMIND_KERNELS_MATMUL_INT8_H_

#include <cstddef>
#include <cstdint>

#include "core/dtype.h"

namespace smallmind::kernels {

inline constexpr size_t kInt8GroupRows = 16;
// Columns per activation block (and per block of every dtype here).
inline constexpr size_t kInt8Block = 32;

// Whether `dtype` has int8 kernels (and the packing below).
bool HasInt8MatMul(core::DType dtype);

// Bytes of one packed group of `cols` columns (a multiple of 32), and of
// a whole packed matrix of `rows` rows.
size_t Int8GroupBytes(core::DType dtype, size_t cols);
size_t Int8PackedBytes(core::DType dtype, size_t rows, size_t cols);

// Packs W[rows, cols] in GGML's layout (rows `row_stride` bytes apart; cols
// a whole number of the dtype's blocks) into `packed` (Int8PackedBytes,
// 64-byte aligned).
void PackInt8(core::DType dtype, const void* w, size_t row_stride, size_t rows,
              size_t cols, void* packed);

// X quantized per block of 32: q = round-to-nearest-even(x / scale) with
// scale = max|x| / 127, and sum = Σ q over each half block of 16.
struct Int8Activations {
  int8_t* q = nullptr;      // rows × cols
  float* scale = nullptr;   // rows × cols / 32
  int32_t* sum = nullptr;   // rows × cols / 16
  size_t rows = 0, cols = 0;
};

// Bytes for `rows` × `cols` activations, and the arrays carved from them
// (`storage` 64-byte aligned).
size_t Int8ActivationBytes(size_t rows, size_t cols);
Int8Activations Int8ActivationsAt(void* storage, size_t rows, size_t cols);

// Quantizes rows [first, first + count) of X (row stride `ldx` floats) into
// the same rows of `out`.
void QuantizeActivations(const float* x, size_t ldx, size_t first, size_t count,
                         const Int8Activations& out);

// Y[0:x.rows, 0:out_rows] = X · (one packed group)ᵀ, plus bias[0:out_rows]
// when non-null; out_rows <= 16 (the group's real rows). `ldy` in floats.
void Int8MatMulGroup(core::DType dtype, const void* group,
                     const Int8Activations& x, const float* bias, float* y,
                     size_t ldy, size_t out_rows);

// Whether the AVX2 target may use AVX-VNNI where the CPU has it (default:
// yes). Tests and the instruction-count gate turn it off to measure the
// pmaddubsw path.
void SetAvxVnniAllowed(bool allowed);

}  // namespace smallmind::kernels

#endif  // SMALLMIND_KERNELS_MATMUL_INT8_H_
