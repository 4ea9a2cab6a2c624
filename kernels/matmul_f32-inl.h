// Per-target code for kernels/matmul_f32.h: the register-blocked F32 GEMM
// over weights packed into panels of two vectors.

#if defined(SMALLMIND_KERNELS_MATMUL_F32_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SMALLMIND_KERNELS_MATMUL_F32_INL_H_
#undef SMALLMIND_KERNELS_MATMUL_F32_INL_H_
#else
#define SMALLMIND_KERNELS_MATMUL_F32_INL_H_
#endif

#include <algorithm>
#include <cstddef>

#include "hwy/highway.h"
#include "kernels/simd_util-inl.h"

HWY_BEFORE_NAMESPACE();
namespace smallmind::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Rows of X per micro-kernel tile: 6 × 2 accumulators plus 2 W vectors and
// a broadcast fit the 16 registers of AVX2 (and leave room on AVX-512).
constexpr size_t kMR = 6;
// Depth of a K block: a panel block is kKC · kNR floats (32 KiB on AVX-512).
constexpr size_t kKC = 256;

// Columns (rows of W) per panel: two vectors.
HWY_INLINE size_t PanelWidth() { return 2 * hn::Lanes(hn::ScalableTag<float>()); }

HWY_INLINE void PackPanelsRows(const float* w, size_t ldw, size_t n, size_t k, float* packed) {
  const size_t nr = PanelWidth();
  const size_t panels = (n + nr - 1) / nr;
  for (size_t p = 0; p < panels; ++p) {
    float* dst = packed + p * k * nr;
    for (size_t kk = 0; kk < k; ++kk) {
      for (size_t j = 0; j < nr; ++j) {
        const size_t row = p * nr + j;
        dst[kk * nr + j] = row < n ? w[row * ldw + kk] : 0.0f;
      }
    }
  }
}

// Y tile [rows × cols] (+)= X[rows, k0:k0+kc] · panel block; adds `bias`
// (cols floats) when non-null. `cols` ≤ kNR; padding columns are dropped.
template <size_t kRows>
HWY_INLINE void MicroKernel(const float* HWY_RESTRICT x, size_t ldx,
                            const float* HWY_RESTRICT panel, size_t kc,
                            float* HWY_RESTRICT y, size_t ldy, size_t cols,
                            bool accumulate, const float* HWY_RESTRICT bias) {
  const hn::ScalableTag<float> d;
  using V = hn::Vec<decltype(d)>;
  const size_t N = hn::Lanes(d);
  // The row loops are unrolled so the accumulators live in registers.
  V c0[kRows], c1[kRows];
#pragma GCC unroll 8
  for (size_t r = 0; r < kRows; ++r) c0[r] = c1[r] = hn::Zero(d);
  for (size_t k = 0; k < kc; ++k) {
    const V w0 = hn::Load(d, panel + k * 2 * N);
    const V w1 = hn::Load(d, panel + k * 2 * N + N);
#pragma GCC unroll 8
    for (size_t r = 0; r < kRows; ++r) {
      const V xr = hn::Set(d, x[r * ldx + k]);
      c0[r] = hn::MulAdd(xr, w0, c0[r]);
      c1[r] = hn::MulAdd(xr, w1, c1[r]);
    }
  }
  const bool full = cols == 2 * N;
  const size_t cols1 = cols > N ? cols - N : 0;
  V b0 = hn::Zero(d), b1 = hn::Zero(d);
  if (bias != nullptr) {
    b0 = cols >= N ? hn::LoadU(d, bias) : LoadTail(d, bias, cols);
    if (cols1 > 0) b1 = full ? hn::LoadU(d, bias + N) : LoadTail(d, bias + N, cols1);
  }
  for (size_t r = 0; r < kRows; ++r) {
    float* yr = y + r * ldy;
    V v0 = hn::Add(c0[r], b0), v1 = hn::Add(c1[r], b1);
    if (full) {
      if (accumulate) {
        v0 = hn::Add(v0, hn::LoadU(d, yr));
        v1 = hn::Add(v1, hn::LoadU(d, yr + N));
      }
      hn::StoreU(v0, d, yr);
      hn::StoreU(v1, d, yr + N);
      continue;
    }
    const size_t cols0 = std::min(cols, N);
    if (accumulate) v0 = hn::Add(v0, LoadTail(d, yr, cols0));
    if (cols0 == N) hn::StoreU(v0, d, yr); else StoreTail(d, v0, yr, cols0);
    if (cols1 > 0) {
      if (accumulate) v1 = hn::Add(v1, LoadTail(d, yr + N, cols1));
      StoreTail(d, v1, yr + N, cols1);
    }
  }
}

// Dispatches a tile of 1..kMR rows to its unrolled instantiation.
HWY_INLINE void Tile(size_t rows, const float* x, size_t ldx, const float* panel,
                     size_t kc, float* y, size_t ldy, size_t cols,
                     bool accumulate, const float* bias) {
  switch (rows) {
    case 1: return MicroKernel<1>(x, ldx, panel, kc, y, ldy, cols, accumulate, bias);
    case 2: return MicroKernel<2>(x, ldx, panel, kc, y, ldy, cols, accumulate, bias);
    case 3: return MicroKernel<3>(x, ldx, panel, kc, y, ldy, cols, accumulate, bias);
    case 4: return MicroKernel<4>(x, ldx, panel, kc, y, ldy, cols, accumulate, bias);
    case 5: return MicroKernel<5>(x, ldx, panel, kc, y, ldy, cols, accumulate, bias);
    default: return MicroKernel<6>(x, ldx, panel, kc, y, ldy, cols, accumulate, bias);
  }
}

// Decode: y[0, n0:n0+cols] = x · panel over all of K, with the k loop
// unrolled by two into independent accumulators to hide FMA latency.
HWY_INLINE void GemvPanel(const float* HWY_RESTRICT x, const float* HWY_RESTRICT panel,
                          size_t k, float* HWY_RESTRICT y, size_t cols,
                          const float* HWY_RESTRICT bias) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  auto a0 = hn::Zero(d), a1 = hn::Zero(d), b0 = hn::Zero(d), b1 = hn::Zero(d);
  size_t kk = 0;
  for (; kk + 2 <= k; kk += 2) {
    const float* p = panel + kk * 2 * N;
    const auto x0 = hn::Set(d, x[kk]);
    const auto x1 = hn::Set(d, x[kk + 1]);
    a0 = hn::MulAdd(x0, hn::Load(d, p), a0);
    a1 = hn::MulAdd(x0, hn::Load(d, p + N), a1);
    b0 = hn::MulAdd(x1, hn::Load(d, p + 2 * N), b0);
    b1 = hn::MulAdd(x1, hn::Load(d, p + 3 * N), b1);
  }
  if (kk < k) {
    const auto x0 = hn::Set(d, x[kk]);
    a0 = hn::MulAdd(x0, hn::Load(d, panel + kk * 2 * N), a0);
    a1 = hn::MulAdd(x0, hn::Load(d, panel + kk * 2 * N + N), a1);
  }
  alignas(HWY_MAX_BYTES) float out[2 * HWY_MAX_BYTES / sizeof(float)];
  hn::Store(hn::Add(a0, b0), d, out);
  hn::Store(hn::Add(a1, b1), d, out + N);
  for (size_t j = 0; j < cols; ++j) y[j] = bias ? out[j] + bias[j] : out[j];
}

// Y[0:m, 0:cols] = X[0:m, 0:k] · panel (+ bias): every K block, every M tile.
HWY_INLINE void PanelGemmRows(const float* x, size_t ldx, size_t m, size_t k,
                              const float* panel, size_t cols, const float* bias,
                              float* y, size_t ldy) {
  if (m == 1) {
    GemvPanel(x, panel, k, y, cols, bias);
    return;
  }
  const size_t nr = PanelWidth();
  for (size_t k0 = 0; k0 < k; k0 += kKC) {
    const size_t kc = std::min(kKC, k - k0);
    const bool last = k0 + kc == k;
    for (size_t m0 = 0; m0 < m; m0 += kMR) {
      Tile(std::min(kMR, m - m0), x + m0 * ldx + k0, ldx, panel + k0 * nr, kc,
           y + m0 * ldy, ldy, cols, /*accumulate=*/k0 > 0, last ? bias : nullptr);
    }
  }
}

}  // namespace smallmind::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // SMALLMIND_KERNELS_MATMUL_F32_INL_H_
