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

}  // namespace smallmind::kernels

#endif  // SMALLMIND_KERNELS_ATTENTION_H_
