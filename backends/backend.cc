#include "backends/backend.h"

#include "absl/strings/str_format.h"
#include "core/status.h"

namespace smallmind::backends {
namespace {

// Prepared weights that are just the original view.
class InPlaceWeights : public PreparedWeights {
 public:
  explicit InPlaceWeights(core::TensorView w) : PreparedWeights(w) {}
};

}  // namespace

absl::StatusOr<std::unique_ptr<PreparedWeights>> Backend::Prepare(
    const core::TensorView& w, const ReleaseFn& release) const {
  if (!Supports(w.dtype())) {
    return absl::InvalidArgumentError(
        absl::StrFormat("backend '%s' does not support %s weights", name(),
                        core::DTypeName(w.dtype())));
  }
  if (w.shape().rank() != 2) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "weights must be a matrix [N, K], got %s", w.ToString()));
  }
  return DoPrepare(w, release);
}

absl::StatusOr<std::unique_ptr<PreparedWeights>> Backend::DoPrepare(
    const core::TensorView& w, const ReleaseFn&) const {
  return std::unique_ptr<PreparedWeights>(new InPlaceWeights(w));
}

size_t Backend::ScratchBytes(int64_t, const PreparedWeights&) const { return 0; }

absl::Status Backend::MatMul(const core::TensorView& x,
                             const PreparedWeights& w, const float* bias,
                             const core::TensorView& y, core::ThreadPool& pool,
                             core::Arena& scratch) const {
  if (x.dtype() != core::DType::kF32 || y.dtype() != core::DType::kF32) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "matmul wants f32 activations, got x %s and y %s", x.ToString(),
        y.ToString()));
  }
  if (x.row_length() != w.cols() || y.num_rows() != x.num_rows() ||
      y.row_length() != w.rows()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "matmul shapes do not match: x %s · w %s^T -> y %s", x.ToString(),
        w.original().ToString(), y.ToString()));
  }
  if (x.num_rows() == 0 || w.rows() == 0) return absl::OkStatus();
  const size_t mark = scratch.used();
  const absl::Status status = DoMatMul(x, w, bias, y, pool, scratch);
  scratch.Rewind(mark);
  return status;
}

}  // namespace smallmind::backends
