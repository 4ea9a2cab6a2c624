#include "training/linear.h"

#include "core/shape.h"
#include "core/status.h"
#include "core/tensor.h"
#include "kernels/elementwise.h"
#include "training/ops.h"

namespace smallmind::training {
namespace {

absl::StatusOr<core::TensorView> View(const float* data, int64_t rows,
                                      int64_t cols) {
  SM_ASSIGN_OR_RETURN(core::Shape shape, core::Shape::Make({rows, cols}));
  return core::TensorView::Make(const_cast<float*>(data), core::DType::kF32,
                                shape);
}

}  // namespace

LinearOps::LinearOps(const backends::Backend& backend, core::ThreadPool& pool,
                     size_t max_elements)
    : backend_(backend),
      pool_(pool),
      arena_(*core::Arena::Create(1 << 16)),  // F32 matmuls need no scratch
      transposed_a_(max_elements),
      transposed_b_(max_elements),
      product_(max_elements) {}

absl::Status LinearOps::MatMul(const float* x, int64_t m, int64_t k,
                               const float* w, int64_t n, const float* b,
                               float* y) {
  SM_ASSIGN_OR_RETURN(core::TensorView xv, View(x, m, k));
  SM_ASSIGN_OR_RETURN(core::TensorView wv, View(w, n, k));
  SM_ASSIGN_OR_RETURN(core::TensorView yv, View(y, m, n));
  SM_ASSIGN_OR_RETURN(std::unique_ptr<backends::PreparedWeights> prepared,
                      backend_.Prepare(wv));
  return backend_.MatMul(xv, *prepared, b, yv, pool_, arena_);
}

absl::Status LinearOps::Forward(const float* x, int64_t m, int64_t k,
                                const float* w, int64_t n, const float* b,
                                float* y) {
  return MatMul(x, m, k, w, n, b, y);
}

absl::Status LinearOps::Backward(const float* dy, const float* x, int64_t m,
                                 int64_t k, const float* w, int64_t n,
                                 float* dx, float* dw, float* db) {
  if (static_cast<size_t>(std::max({m * n, m * k, n * k})) >
      transposed_a_.size()) {
    return absl::InternalError("LinearOps scratch is too small");
  }
  if (dx != nullptr) {
    Transpose(w, n, k, transposed_a_.data(), pool_);  // Wᵀ [K, N]
    SM_RETURN_IF_ERROR(MatMul(dy, m, n, transposed_a_.data(), k, nullptr, dx));
  }
  Transpose(dy, m, n, transposed_a_.data(), pool_);  // dYᵀ [N, M]
  Transpose(x, m, k, transposed_b_.data(), pool_);   // Xᵀ  [K, M]
  SM_RETURN_IF_ERROR(MatMul(transposed_a_.data(), n, m, transposed_b_.data(),
                            k, nullptr, product_.data()));
  kernels::AddInPlace(product_.data(), dw, n * k);
  if (db != nullptr) BiasBackward(dy, m, n, db);
  return absl::OkStatus();
}

}  // namespace smallmind::training
