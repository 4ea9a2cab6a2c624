// A linear layer's forward and backward passes through a matmul backend,
// which only computes Y = X·Wᵀ: the backward products are rewritten into
// that form with transposes,
//   dX = dY·W    = dY · (Wᵀ)ᵀ          (weights: Wᵀ, [K, N])
//   dW = dYᵀ·X   = dYᵀ · (Xᵀ)ᵀ         (weights: Xᵀ, [K, M])
// Weights change every step, so each call prepares them afresh.
#ifndef SMALLMIND_TRAINING_LINEAR_H_
#define SMALLMIND_TRAINING_LINEAR_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "backends/backend.h"
#include "core/arena.h"
#include "core/thread_pool.h"

namespace smallmind::training {

class LinearOps {
 public:
  // `max_elements` bounds every transposed operand (M·N, M·K, N·K).
  LinearOps(const backends::Backend& backend, core::ThreadPool& pool,
            size_t max_elements);

  // y[M,N] = x[M,K]·w[N,K]ᵀ (+ b[N] when non-null).
  absl::Status Forward(const float* x, int64_t m, int64_t k, const float* w,
                       int64_t n, const float* b, float* y);

  // Given dy[M,N]: writes dx[M,K] (when non-null), adds into dw[N,K] and
  // db[N] (when non-null).
  absl::Status Backward(const float* dy, const float* x, int64_t m, int64_t k,
                        const float* w, int64_t n, float* dx, float* dw,
                        float* db);

 private:
  absl::Status MatMul(const float* x, int64_t m, int64_t k, const float* w,
                      int64_t n, const float* b, float* y);

  const backends::Backend& backend_;
  core::ThreadPool& pool_;
  core::Arena arena_;
  std::vector<float> transposed_a_, transposed_b_, product_;
};

}  // namespace smallmind::training

#endif  // SMALLMIND_TRAINING_LINEAR_H_
