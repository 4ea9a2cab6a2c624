// Activation functions over float rows. `out` may equal `in`.
// Thread-safe (no state).
#ifndef SMALLMIND_KERNELS_ACTIVATIONS_H_
#define SMALLMIND_KERNELS_ACTIVATIONS_H_

#include <cstddef>

namespace smallmind::kernels {

// GELU with the tanh approximation GPT-2 uses:
// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
void GeluTanh(const float* in, float* out, size_t n);
// The exact GELU BERT uses: x·Φ(x) = 0.5·x·(1 + erf(x/√2)).
void GeluErf(const float* in, float* out, size_t n);
// out[i] = silu(gate[i]) · up[i]; `out` may equal `gate` or `up`.
void SwiGlu(const float* gate, const float* up, float* out, size_t n);
// out[i] = gelu_tanh(gate[i]) · up[i] (Gemma's MLP); `out` may equal either.
void GeGlu(const float* gate, const float* up, float* out, size_t n);

}  // namespace smallmind::kernels

#endif  // SMALLMIND_KERNELS_ACTIVATIONS_H_
