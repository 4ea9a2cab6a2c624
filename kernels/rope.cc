// Dispatch unit for kernels/rope.h.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/rope.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "kernels/rope-inl.h"
#include "kernels/rope.h"

HWY_BEFORE_NAMESPACE();
namespace smallmind::kernels::HWY_NAMESPACE {

void RopePairwiseImpl(float* x, size_t num_heads, size_t head_dim,
                      const float* c, const float* s, size_t half) {
  for (size_t h = 0; h < num_heads; ++h) RotatePairwise(x + h * head_dim, c, s, half);
}

void RopeRotateHalfImpl(float* x, size_t num_heads, size_t head_dim,
                        const float* c, const float* s, size_t half) {
  for (size_t h = 0; h < num_heads; ++h) RotateHalf(x + h * head_dim, c, s, half);
}

}  // namespace smallmind::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"

namespace smallmind::kernels {

HWY_EXPORT(RopePairwiseImpl);
HWY_EXPORT(RopeRotateHalfImpl);

absl::StatusOr<RopeTable> RopeTable::Make(size_t rotary_dim,
                                          size_t max_positions, double base,
                                          absl::Span<const float> freq_factors) {
  if (rotary_dim == 0 || rotary_dim % 2 != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "RoPE rotary dimension must be even and positive, got %d", rotary_dim));
  }
  if (max_positions == 0) {
    return absl::InvalidArgumentError("RoPE table needs at least one position");
  }
  if (!(base > 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("RoPE base must exceed 1, got %g", base));
  }
  if (!freq_factors.empty() && freq_factors.size() != rotary_dim / 2) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "RoPE frequency factors: %d of them for %d rotated pairs",
        freq_factors.size(), rotary_dim / 2));
  }
  for (float f : freq_factors) {
    if (!(f > 0) || !std::isfinite(f)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("RoPE frequency factor %g is not a positive number", f));
    }
  }
  RopeTable table;
  table.rotary_dim_ = rotary_dim;
  table.max_positions_ = max_positions;
  const size_t half = rotary_dim / 2;
  table.cos_.resize(max_positions * half);
  table.sin_.resize(max_positions * half);
  for (size_t i = 0; i < half; ++i) {
    double freq = std::pow(base, -2.0 * double(i) / double(rotary_dim));
    if (!freq_factors.empty()) freq /= freq_factors[i];
    for (size_t pos = 0; pos < max_positions; ++pos) {
      const double angle = double(pos) * freq;
      table.cos_[pos * half + i] = static_cast<float>(std::cos(angle));
      table.sin_[pos * half + i] = static_cast<float>(std::sin(angle));
    }
  }
  return table;
}

void RopePairwise(float* x, size_t num_heads, size_t head_dim,
                  const RopeTable& table, size_t pos) {
  HWY_DYNAMIC_DISPATCH(RopePairwiseImpl)(x, num_heads, head_dim, table.cos(pos),
                                         table.sin(pos), table.rotary_dim() / 2);
}

void RopeRotateHalf(float* x, size_t num_heads, size_t head_dim,
                    const RopeTable& table, size_t pos) {
  HWY_DYNAMIC_DISPATCH(RopeRotateHalfImpl)(x, num_heads, head_dim,
                                           table.cos(pos), table.sin(pos),
                                           table.rotary_dim() / 2);
}

}  // namespace smallmind::kernels
#endif  // HWY_ONCE
