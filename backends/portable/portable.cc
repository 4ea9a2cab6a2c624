// `portable`: the reference backend. Plain loops, no SIMD, every dtype:
// each 32-element block (or element) of a weight row is decoded to floats,
// then multiplied in. Slow by design; right by construction.

#include <cstddef>
#include <cstdint>

#include "backends/backend.h"
#include "backends/registry.h"
#include "core/dtype.h"
#include "core/half.h"

namespace smallmind::backends {
namespace {

using core::DType;

// Decodes elements [k0, k0 + count) of a weight row into `out`. `count` is
// a block (32) for quantized rows, so a block is never split.
void DecodeRow(DType dtype, const uint8_t* row, int64_t k0, int64_t count,
               float* out) {
  switch (dtype) {
    case DType::kF32:
      for (int64_t i = 0; i < count; ++i) out[i] = reinterpret_cast<const float*>(row)[k0 + i];
      return;
    case DType::kF16:
      for (int64_t i = 0; i < count; ++i) {
        out[i] = core::F16ToF32(reinterpret_cast<const uint16_t*>(row)[k0 + i]);
      }
      return;
    case DType::kBF16:
      for (int64_t i = 0; i < count; ++i) {
        out[i] = core::BF16ToF32(reinterpret_cast<const uint16_t*>(row)[k0 + i]);
      }
      return;
    case DType::kQ8_0: {
      const auto& b = reinterpret_cast<const core::BlockQ8_0*>(row)[k0 / 32];
      const float d = core::F16ToF32(b.d);
      for (int64_t i = 0; i < 32; ++i) out[i] = d * b.qs[i];
      return;
    }
    case DType::kQ4_0: {
      const auto& b = reinterpret_cast<const core::BlockQ4_0*>(row)[k0 / 32];
      const float d = core::F16ToF32(b.d);
      for (int64_t i = 0; i < 16; ++i) {
        out[i] = d * ((b.qs[i] & 0xF) - 8);
        out[i + 16] = d * ((b.qs[i] >> 4) - 8);
      }
      return;
    }
  }
}

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
    const int64_t step = static_cast<int64_t>(core::BlockElements(dtype));
    pool.ParallelFor(static_cast<uint64_t>(N), [&](uint64_t n, int) {
      const uint8_t* row = w.original().row(static_cast<int64_t>(n));
      for (int64_t m = 0; m < M; ++m) {
        const float* xm = x.row_as<float>(m);
        float sum = 0.0f;
        float block[32];
        for (int64_t k0 = 0; k0 < K; k0 += step) {
          DecodeRow(dtype, row, k0, step, block);
          for (int64_t i = 0; i < step; ++i) sum += xm[k0 + i] * block[i];
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
