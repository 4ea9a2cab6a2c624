// AdamW with decoupled weight decay, gradient clipping by global norm, and a
// learning rate that warms up linearly, then follows a cosine down to
// `min_lr_fraction` of its peak.
#ifndef SMALLMIND_TRAINING_OPTIMIZER_H_
#define SMALLMIND_TRAINING_OPTIMIZER_H_

#include <cstdint>

#include "core/field_info.h"
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "training/gpt.h"

namespace smallmind::training {

struct OptimizerOptions {
  float learning_rate = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.95f;
  float epsilon = 1e-8f;
  float weight_decay = 0.1f;
  float clip_norm = 1.0f;  // <= 0: no clipping
  int64_t warmup_steps = 100;
  int64_t total_steps = 2000;
  float min_lr_fraction = 0.1f;

  // The fields a user sets (core/field_info.h); total_steps follows the
  // trainer's steps.
  template <class Visitor>
  void VisitFields(Visitor&& v) {
    v(learning_rate, {"lr", 0, "learning_rate", "peak learning rate"});
    v(warmup_steps, {"warmup", 0, "warmup_steps", "learning-rate warmup steps"});
    v(weight_decay, {"weight-decay", 0, "weight_decay", "AdamW weight decay"});
    v(clip_norm, {"clip-norm", 0, "clip_norm", "gradient norm clip; 0 is off"});
  }
};

// The learning rate at `step` (0-based).
float LearningRate(const OptimizerOptions& o, int64_t step);

class AdamW {
 public:
  AdamW(const OptimizerOptions& options, size_t num_params);

  // One update of `params` from `grads`; `tensors` says which spans of the
  // flat buffers get weight decay. Returns the gradient norm before
  // clipping.
  float Step(absl::Span<float> params, absl::Span<float> grads,
             const std::vector<ParamTensor>& tensors);

  int64_t step() const { return step_; }

  // The optimizer state (step, moments) as bytes, and back, for resuming.
  std::string Serialize() const;
  absl::Status Deserialize(const std::string& bytes);

 private:
  OptimizerOptions options_;
  int64_t step_ = 0;
  std::vector<float> m_, v_;
};

}  // namespace smallmind::training

#endif  // SMALLMIND_TRAINING_OPTIMIZER_H_
