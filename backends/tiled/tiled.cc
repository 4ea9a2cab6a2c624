// `tiled`: the fast path. Its kernels live in kernels/ (tested there on
// every SIMD target); this file prepares weights for them and splits the
// work over the pool.
//
// F32 weights (and F16/BF16, widened to F32 once at load) are packed into
// panels for kernels/matmul_f32.h; threads take panels. Weights with int8
// kernels (Q8_0, Q4_0) are repacked into groups of 16 rows for
// kernels/matmul_int8.h; X is quantized once per call into arena scratch
// and threads take ranges of groups, so no two threads write one cache line
// of Y. Either way the prepared copy replaces the original, which Prepare
// hands back to the caller chunk by chunk as it goes.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/strings/str_format.h"
#include "backends/backend.h"
#include "backends/registry.h"
#include "core/aligned_buffer.h"
#include "core/dtype.h"
#include "core/status.h"
#include "core/thread_pool.h"
#include "kernels/convert.h"
#include "kernels/matmul_f32.h"
#include "kernels/matmul_int8.h"

namespace smallmind::backends {
namespace {

using core::DType;

// Multiply-adds below which a matmul stays on the calling thread: waking a
// worker and joining it costs about as much as this much work.
constexpr int64_t kMinParallelWork = 1 << 17;
// Bytes of the original Prepare packs before releasing them: the most the
// process holds of a matrix in two copies.
constexpr size_t kPackChunkBytes = 1 << 20;

// Rows per packing chunk: about kPackChunkBytes, a multiple of `unit` (a
// panel's or group's rows) so chunks pack independently.
size_t ChunkRows(size_t row_bytes, size_t unit) {
  const size_t rows = std::max<size_t>(1, kPackChunkBytes / std::max<size_t>(row_bytes, 1));
  return std::max(unit, rows / unit * unit);
}

// Tasks per thread for int8 matmuls: enough to even out uneven progress,
// few enough that each task streams a long run of weights.
constexpr size_t kTasksPerThread = 4;

class TiledWeights : public PreparedWeights {
 public:
  // `panel_width`: F32 panels' width, 0 for int8 groups.
  TiledWeights(core::TensorView w, core::AlignedBuffer packed, size_t panel_width)
      : PreparedWeights(w), packed_(std::move(packed)), panel_width_(panel_width) {}
  const uint8_t* packed() const { return packed_.data(); }
  size_t panel_width() const { return panel_width_; }

 private:
  core::AlignedBuffer packed_;
  size_t panel_width_;
};

class TiledBackend : public Backend {
 public:
  absl::string_view name() const override { return "tiled"; }
  bool Supports(DType dtype) const override {
    return !core::IsQuantized(dtype) || kernels::HasInt8MatMul(dtype);
  }

  size_t ScratchBytes(int64_t m, const PreparedWeights& w) const override {
    if (!core::IsQuantized(w.dtype())) return 0;
    return kernels::Int8ActivationBytes(static_cast<size_t>(m),
                                        static_cast<size_t>(w.cols())) +
           core::kAlignment;
  }

 protected:
  // Packs in chunks of about kPackChunkBytes of the original, releasing each
  // chunk as soon as it is packed.
  absl::StatusOr<std::unique_ptr<PreparedWeights>> DoPrepare(
      const core::TensorView& w, const ReleaseFn& release) const override {
    const size_t n = static_cast<size_t>(w.num_rows());
    const size_t k = static_cast<size_t>(w.row_length());
    const size_t row_bytes = w.row_stride();
    auto done = [&](size_t first_row, size_t rows) {
      if (release) release(w.row(static_cast<int64_t>(first_row)), rows * row_bytes);
    };
    if (core::IsQuantized(w.dtype())) {
      SM_ASSIGN_OR_RETURN(core::AlignedBuffer packed,
                          core::AlignedBuffer::Allocate(kernels::Int8PackedBytes(w.dtype(), n, k),
                                                       core::AlignedBuffer::Pages::kHuge));
      const size_t group_rows = kernels::kInt8GroupRows;
      const size_t step = ChunkRows(row_bytes, group_rows);
      for (size_t r = 0; r < n; r += step) {
        const size_t rows = std::min(step, n - r);
        kernels::PackInt8(w.dtype(), w.row(static_cast<int64_t>(r)), row_bytes, rows, k,
                          packed.data() + r / group_rows * kernels::Int8GroupBytes(w.dtype(), k));
        done(r, rows);
      }
      return std::unique_ptr<PreparedWeights>(new TiledWeights(w, std::move(packed), 0));
    }
    const size_t nr = kernels::F32PanelWidth();
    const size_t panels = (n + nr - 1) / nr;
    SM_ASSIGN_OR_RETURN(core::AlignedBuffer packed,
                        core::AlignedBuffer::Allocate(panels * nr * k * sizeof(float),
                                                     core::AlignedBuffer::Pages::kHuge));
    float* out = reinterpret_cast<float*>(packed.data());
    // F16/BF16 rows are widened to F32 a chunk at a time, then packed.
    std::vector<float> widened;
    const size_t step = ChunkRows(row_bytes, nr);
    for (size_t r = 0; r < n; r += step) {
      const size_t rows = std::min(step, n - r);
      const float* source = w.row_as<float>(static_cast<int64_t>(r));
      size_t ld = row_bytes / sizeof(float);
      if (w.dtype() != DType::kF32) {
        widened.resize(rows * k);
        for (size_t i = 0; i < rows; ++i) {
          kernels::DecodeRow(w.dtype(), w.row(static_cast<int64_t>(r + i)), widened.data() + i * k, k);
        }
        source = widened.data();
        ld = k;
      }
      kernels::PackF32Panels(source, ld, rows, k, out + r * k);
      done(r, rows);
    }
    return std::unique_ptr<PreparedWeights>(new TiledWeights(w, std::move(packed), nr));
  }

  absl::Status DoMatMul(const core::TensorView& x, const PreparedWeights& pw,
                        const float* bias, const core::TensorView& y,
                        core::ThreadPool& pool,
                        core::Arena& scratch) const override {
    const auto& w = static_cast<const TiledWeights&>(pw);
    const size_t m = static_cast<size_t>(x.num_rows());
    const size_t k = static_cast<size_t>(w.cols()), n = static_cast<size_t>(w.rows());
    const size_t ldx = x.row_stride() / sizeof(float);
    const size_t ldy = y.row_stride() / sizeof(float);
    const float* xd = static_cast<const float*>(x.data());
    float* yd = static_cast<float*>(y.data());
    const bool parallel = static_cast<int64_t>(m * n * k) >= kMinParallelWork;
    if (!core::IsQuantized(w.dtype())) {
      const size_t nr = w.panel_width();
      if (nr != kernels::F32PanelWidth()) {
        return absl::FailedPreconditionError(
            "tiled weights were packed for another SIMD target; prepare them again");
      }
      const float* packed = reinterpret_cast<const float*>(w.packed());
      auto panel = [&](uint64_t p, int) {
        const size_t n0 = p * nr;
        kernels::F32PanelGemm(xd, ldx, m, k, packed + n0 * k, std::min(nr, n - n0),
                              bias ? bias + n0 : nullptr, yd + n0, ldy);
      };
      const size_t panels = (n + nr - 1) / nr;
      RunTasks(pool, parallel, panels, panel);
      return absl::OkStatus();
    }

    SM_ASSIGN_OR_RETURN(uint8_t * storage,
                        scratch.AllocateArray<uint8_t>(
                            kernels::Int8ActivationBytes(m, k)));
    const kernels::Int8Activations xq = kernels::Int8ActivationsAt(storage, m, k);
    auto quantize = [&](uint64_t i, int) { kernels::QuantizeActivations(xd, ldx, i, 1, xq); };
    RunTasks(pool, parallel && m > 1, m, quantize);

    const size_t groups = (n + kernels::kInt8GroupRows - 1) / kernels::kInt8GroupRows;
    const size_t group_bytes = kernels::Int8GroupBytes(w.dtype(), k);
    const size_t tasks =
        std::min(groups, static_cast<size_t>(pool.num_threads()) * kTasksPerThread);
    auto run = [&](uint64_t t, int) {
      for (size_t g = t * groups / tasks; g < (t + 1) * groups / tasks; ++g) {
        const size_t n0 = g * kernels::kInt8GroupRows;
        kernels::Int8MatMulGroup(w.dtype(), w.packed() + g * group_bytes, xq,
                                 bias ? bias + n0 : nullptr, yd + n0, ldy,
                                 std::min(kernels::kInt8GroupRows, n - n0));
      }
    };
    RunTasks(pool, parallel, tasks, run);
    return absl::OkStatus();
  }

 private:
  template <class Fn>
  static void RunTasks(core::ThreadPool& pool, bool parallel, size_t tasks, const Fn& fn) {
    if (parallel) {
      pool.ParallelFor(tasks, fn);
    } else {
      for (size_t t = 0; t < tasks; ++t) fn(t, 0);
    }
  }
};

SMALLMIND_REGISTER_BACKEND(TiledBackend, 100);

}  // namespace
}  // namespace smallmind::backends
