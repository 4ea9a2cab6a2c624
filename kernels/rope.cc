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
#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "core/aligned_buffer.h"

namespace smallmind::kernels {

struct RopeTable::Rows {
  std::vector<double> freqs;   // per pair
  core::AlignedBuffer values;  // max_positions rows of cos, then of sin
  std::atomic<size_t> filled{0};
  absl::Mutex mu;  // held while filling
};

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
  const size_t half = rotary_dim / 2;
  if (max_positions > (size_t{1} << 40) / half) {
    return absl::InvalidArgumentError("RoPE table: too many positions");
  }
  RopeTable table;
  table.rotary_dim_ = rotary_dim;
  table.max_positions_ = max_positions;
  table.rows_ = std::make_shared<Rows>();
  Rows& rows = *table.rows_;
  rows.freqs.resize(half);
  for (size_t i = 0; i < half; ++i) {
    rows.freqs[i] = std::pow(base, -2.0 * double(i) / double(rotary_dim));
    if (!freq_factors.empty()) rows.freqs[i] /= freq_factors[i];
  }
  absl::StatusOr<core::AlignedBuffer> values =
      core::AlignedBuffer::Allocate(2 * max_positions * half * sizeof(float));
  if (!values.ok()) return values.status();
  rows.values = *std::move(values);
  table.values_ = reinterpret_cast<const float*>(rows.values.data());
  table.filled_ = &rows.filled;
  return table;
}

void RopeTable::Fill(size_t pos) const {
  // Rows are computed a block at a time, once: readers past the mark wait
  // for the block, readers below it read rows no one writes again.
  constexpr size_t kBlock = 512;
  Rows& rows = *rows_;
  absl::MutexLock lock(&rows.mu);
  const size_t from = rows.filled.load(std::memory_order_relaxed);
  if (pos < from) return;
  const size_t to = std::min(max_positions_, (pos / kBlock + 1) * kBlock);
  const size_t half = rotary_dim_ / 2;
  float* cos = reinterpret_cast<float*>(rows.values.data());
  float* sin = cos + max_positions_ * half;
  for (size_t p = from; p < to; ++p) {
    for (size_t i = 0; i < half; ++i) {
      const double angle = double(p) * rows.freqs[i];
      cos[p * half + i] = static_cast<float>(std::cos(angle));
      sin[p * half + i] = static_cast<float>(std::sin(angle));
    }
  }
  rows.filled.store(to, std::memory_order_release);
}

size_t RopeTable::ResidentBytes() const { return rows_->values.ResidentBytes(); }

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
