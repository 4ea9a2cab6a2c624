// `portable`: the reference backend. Plain loops, every dtype: each block
// of a weight row is decoded to floats by the dtype's codec
// (kernels/convert.h), then multiplied in with a scalar loop. Slow by
// design; right by construction.

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "backends/backend.h"
#include "backends/registry.h"
#include "core/dtype.h"
#include "kernels/convert.h"

namespace smallmind::backends {
namespace {

using core::DType;

// Elements decoded at a time: whole blocks of every dtype.
constexpr int64_t kChunk = core::kMaxBlockElements;

class PortableBackend : public Backend {
 public:
  absl::string_view name() const override { return "portable"; }
  bool Supports(DType) const override { return true; }

 protected:
  absl::Status DoMatMul(const core::TensorView& x, const PreparedWeights& w,
                        const float* bias, const core::TensorView& y,
                        core::ThreadPool& pool, core::Arena&) const override {
    const int64_t M = x.num_rows(), N = w.rows(), K = w.cols();
    const DType dtype = w.dtype();
    const int64_t block = static_cast<int64_t>(core::BlockElements(dtype));
    const size_t block_bytes = core::BlockBytes(dtype);
    pool.ParallelFor(static_cast<uint64_t>(N), [&](uint64_t n, int) {
      const uint8_t* row = w.original().row(static_cast<int64_t>(n));
      float decoded[kChunk];
      for (int64_t m = 0; m < M; ++m) {
        const float* xm = x.row_as<float>(m);
        float sum = 0.0f;
        for (int64_t k0 = 0; k0 < K; k0 += kChunk) {
          const int64_t count = std::min(kChunk, K - k0);
          kernels::DecodeRow(dtype, row + k0 / block * block_bytes, decoded, count);
          for (int64_t i = 0; i < count; ++i) sum += xm[k0 + i] * decoded[i];
        }
        y.row_as<float>(m)[n] = bias ? sum + bias[n] : sum;
      }
    });
    return absl::OkStatus();
  }
};

SMALLMIND_REGISTER_BACKEND(PortableBackend, 0);

}  // namespace
}  // namespace smallmind::backends
