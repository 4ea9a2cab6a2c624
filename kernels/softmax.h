// Numerically stable softmax, in place over a row. Thread-safe (no state).
#ifndef SMALLMIND_KERNELS_SOFTMAX_H_
#define SMALLMIND_KERNELS_SOFTMAX_H_

#include <cstddef>

namespace smallmind::kernels {

// x[i] = exp(x[i] - max) / Σ exp(x[j] - max). -inf entries become exactly 0.
// A row that is all -inf (no finite score) becomes all zeros. n = 0 is a
// no-op.
void Softmax(float* x, size_t n);

}  // namespace smallmind::kernels

#endif  // SMALLMIND_KERNELS_SOFTMAX_H_
