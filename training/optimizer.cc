#include "training/optimizer.h"

#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace smallmind::training {
namespace {
constexpr char kMagic[8] = {'S', 'M', 'A', 'D', 'A', 'M', 'W', '1'};
}  // namespace

float LearningRate(const OptimizerOptions& o, int64_t step) {
  if (step < o.warmup_steps) {
    return o.learning_rate * static_cast<float>(step + 1) / o.warmup_steps;
  }
  const int64_t decay_steps = std::max<int64_t>(1, o.total_steps - o.warmup_steps);
  const double progress =
      std::min(1.0, static_cast<double>(step - o.warmup_steps) / decay_steps);
  const double cosine = 0.5 * (1.0 + std::cos(M_PI * progress));
  return static_cast<float>(o.learning_rate *
                            (o.min_lr_fraction + (1.0 - o.min_lr_fraction) * cosine));
}

AdamW::AdamW(const OptimizerOptions& options, size_t num_params)
    : options_(options), m_(num_params, 0.0f), v_(num_params, 0.0f) {}

float AdamW::Step(absl::Span<float> params, absl::Span<float> grads,
                  const std::vector<ParamTensor>& tensors) {
  double sq = 0;
  for (float g : grads) sq += static_cast<double>(g) * g;
  const float norm = static_cast<float>(std::sqrt(sq));
  const float clip = options_.clip_norm > 0 && norm > options_.clip_norm
                         ? options_.clip_norm / norm
                         : 1.0f;
  const float lr = LearningRate(options_, step_);
  ++step_;
  const float correction1 = 1.0f - std::pow(options_.beta1, static_cast<float>(step_));
  const float correction2 = 1.0f - std::pow(options_.beta2, static_cast<float>(step_));
  for (const ParamTensor& t : tensors) {
    const float decay = t.decay ? options_.weight_decay : 0.0f;
    for (size_t i = t.offset; i < t.offset + t.size; ++i) {
      const float g = grads[i] * clip;
      m_[i] = options_.beta1 * m_[i] + (1.0f - options_.beta1) * g;
      v_[i] = options_.beta2 * v_[i] + (1.0f - options_.beta2) * g * g;
      const float mhat = m_[i] / correction1, vhat = v_[i] / correction2;
      params[i] -= lr * (mhat / (std::sqrt(vhat) + options_.epsilon) + decay * params[i]);
    }
  }
  return norm;
}

std::string AdamW::Serialize() const {
  std::string out(kMagic, sizeof(kMagic));
  const uint64_t n = m_.size();
  out.append(reinterpret_cast<const char*>(&step_), 8);
  out.append(reinterpret_cast<const char*>(&n), 8);
  out.append(reinterpret_cast<const char*>(m_.data()), n * 4);
  out.append(reinterpret_cast<const char*>(v_.data()), n * 4);
  return out;
}

absl::Status AdamW::Deserialize(const std::string& bytes) {
  const size_t n = m_.size();
  if (bytes.size() != 24 + 8 * n || std::memcmp(bytes.data(), kMagic, 8) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "optimizer state is ", bytes.size(), " bytes; expected ", 24 + 8 * n,
        " for this model"));
  }
  uint64_t stored;
  std::memcpy(&step_, bytes.data() + 8, 8);
  std::memcpy(&stored, bytes.data() + 16, 8);
  if (stored != n || step_ < 0) {
    return absl::InvalidArgumentError("optimizer state is for another model");
  }
  std::memcpy(m_.data(), bytes.data() + 24, n * 4);
  std::memcpy(v_.data(), bytes.data() + 24 + n * 4, n * 4);
  return absl::OkStatus();
}

}  // namespace smallmind::training
