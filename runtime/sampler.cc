#include "runtime/sampler.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "kernels/reductions.h"
#include "kernels/softmax.h"

namespace smallmind::runtime {

absl::StatusOr<std::vector<std::pair<int32_t, float>>> ParseLogitBias(
    const std::vector<std::string>& biases) {
  std::vector<std::pair<int32_t, float>> out;
  for (const std::string& b : biases) {
    const size_t sign = b.find_first_of("+-", 1);
    int32_t id = -1;
    float bias = 0;
    const std::string amount = sign == std::string::npos ? "" : b.substr(sign + 1);
    const bool ok = sign != std::string::npos && absl::SimpleAtoi(b.substr(0, sign), &id) &&
                    id >= 0 && (amount == "inf" || (absl::SimpleAtof(amount, &bias) && std::isfinite(bias)));
    if (!ok) {
      return absl::InvalidArgumentError(absl::StrCat(
          "logit_bias (--logit-bias) '", b, "' is not TOKEN_ID+BIAS or TOKEN_ID-BIAS"));
    }
    if (amount == "inf") bias = std::numeric_limits<float>::infinity();
    out.push_back({id, b[sign] == '-' ? -bias : bias});
  }
  return out;
}

absl::Status ValidateSamplerOptions(const SamplerOptions& options, int32_t vocab_size) {
  SamplerOptions o = options;
  // Names a field as both its users know it: "top_p (--top-p)".
  auto bad = [&o](const auto& field, absl::string_view range) {
    std::string name;
    o.VisitFields([&](const auto& f, const core::FieldInfo& info) {
      if (static_cast<const void*>(&f) == &field) {
        name = absl::StrCat(info.key, " (--", info.flag, ")");
      }
    });
    return absl::InvalidArgumentError(
        absl::StrCat(name, " is ", field, "; expected ", range));
  };
  if (!(o.temperature >= 0.0f)) return bad(o.temperature, ">= 0");
  if (!(o.top_p >= 0.0f && o.top_p <= 1.0f)) return bad(o.top_p, "0..1");
  if (!(o.min_p >= 0.0f && o.min_p <= 1.0f)) return bad(o.min_p, "0..1");
  if (!(o.repeat_penalty > 0.0f)) return bad(o.repeat_penalty, "> 0");
  if (o.repeat_last_n < 0) return bad(o.repeat_last_n, ">= 0");
  if (!std::isfinite(o.presence_penalty)) return bad(o.presence_penalty, "a finite number");
  if (!std::isfinite(o.frequency_penalty)) return bad(o.frequency_penalty, "a finite number");
  if (o.seed < -1) return bad(o.seed, "-1 (random) or >= 0");
  SM_ASSIGN_OR_RETURN(const auto biases, ParseLogitBias(o.logit_bias));
  for (const auto& [id, bias] : biases) {
    if (vocab_size >= 0 && id >= vocab_size) {
      return absl::InvalidArgumentError(absl::StrCat("logit_bias (--logit-bias) names token ", id,
                                                     ", outside the vocabulary of ", vocab_size));
    }
  }
  return absl::OkStatus();
}

namespace {

uint64_t ResolveSeed(int64_t seed) {
  if (seed >= 0) return static_cast<uint64_t>(seed);
  return static_cast<uint64_t>(
      std::chrono::system_clock::now().time_since_epoch().count());
}

}  // namespace

Sampler::Sampler(int vocab_size, const SamplerOptions& options)
    : options_(options),
      vocab_size_(vocab_size),
      seed_(ResolveSeed(options.seed)),
      rng_(seed_),
      counts_(vocab_size, 0),
      values_(vocab_size),
      probs_(vocab_size),
      ids_(vocab_size) {
  // Validated before (ValidateSamplerOptions); ids beyond the vocabulary
  // are dropped rather than written out of bounds.
  if (absl::StatusOr<std::vector<std::pair<int32_t, float>>> b = ParseLogitBias(options.logit_bias);
      b.ok()) {
    for (const auto& [id, bias] : *b) {
      if (id < vocab_size) bias_.push_back({id, bias});
    }
  }
}

void Sampler::ApplyPenalties(float* logits, absl::Span<const int32_t> history) {
  for (const auto& [id, bias] : bias_) logits[id] += bias;
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

int32_t Sampler::Draw(const float* logits) {
  const size_t n = vocab_size_;
  if (options_.temperature <= 0.0f) {
    return static_cast<int32_t>(kernels::ArgMax(logits, n));
  }
  const bool top_k = options_.top_k > 0 && static_cast<size_t>(options_.top_k) < n;
  size_t count = 0;
  const float max_logit = logits[kernels::ArgMax(logits, n)];
  if (top_k) {
    // Candidates, best first.
    count = kernels::TopK(logits, n, options_.top_k, values_.data(), ids_.data());
  } else if (options_.top_p < 1.0f) {
    // The nucleus, found without sorting the vocabulary: the best k, k
    // growing until they hold top_p of the probability.
    std::copy_n(logits, n, probs_.begin());
    kernels::Softmax(probs_.data(), n);
    for (size_t k = 64;; k *= 4) {
      count = kernels::TopK(logits, n, std::min(k, n), values_.data(), ids_.data());
      double mass = 0;
      for (size_t i = 0; i < count; ++i) mass += probs_[ids_[i]];
      if (mass >= options_.top_p || count >= n || k >= n) break;
    }
  } else {
    // No cut by rank: every token, in id order.
    for (size_t i = 0; i < n; ++i) {
      if (std::isnan(logits[i])) continue;
      ids_[count] = static_cast<int32_t>(i);
      values_[count++] = logits[i];
    }
  }
  if (count == 0) return static_cast<int32_t>(kernels::ArgMax(logits, n));
  if (options_.top_p < 1.0f) {
    // Probabilities at temperature 1 decide top-p, as in llama.cpp: over
    // the top-k candidates, or over the whole vocabulary.
    if (top_k) {
      std::copy_n(values_.begin(), count, probs_.begin());
      kernels::Softmax(probs_.data(), count);
    }
    double cumulative = 0;
    size_t keep = count;
    for (size_t i = 0; i < count; ++i) {
      cumulative += top_k ? probs_[i] : probs_[ids_[i]];
      if (cumulative >= options_.top_p) {
        keep = i + 1;
        break;
      }
    }
    count = keep;
  }
  if (options_.min_p > 0.0f) {
    // p_i >= min_p * p_max  <=>  logit_i >= max + log(min_p).
    const float threshold = max_logit + std::log(options_.min_p);
    size_t keep = 0;
    for (size_t i = 0; i < count; ++i) {
      if (values_[i] >= threshold) {
        values_[keep] = values_[i];
        ids_[keep++] = ids_[i];
      }
    }
    count = std::max<size_t>(keep, 1);
  }
  // The draw, at the temperature.
  for (size_t i = 0; i < count; ++i) probs_[i] = values_[i] / options_.temperature;
  kernels::Softmax(probs_.data(), count);
  const double r = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  double acc = 0;
  for (size_t i = 0; i < count; ++i) {
    acc += probs_[i];
    if (r < acc) return ids_[i];
  }
  return ids_[count - 1];
}

}  // namespace smallmind::runtime
