// Rotary position embeddings (RoPE), applied in place to the heads of one
// position. Two pairings, both rotating pair i by pos · base^(-2i/rotary_dim):
//   pairwise     (x[2i], x[2i+1])           — GGUF models, llama.cpp;
//   rotate-half  (x[i], x[i + rotary_dim/2]) — GPT-NeoX, Hugging Face.
// Dimensions past `rotary_dim` in each head are left as they are.
#ifndef SMALLMIND_KERNELS_ROPE_H_
#define SMALLMIND_KERNELS_ROPE_H_

#include <atomic>
#include <cstddef>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace smallmind::kernels {

// cos/sin of every (position, pair), in double precision then rounded to
// float. A position's row is computed the first time it is read, a block of
// positions at once, into pages reserved for the whole context: a 128k
// context costs its memory only as far as it is used. Thread-safe.
class RopeTable {
 public:
  // Errors unless rotary_dim is even and positive, max_positions > 0,
  // base > 1, and `freq_factors` is empty or one positive divisor per pair
  // (Llama 3's frequency scaling: pair i turns at base^(-2i/d) / factor).
  static absl::StatusOr<RopeTable> Make(size_t rotary_dim, size_t max_positions,
                                        double base,
                                        absl::Span<const float> freq_factors = {});

  size_t rotary_dim() const { return rotary_dim_; }
  size_t max_positions() const { return max_positions_; }
  // rotary_dim / 2 values for `pos`.
  const float* cos(size_t pos) const { return Row(pos); }
  const float* sin(size_t pos) const { return Row(pos) + max_positions_ * (rotary_dim_ / 2); }
  // Bytes of the table in memory now (as its positions are read).
  size_t ResidentBytes() const;

 private:
  struct Rows;
  const float* Row(size_t pos) const {
    if (pos >= filled_->load(std::memory_order_acquire)) Fill(pos);
    return values_ + pos * (rotary_dim_ / 2);
  }
  void Fill(size_t pos) const;  // rows up to a block past `pos`

  size_t rotary_dim_ = 0;
  size_t max_positions_ = 0;
  std::shared_ptr<Rows> rows_;  // the cos rows, then the sin rows
  // Into *rows_, for the inline reader (Rows is defined in rope.cc).
  const float* values_ = nullptr;
  const std::atomic<size_t>* filled_ = nullptr;  // rows below are computed
};

// `x` holds `num_heads` heads of `head_dim` floats; requires
// table.rotary_dim() ≤ head_dim and pos < table.max_positions().
void RopePairwise(float* x, size_t num_heads, size_t head_dim,
                  const RopeTable& table, size_t pos);
void RopeRotateHalf(float* x, size_t num_heads, size_t head_dim,
                    const RopeTable& table, size_t pos);

}  // namespace smallmind::kernels

#endif  // SMALLMIND_KERNELS_ROPE_H_
