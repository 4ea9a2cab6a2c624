// `tiled`: the fast path, a Highway dispatch unit.
//
// F32 (and F16/BF16, converted to F32 once at load) weights are repacked at
// load into panels of kNR = 2 vectors of columns, K-major: panel p holds
// W[p·kNR + j][k] at [k·kNR + j]. One register-blocked micro-kernel computes
// a kMR × kNR tile of Y from a column of X values and a panel row, so each W
// load feeds kMR FMAs. Threads split the N panels; within a task, K is
// blocked by kKC so the panel block stays in L1 while every M tile uses it.
// M = 1 (decode) is its own path: one pass over the packed W, no K blocking.
//
// Q8_0 / Q4_0 weights are read in place: X is quantized to Q8_0 once per
// call (arena scratch), then each output is an integer block dot from
// kernels/quant-inl.h.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "backends/tiled/tiled.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "kernels/quant-inl.h"
#include "kernels/simd_util-inl.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "core/dtype.h"
#include "core/thread_pool.h"

HWY_BEFORE_NAMESPACE();
namespace smallmind::backends::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
using kernels::HWY_NAMESPACE::LoadTail;
using kernels::HWY_NAMESPACE::StoreTail;

// Rows of X per micro-kernel tile: 6 × 2 accumulators plus 2 W vectors and
// a broadcast fit the 16 registers of AVX2 (and leave room on AVX-512).
constexpr size_t kMR = 6;
// Depth of a K block: a panel block is kKC · kNR floats (32 KiB on AVX-512).
constexpr size_t kKC = 256;

size_t PanelWidthImpl() { return 2 * hn::Lanes(hn::ScalableTag<float>()); }

void PackImpl(const float* w, size_t ldw, size_t n, size_t k, float* packed) {
  const size_t nr = PanelWidthImpl();
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
  alignas(kernels::HWY_NAMESPACE::kMaxVectorBytes * 2) float out[2 * 64 / sizeof(float)];
  hn::Store(hn::Add(a0, b0), d, out);
  hn::Store(hn::Add(a1, b1), d, out + N);
  for (size_t j = 0; j < cols; ++j) y[j] = bias ? out[j] + bias[j] : out[j];
}

void GemmImpl(const float* x, size_t ldx, size_t m, size_t k,
              const float* packed, size_t n, const float* bias, float* y,
              size_t ldy, core::ThreadPool& pool) {
  const size_t nr = PanelWidthImpl();
  const size_t panels = (n + nr - 1) / nr;
  pool.ParallelFor(panels, [&](uint64_t p, int) HWY_ATTR {
    const size_t n0 = p * nr;
    const size_t cols = std::min(nr, n - n0);
    const float* panel = packed + p * k * nr;
    const float* panel_bias = bias ? bias + n0 : nullptr;
    if (m == 1) {
      GemvPanel(x, panel, k, y + n0, cols, panel_bias);
      return;
    }
    for (size_t k0 = 0; k0 < k; k0 += kKC) {
      const size_t kc = std::min(kKC, k - k0);
      const bool last = k0 + kc == k;
      for (size_t m0 = 0; m0 < m; m0 += kMR) {
        Tile(std::min(kMR, m - m0), x + m0 * ldx + k0, ldx, panel + k0 * nr, kc,
             y + m0 * ldy + n0, ldy, cols, /*accumulate=*/k0 > 0,
             last ? panel_bias : nullptr);
      }
    }
  });
}

// Rows of W per task in the quantized path: enough work to amortise a task,
// few enough to balance two threads on small N. A multiple of kQuantRows.
constexpr size_t kQuantRowsPerTask = 16;
// Weight rows one pass over x serves: they share x's loads and scales, and
// their independent accumulators keep the FMA pipeline full.
constexpr size_t kQuantRows = 4;

// out[r] = Σ_blocks w_scale·x_scale·Σ w.qs·x.qs for `rows` rows of W
// starting at `w` (row stride ldw bytes). Block scales come as floats,
// converted once (weights at Prepare, x per call), not per multiply.
template <size_t kRowsT>
HWY_INLINE void QuantDotRows(core::DType dtype, const uint8_t* HWY_RESTRICT w,
                             size_t ldw, const float* HWY_RESTRICT w_scales,
                             const core::BlockQ8_0* HWY_RESTRICT x,
                             const float* HWY_RESTRICT x_scales, size_t blocks,
                             float* HWY_RESTRICT out) {
  using kernels::HWY_NAMESPACE::BlockI16;
  using kernels::HWY_NAMESPACE::HalfBlockI16;
  const hn::RepartitionToWide<BlockI16> d32;
  const hn::RebindToFloat<decltype(d32)> df;
  const hn::RepartitionToWide<HalfBlockI16> h32;
  const hn::RebindToFloat<decltype(h32)> hf;
  decltype(hn::Zero(df)) acc[kRowsT];
  decltype(hn::Zero(hf)) half_acc[kRowsT];
  for (size_t r = 0; r < kRowsT; ++r) {
    acc[r] = hn::Zero(df);
    half_acc[r] = hn::Zero(hf);
  }
  if (dtype == core::DType::kQ8_0) {
    const BlockI16 d16;
    const hn::Rebind<int8_t, BlockI16> d8;
    const size_t N = hn::Lanes(d16);
    for (size_t blk = 0; blk < blocks; ++blk) {
      for (size_t j = 0; j < core::kQuantBlock; j += N) {
        const auto vx = hn::PromoteTo(d16, hn::LoadU(d8, x[blk].qs + j));
        for (size_t r = 0; r < kRowsT; ++r) {
          const auto* wb = reinterpret_cast<const core::BlockQ8_0*>(w + r * ldw) + blk;
          const auto vw = hn::PromoteTo(d16, hn::LoadU(d8, wb->qs + j));
          auto odd = hn::Zero(d32);
          const auto even = hn::ReorderWidenMulAccumulate(d32, vw, vx, hn::Zero(d32), odd);
          acc[r] = hn::MulAdd(hn::ConvertTo(df, hn::Add(even, odd)),
                              hn::Set(df, w_scales[r * blocks + blk] * x_scales[blk]),
                              acc[r]);
        }
      }
    }
  } else {
    const HalfBlockI16 d16;
    const hn::Rebind<int8_t, HalfBlockI16> d8;
    const hn::Rebind<uint8_t, HalfBlockI16> du8;
    const size_t N = hn::Lanes(d16);
    const auto k8 = hn::Set(d16, 8);
    const auto kLow = hn::Set(d16, 0xF);
    for (size_t blk = 0; blk < blocks; ++blk) {
      for (size_t j = 0; j < core::kQuantBlock / 2; j += N) {
        const auto xlo = hn::PromoteTo(d16, hn::LoadU(d8, x[blk].qs + j));
        const auto xhi =
            hn::PromoteTo(d16, hn::LoadU(d8, x[blk].qs + j + core::kQuantBlock / 2));
        for (size_t r = 0; r < kRowsT; ++r) {
          const auto* wb = reinterpret_cast<const core::BlockQ4_0*>(w + r * ldw) + blk;
          const auto raw = hn::PromoteTo(d16, hn::LoadU(du8, wb->qs + j));
          const auto lo = hn::Sub(hn::And(raw, kLow), k8);
          const auto hi = hn::Sub(hn::ShiftRight<4>(raw), k8);
          auto odd = hn::Zero(h32);
          auto even = hn::ReorderWidenMulAccumulate(h32, lo, xlo, hn::Zero(h32), odd);
          even = hn::ReorderWidenMulAccumulate(h32, hi, xhi, even, odd);
          half_acc[r] = hn::MulAdd(hn::ConvertTo(hf, hn::Add(even, odd)),
                                   hn::Set(hf, w_scales[r * blocks + blk] * x_scales[blk]),
                                   half_acc[r]);
        }
      }
    }
  }
  for (size_t r = 0; r < kRowsT; ++r) {
    out[r] = dtype == core::DType::kQ8_0 ? kernels::HWY_NAMESPACE::ReduceSum(df, acc[r])
                                         : kernels::HWY_NAMESPACE::ReduceSum(hf, half_acc[r]);
  }
}

void QuantGemmImpl(core::DType dtype, const uint8_t* w, size_t ldw,
                   const float* w_scales, const core::BlockQ8_0* xq,
                   const float* x_scales, size_t m, size_t k, size_t n,
                   const float* bias, float* y, size_t ldy,
                   core::ThreadPool& pool) {
  const size_t blocks = k / core::kQuantBlock;
  const size_t tasks = (n + kQuantRowsPerTask - 1) / kQuantRowsPerTask;
  pool.ParallelFor(tasks, [&](uint64_t t, int) HWY_ATTR {
    const size_t end = std::min(n, (t + 1) * kQuantRowsPerTask);
    float dots[kQuantRows];
    for (size_t row = t * kQuantRowsPerTask; row < end;) {
      const size_t rows = std::min(kQuantRows, end - row);
      for (size_t i = 0; i < m; ++i) {
        const core::BlockQ8_0* xi = xq + i * blocks;
        const float* xs = x_scales + i * blocks;
        if (rows == kQuantRows) {
          QuantDotRows<kQuantRows>(dtype, w + row * ldw, ldw, w_scales + row * blocks,
                                   xi, xs, blocks, dots);
        } else {
          for (size_t r = 0; r < rows; ++r) {
            QuantDotRows<1>(dtype, w + (row + r) * ldw, ldw,
                            w_scales + (row + r) * blocks, xi, xs, blocks, dots + r);
          }
        }
        for (size_t r = 0; r < rows; ++r) {
          y[i * ldy + row + r] = bias ? dots[r] + bias[row + r] : dots[r];
        }
      }
      row += rows;
    }
  });
}

}  // namespace smallmind::backends::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "absl/strings/str_format.h"
#include "backends/backend.h"
#include "backends/registry.h"
#include "core/aligned_buffer.h"
#include "core/status.h"
#include "kernels/elementwise.h"
#include "kernels/quant.h"

namespace smallmind::backends {
namespace {

HWY_EXPORT(PanelWidthImpl);
HWY_EXPORT(PackImpl);
HWY_EXPORT(GemmImpl);
HWY_EXPORT(QuantGemmImpl);

using core::DType;

// F32 weights packed into panels (see the file comment), or quantized
// weights used in place with their block scales widened to F32 (an eighth
// of Q8_0's size, a fifth of Q4_0's).
class TiledWeights : public PreparedWeights {
 public:
  TiledWeights(core::TensorView w, core::AlignedBuffer packed, size_t nr)
      : PreparedWeights(w), packed_(std::move(packed)), nr_(nr) {}
  const float* packed() const { return reinterpret_cast<const float*>(packed_.data()); }
  // Quantized weights: rows × blocks scales.
  const float* scales() const { return packed(); }
  size_t panel_width() const { return nr_; }

 private:
  core::AlignedBuffer packed_;
  size_t nr_;
};

class TiledBackend : public Backend {
 public:
  absl::string_view name() const override { return "tiled"; }
  bool Supports(DType) const override { return true; }

  absl::StatusOr<std::unique_ptr<PreparedWeights>> Prepare(
      const core::TensorView& w) const override {
    SM_RETURN_IF_ERROR(CheckPreparable(w));
    if (core::IsQuantized(w.dtype())) {
      const size_t rows = static_cast<size_t>(w.num_rows());
      const size_t blocks = static_cast<size_t>(w.row_length()) / core::kQuantBlock;
      SM_ASSIGN_OR_RETURN(core::AlignedBuffer scales,
                          core::AlignedBuffer::Allocate(rows * blocks * sizeof(float)));
      float* out = reinterpret_cast<float*>(scales.data());
      for (size_t r = 0; r < rows; ++r) {
        const uint8_t* row = static_cast<const uint8_t*>(w.data()) + r * w.row_stride();
        for (size_t b = 0; b < blocks; ++b) {
          // Both block layouts start with the F16 scale.
          const uint8_t* block = row + b * core::BlockBytes(w.dtype());
          uint16_t d;
          std::memcpy(&d, block, sizeof(d));
          out[r * blocks + b] = core::F16ToF32(d);
        }
      }
      return std::unique_ptr<PreparedWeights>(new TiledWeights(w, std::move(scales), 0));
    }
    const size_t n = static_cast<size_t>(w.num_rows());
    const size_t k = static_cast<size_t>(w.row_length());
    // F16/BF16 rows are widened to F32 once, here.
    const float* source = nullptr;
    size_t ld = w.row_stride() / sizeof(float);
    core::AlignedBuffer widened;
    if (w.dtype() == DType::kF32) {
      source = static_cast<const float*>(w.data());
    } else {
      SM_ASSIGN_OR_RETURN(widened, core::AlignedBuffer::Allocate(n * k * sizeof(float)));
      float* out = reinterpret_cast<float*>(widened.data());
      for (size_t r = 0; r < n; ++r) {
        const uint16_t* row = w.row_as<uint16_t>(static_cast<int64_t>(r));
        if (w.dtype() == DType::kF16) kernels::F16ToF32(row, out + r * k, k);
        else kernels::BF16ToF32(row, out + r * k, k);
      }
      source = out;
      ld = k;
    }
    const size_t nr = HWY_DYNAMIC_DISPATCH(PanelWidthImpl)();
    const size_t panels = (n + nr - 1) / nr;
    SM_ASSIGN_OR_RETURN(core::AlignedBuffer packed,
                        core::AlignedBuffer::Allocate(panels * nr * k * sizeof(float)));
    HWY_DYNAMIC_DISPATCH(PackImpl)(source, ld, n, k,
                                   reinterpret_cast<float*>(packed.data()));
    return std::unique_ptr<PreparedWeights>(
        new TiledWeights(w, std::move(packed), nr));
  }

 protected:
  absl::Status DoMatMul(const core::TensorView& x, const PreparedWeights& pw,
                        const float* bias, const core::TensorView& y,
                        core::ThreadPool& pool,
                        core::Arena& scratch) const override {
    const auto& w = static_cast<const TiledWeights&>(pw);
    const size_t m = static_cast<size_t>(x.num_rows());
    const size_t k = static_cast<size_t>(w.cols()), n = static_cast<size_t>(w.rows());
    const size_t ldy = y.row_stride() / sizeof(float);
    float* yd = static_cast<float*>(y.data());
    if (!core::IsQuantized(w.dtype())) {
      if (w.panel_width() != HWY_DYNAMIC_DISPATCH(PanelWidthImpl)()) {
        return absl::FailedPreconditionError(
            "tiled weights were packed for another SIMD target; prepare them again");
      }
      HWY_DYNAMIC_DISPATCH(GemmImpl)(static_cast<const float*>(x.data()),
                                     x.row_stride() / sizeof(float), m, k,
                                     w.packed(), n, bias, yd, ldy, pool);
      return absl::OkStatus();
    }
    const size_t blocks = k / core::kQuantBlock;
    SM_ASSIGN_OR_RETURN(core::BlockQ8_0 * xq,
                        scratch.AllocateArray<core::BlockQ8_0>(m * blocks));
    SM_ASSIGN_OR_RETURN(float* x_scales, scratch.AllocateArray<float>(m * blocks));
    pool.ParallelFor(m, [&](uint64_t i, int) {
      kernels::QuantizeQ8_0(x.row_as<float>(static_cast<int64_t>(i)), xq + i * blocks, k);
      for (size_t b = 0; b < blocks; ++b) {
        x_scales[i * blocks + b] = core::F16ToF32(xq[i * blocks + b].d);
      }
    });
    HWY_DYNAMIC_DISPATCH(QuantGemmImpl)(
        w.dtype(), static_cast<const uint8_t*>(w.original().data()),
        w.original().row_stride(), w.scales(), xq, x_scales, m, k, n, bias, yd,
        ldy, pool);
    return absl::OkStatus();
  }
};

SMALLMIND_REGISTER_BACKEND(TiledBackend, 100);

}  // namespace
}  // namespace smallmind::backends
#endif  // HWY_ONCE
