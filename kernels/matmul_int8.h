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
// A group of `cols` columns is blocks = cols / 32 blocks:
//   quants: blocks × chunks × 64 bytes; chunk c of block b holds 4 bytes of
//           each of the 16 rows, row r at bytes 4r..4r+3:
//             Q8_0 (8 chunks): row bytes 4c..4c+3 of its 32 int8 quants,
//                              stored as q + 128 (unsigned);
//             Q4_0 (4 chunks): row bytes 4c..4c+3 of its 16 nibble pairs,
//                              as GGML packs them (low nibble: column 4c+j,
//                              high nibble: column 16+4c+j);
//   scales: blocks × 16 f16 (each row's block scale), padded to 64 bytes.
// So a packed matrix is as large as the original plus the padding of its
// last group (rows past N are zero).
//
// The integer dot of a block uses unsigned weight bytes: Q4_0's nibbles q
// stand for q - 8 and Q8_0's stored bytes for q - 128 (on VNNI targets),
// which the kernel takes back out with the activation block's sum.
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

// Packs W[rows, cols] in GGML's layout (rows `row_stride` bytes apart) into
// `packed` (Int8PackedBytes, 64-byte aligned).
void PackInt8(core::DType dtype, const void* w, size_t row_stride, size_t rows,
              size_t cols, void* packed);

// X quantized per block of 32: q = round-to-nearest-even(x / scale) with
// scale = max|x| / 127, and sum = Σ q over the block.
struct Int8Activations {
  int8_t* q = nullptr;      // rows × cols
  float* scale = nullptr;   // rows × cols / 32
  int32_t* sum = nullptr;   // rows × cols / 32
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
