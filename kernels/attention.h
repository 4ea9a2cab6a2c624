// One query head attending over cached keys and values: scores q·k_p·scale
// for every position p, a numerically stable softmax, and Σ_p P_p·v_p. One
// dispatch per head, where a loop of Dot and Axpy calls costs two per
// position.
#ifndef SMALLMIND_KERNELS_ATTENTION_H_
#define SMALLMIND_KERNELS_ATTENTION_H_

#include <cstddef>
#include <cstdint>

namespace smallmind::kernels {

// `keys` and `values` hold `positions` rows of `head_dim` floats, `stride`
// floats apart (a KV cache with heads interleaved). `scores` is scratch for
// `positions` floats; on return it holds the attention probabilities. `out`
// receives head_dim floats. Requires positions >= 1.
void AttendHead(const float* q, const float* keys, const float* values,
                size_t stride, size_t positions, size_t head_dim, float scale,
                float* scores, float* out);

}  // namespace smallmind::kernels

#endif  // SMALLMIND_KERNELS_ATTENTION_H_
