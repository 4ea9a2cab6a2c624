#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "kernels/reductions.h"

namespace smallmind::runtime {

absl::Status ValidateSamplerOptions(const SamplerOptions& o) {
  auto bad = [](absl::string_view what, double v, absl::string_view range) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is ", v, "; expected ", range));
  };
  if (!(o.temperature >= 0.0f)) return bad("--temp", o.temperature, ">= 0");
  if (!(o.top_p >= 0.0f && o.top_p <= 1.0f)) return bad("--top-p", o.top_p, "0..1");
  if (!(o.min_p >= 0.0f && o.min_p <= 1.0f)) return bad("--min-p", o.min_p, "0..1");
  if (!(o.repeat_penalty > 0.0f)) {
    return bad("--repeat-penalty", o.repeat_penalty, "> 0");
  }
  if (o.repeat_last_n < 0) return bad("--repeat-last-n", o.repeat_last_n, ">= 0");
  if (!std::isfinite(o.presence_penalty) || !std::isfinite(o.frequency_penalty)) {
    return absl::InvalidArgumentError("penalties must be finite");
  }
  return absl::OkStatus();
}

Sampler::Sampler(int vocab_size, const SamplerOptions& options)
    : options_(options),
      vocab_size_(vocab_size),
      rng_(options.seed),
      counts_(vocab_size, 0),
      values_(vocab_size),
      ids_(vocab_size) {}

void Sampler::ApplyPenalties(float* logits, absl::Span<const int32_t> history) {
  const bool on = options_.repeat_penalty != 1.0f ||
                  options_.presence_penalty != 0.0f ||
                  options_.frequency_penalty != 0.0f;
  if (!on || options_.repeat_last_n == 0 || history.empty()) return;
  const size_t window =
      std::min(history.size(), static_cast<size_t>(options_.repeat_last_n));
  const absl::Span<const int32_t> recent = history.subspan(history.size() - window);
  for (int32_t id : recent) {
    if (id >= 0 && id < vocab_size_) ++counts_[id];
  }
  for (int32_t id : recent) {
    if (id < 0 || id >= vocab_size_ || counts_[id] == 0) continue;
    float& l = logits[id];
    l = l > 0 ? l / options_.repeat_penalty : l * options_.repeat_penalty;
    l -= counts_[id] * options_.frequency_penalty + options_.presence_penalty;
    counts_[id] = 0;  // penalise each token once
  }
}

int32_t Sampler::Sample(float* logits, absl::Span<const int32_t> history) {
  ApplyPenalties(logits, history);
  const size_t n = vocab_size_;
  if (options_.temperature <= 0.0f) {
    return static_cast<int32_t>(kernels::ArgMax(logits, n));
  }
  // Candidates, best first.
  size_t count;
  if (options_.top_k > 0 && static_cast<size_t>(options_.top_k) < n) {
    count = kernels::TopK(logits, n, options_.top_k, values_.data(), ids_.data());
  } else {
    std::iota(ids_.begin(), ids_.end(), 0);
    std::sort(ids_.begin(), ids_.end(), [&](int32_t a, int32_t b) {
      return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
    });
    count = 0;
    for (size_t i = 0; i < n; ++i) {
      if (std::isnan(logits[ids_[i]])) continue;
      ids_[count] = ids_[i];
      values_[count++] = logits[ids_[i]];
    }
  }
  if (count == 0) return static_cast<int32_t>(kernels::ArgMax(logits, n));
  // Probabilities at temperature 1 decide top-p and min-p, as in llama.cpp.
  const float max = values_[0];
  double total = 0;
  for (size_t i = 0; i < count; ++i) total += std::exp(values_[i] - max);
  if (options_.top_p < 1.0f) {
    double cumulative = 0;
    size_t keep = count;
    for (size_t i = 0; i < count; ++i) {
      cumulative += std::exp(values_[i] - max) / total;
      if (cumulative >= options_.top_p) {
        keep = i + 1;
        break;
      }
    }
    count = keep;
  }
  if (options_.min_p > 0.0f) {
    // p_i >= min_p * p_max  <=>  logit_i >= max + log(min_p).
    const float threshold = max + std::log(options_.min_p);
    size_t keep = 1;
    while (keep < count && values_[keep] >= threshold) ++keep;
    count = keep;
  }
  double sum = 0;
  for (size_t i = 0; i < count; ++i) {
    values_[i] = std::exp((values_[i] - max) / options_.temperature);
    sum += values_[i];
  }
  const double r = std::uniform_real_distribution<double>(0.0, sum)(rng_);
  double acc = 0;
  for (size_t i = 0; i < count; ++i) {
    acc += values_[i];
    if (r < acc) return ids_[i];
  }
  return ids_[count - 1];
}

}  // namespace smallmind::runtime
