// Attention over cached keys and values: scores q·k_p·scale for every
// position p, a numerically stable softmax, and Σ_p P_p·v_p, for a decode
// row's query heads (AttendRow) and for a prefill block of rows
// (AttendBlock), both tiled the flash-attention way (an online softmax).
//
// Keys and values are read as the KV cache stores them (F32, F16, BF16,
// Q8_0 or Q4_0): a tile of rows is widened once, in registers, into
// scratch that every query of the tile then reads, so the cache is never
// decoded to memory as a whole.
#ifndef SMALLMIND_KERNELS_ATTENTION_H_
#define SMALLMIND_KERNELS_ATTENTION_H_

#include <cstddef>
#include <cstdint>

#include "core/dtype.h"

namespace smallmind::kernels {

// Rows of one head in a KV cache: row p is `head_dim` elements of `dtype`
// at `data` + p·`stride` bytes.
struct StoredRows {
  const void* data;
  core::DType dtype;
  size_t stride;  // bytes
};

// Whether the kernels read `dtype`: F32, F16, BF16, Q8_0 and Q4_0.
bool IsAttentionType(core::DType dtype);

// Positions per tile of AttendRow.
inline constexpr size_t kRowTile = 64;

// Floats of scratch AttendRow needs.
size_t AttendRowScratch(size_t heads, size_t kv_heads, size_t head_dim);

// One row's `heads` query heads (at q + h·head_dim) over `positions` cache
// rows, each holding all `kv_heads` kv heads side by side (kv head h at h
// times its bytes); query head h reads kv head h / (heads / kv_heads). Each
// tile of kRowTile rows is read once, whole and in address order (a head's
// part of every row alone is a stride the hardware prefetchers serve
// badly), widened into `scratch`, and serves every query head of its kv
// head: four keys' dot products at a time, an online softmax, the weighted
// values two queries at a time. Head h's result goes to out + h·out_stride:
// head_dim floats normalized; or, with `part`, for flash-decoding (parts of
// the positions on several threads), head_dim unnormalized sums
// Σ_p e^(s_p - max)·v_p, then the max score and the sum of the weights, as
// MergeParts reads them. The rows are a whole number of blocks for Q8_0 and
// Q4_0, 2-byte aligned; positions may be 0 only with `part`.
void AttendRow(const float* q, size_t heads, size_t kv_heads, const StoredRows& keys,
               const StoredRows& values, size_t positions, size_t head_dim, float scale,
               float* scratch, float* out, size_t out_stride, bool part);

// A block of consecutive query rows of one sequence, the query heads that
// share one kv head together: row r sits at position first_position + r,
// and its head h's query is at q + r·q_stride + h·head_dim (out likewise).
struct QueryBlock {
  const float* q;
  float* out;
  size_t q_stride, out_stride;  // floats from one row to the next
  size_t rows, heads;
  int64_t first_position;
  // 0: causal, row r attends to positions up to its own. Else every row
  // attends to [0, keys) whatever its position (encoders); no window.
  int64_t keys = 0;
};

// Keys per tile of AttendBlock.
inline constexpr size_t kKeyTile = 64;

// Floats of scratch AttendBlock needs for `queries` (rows × heads) of
// `head_dim`.
size_t AttendBlockScratch(size_t queries, size_t head_dim);

// The flash-attention way for prefill: tiles of kKeyTile keys are widened
// once into `scratch` and serve every query of the block (scores as a
// small matrix product, an online softmax, the values' weighted sum), so
// the keys and values stream from the cache once per block instead of once
// per query. Row r attends to positions [max(0, p_r + 1 - window), p_r]
// (window 0: from 0); tiles past the block's last position are skipped.
// `keys` and `values` start at position 0. Matches AttendRow row by row
// up to the order of the sums.
void AttendBlock(const QueryBlock& block, const StoredRows& keys, const StoredRows& values,
                 size_t head_dim, float scale, int64_t window, float* scratch);

// One query's attention from `parts` parts that AttendRow computed with `part`
// over disjoint key ranges: part p's unnormalized sums at sums + p·part_stride,
// its max score and weight sum at max[p·part_stride], sum[p·part_stride].
// Writes head_dim floats to out.
void MergeParts(const float* sums, const float* max, const float* sum, size_t part_stride,
                size_t parts, size_t head_dim, float* out);

}  // namespace smallmind::kernels

#endif  // SMALLMIND_KERNELS_ATTENTION_H_
