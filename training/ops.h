// Forward passes that keep what their backward pass needs, and the backward
// passes, for every op of a GPT-2-style decoder. Plain loops: these run once
// per training step over a batch, and the matmuls (the bulk of the work) go
// through a backend (see linear.h). Each backward is checked against
// numerical gradients in ops_test.cc.
#ifndef SMALLMIND_TRAINING_OPS_H_
#define SMALLMIND_TRAINING_OPS_H_

#include <cstdint>

#include "core/thread_pool.h"

namespace smallmind::training {

// LayerNorm over rows of `dim`: out = (x - mean) · rstd · w + b. Saves each
// row's mean and rstd (1/sqrt(var + eps)) for the backward pass.
void LayerNormForward(const float* x, const float* w, const float* b,
                      float eps, int64_t rows, int64_t dim, float* out,
                      float* mean, float* rstd);
// Accumulates into dx, dw, db.
void LayerNormBackward(const float* dout, const float* x, const float* w,
                       const float* mean, const float* rstd, int64_t rows,
                       int64_t dim, float* dx, float* dw, float* db);

// GPT-2's tanh-approximated GELU, and its derivative applied to dout
// (dx = dout · gelu'(x), written, not accumulated). The backward pass takes
// the forward output `y` too, which saves recomputing tanh.
void GeluForward(const float* x, float* out, int64_t n);
void GeluBackward(const float* dout, const float* x, const float* y, float* dx,
                  int64_t n, core::ThreadPool& pool);

// Causal multi-head attention over a batch: `qkv` is [batch·seq, 3·dim]
// (q, k, v per row), `out` [batch·seq, dim]. Saves the attention
// probabilities `probs` [batch, heads, seq, seq] for the backward pass.
void AttentionForward(const float* qkv, int64_t batch, int64_t seq,
                      int64_t heads, int64_t head_dim, float* probs,
                      float* out, core::ThreadPool& pool);
// dqkv is written, not accumulated. `scratch` holds threads · seq floats.
void AttentionBackward(const float* dout, const float* qkv, const float* probs,
                       int64_t batch, int64_t seq, int64_t heads,
                       int64_t head_dim, float* dqkv, float* scratch,
                       core::ThreadPool& pool);

// Mean cross-entropy of `logits` [rows, vocab] against `targets`; replaces
// logits by dloss/dlogits. Returns the loss. Rows run in parallel.
double CrossEntropyForwardBackward(float* logits, const int32_t* targets,
                                   int64_t rows, int64_t vocab,
                                   core::ThreadPool& pool);

// Bias gradient: db[n] += sum over rows of dy[row, n].
void BiasBackward(const float* dy, int64_t rows, int64_t n, float* db);

// out[c, r] = in[r, c] for an [rows, cols] matrix.
void Transpose(const float* in, int64_t rows, int64_t cols, float* out,
               core::ThreadPool& pool);

}  // namespace smallmind::training

#endif  // SMALLMIND_TRAINING_OPS_H_
