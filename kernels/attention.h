// One query head attending over cached keys and values: scores q·k_p·scale
// for every position p, a numerically stable softmax, and Σ_p P_p·v_p. One
// dispatch per head, where a loop of Dot and Axpy calls costs two per
// position.
//
// Keys and values are read as the KV cache stores them (F32, F16, BF16,
// Q8_0 or Q4_0): each row is widened in registers, a block's scale applied
// once per block of the dot product and once per value vector, so nothing
// is decoded to memory.
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

// Whether AttendHead reads `dtype`: F32, F16, BF16, Q8_0 and Q4_0.
bool IsAttentionType(core::DType dtype);

// `keys` and `values` hold `positions` rows of `head_dim` elements, a whole
// number of blocks for Q8_0 and Q4_0 (row starts 2-byte aligned). `scores`
// is scratch for `positions` floats; on return it holds the attention
// probabilities. `out` receives head_dim floats. Requires positions >= 1.
void AttendHead(const float* q, const StoredRows& keys, const StoredRows& values,
                size_t positions, size_t head_dim, float scale, float* scores, float* out);

// AttendHead over a part of a long context, for flash-decoding (parts on
// several threads): `out` gets Σ_p e^(s_p - max)·v_p unnormalized, *max the
// largest score s_p, *sum Σ_p e^(s_p - max); MergeParts joins the parts.
// positions may be 0 (max -inf, sum and out 0).
void AttendHeadPart(const float* q, const StoredRows& keys, const StoredRows& values,
                    size_t positions, size_t head_dim, float scale, float* scores, float* out,
                    float* max, float* sum);

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
// `keys` and `values` start at position 0. Matches AttendHead row by row
// up to the order of the sums.
void AttendBlock(const QueryBlock& block, const StoredRows& keys, const StoredRows& values,
                 size_t head_dim, float scale, int64_t window, float* scratch);

// One query's attention from `parts` parts that AttendHeadPart computed
// over disjoint key ranges: part p's unnormalized sums at sums + p·part_stride,
// its max score and weight sum at max[p·part_stride], sum[p·part_stride].
// Writes head_dim floats to out.
void MergeParts(const float* sums, const float* max, const float* sum, size_t part_stride,
                size_t parts, size_t head_dim, float* out);

}  // namespace smallmind::kernels

#endif  // SMALLMIND_KERNELS_ATTENTION_H_
