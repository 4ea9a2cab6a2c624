// `blas`: OpenBLAS's cblas_sgemm / cblas_sgemv, for F32 weights only.
// Other dtypes answer Supports() = false rather than keeping a converted F32
// copy: a user who wants BLAS on F16 weights can convert the model to F32.
// OpenBLAS runs its own threads; their number is set to match the pool's.

#include <atomic>
#include <cstdint>

#include <cblas.h>

#include "backends/backend.h"
#include "backends/registry.h"
#include "kernels/elementwise.h"

namespace smallmind::backends {
namespace {

class BlasBackend : public Backend {
 public:
  absl::string_view name() const override { return "blas"; }
  bool Supports(core::DType dtype) const override {
    return dtype == core::DType::kF32;
  }

 protected:
  absl::Status DoMatMul(const core::TensorView& x, const PreparedWeights& w,
                        const float* bias, const core::TensorView& y,
                        core::ThreadPool& pool, core::Arena&) const override {
    SetThreads(pool.num_threads());
    const int M = static_cast<int>(x.num_rows());
    const int N = static_cast<int>(w.rows()), K = static_cast<int>(w.cols());
    const int ldx = static_cast<int>(x.row_stride() / sizeof(float));
    const int ldw = static_cast<int>(w.original().row_stride() / sizeof(float));
    const int ldy = static_cast<int>(y.row_stride() / sizeof(float));
    const float* wd = static_cast<const float*>(w.original().data());
    float* yd = static_cast<float*>(y.data());
    if (M == 1) {
      cblas_sgemv(CblasRowMajor, CblasNoTrans, N, K, 1.0f, wd, ldw,
                  static_cast<const float*>(x.data()), 1, 0.0f, yd, 1);
    } else {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f,
                  static_cast<const float*>(x.data()), ldx, wd, ldw, 0.0f, yd,
                  ldy);
    }
    if (bias != nullptr) kernels::BiasAdd(bias, yd, M, N, ldy);
    return absl::OkStatus();
  }

 private:
  // openblas_set_num_threads is global and not free; call it on change only.
  static void SetThreads(int threads) {
    static std::atomic<int> current{0};
    if (current.exchange(threads) != threads) openblas_set_num_threads(threads);
  }
};

SMALLMIND_REGISTER_BACKEND(BlasBackend, 50);

}  // namespace
}  // namespace smallmind::backends
