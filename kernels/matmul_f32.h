// The F32 GEMM the `tiled` backend runs: Y = X·Wᵀ (+ bias) with W packed
// once, at load, into K-major panels of PanelWidth() rows of W (two SIMD
// vectors): panel p holds W[p·nr + j][k] at [k·nr + j], zero-padded past
// N. One register-blocked micro-kernel computes a 6 × nr tile of Y from a
// column of X and a panel row, so each W load feeds six FMAs; K is blocked
// by 256 so a panel block stays in L1 while every M tile uses it; M = 1
// (decode) is one pass over the panel with two accumulators per column.
//
// The panel width depends on the SIMD target, so weights must be packed
// and multiplied under the same one. Threading is the caller's: panels are
// independent. Thread-safe (no state).
#ifndef SMALLMIND_KERNELS_MATMUL_F32_H_
#define SMALLMIND_KERNELS_MATMUL_F32_H_

#include <cstddef>

namespace smallmind::kernels {

// Rows of W per panel on the current target.
size_t F32PanelWidth();

// Packs W[n, k] (row stride `ldw` floats) into ceil(n / width) panels of
// k · width floats at `packed`.
void PackF32Panels(const float* w, size_t ldw, size_t n, size_t k,
                   float* packed);

// Y[0:m, 0:cols] = X[0:m, 0:k] · (one panel)ᵀ, plus bias[0:cols] when
// non-null; cols <= F32PanelWidth() (the panel's real rows). Row strides
// ldx and ldy are in floats.
void F32PanelGemm(const float* x, size_t ldx, size_t m, size_t k,
                  const float* panel, size_t cols, const float* bias,
                  float* y, size_t ldy);

}  // namespace smallmind::kernels

#endif  // SMALLMIND_KERNELS_MATMUL_F32_H_
