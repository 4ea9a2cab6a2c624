// Numerically stable softmax, in place over a row. Thread-safe (no state).
#ifndef SMALLMIND_KERNELS_SOFTMAX_H_
#define SMALLMIND_KERNELS_SOFTMAX_H_

#include <cstddef>

namespace smallmind::kernels {

// x[i] = exp(x[i] - max) / Σ exp(x[j] - max). -inf entries become exactly 0.
// A row that is all -inf (no finite score) becomes all zeros. n = 0 is a
// no-op.
void Softmax(float* x, size_t n);

// Softmax over x[0..pos] only; x[pos+1..n) are set to 0, as causal
// attention wants for the scores of query position `pos`. Requires pos < n.
void CausalSoftmax(float* x, size_t n, size_t pos);

}  // namespace smallmind::kernels

#endif  // SMALLMIND_KERNELS_SOFTMAX_H_
