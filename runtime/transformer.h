// The decoder forward pass: one implementation for GPT-2 and Llama style
// models, steered by the description's knobs (norm, positions, MLP, GQA,
// biases, tied head). Matmuls go through a backend, everything else through
// kernels/. Scratch comes from the caller's arena, so a forward pass does
// not touch the heap.
//
// A pass runs a batch of rows, each a token at a position of a sequence
// with its own KV cache: one prompt's tokens, or one new token from each of
// several conversations decoding together. Every weight matrix is read once
// per pass for all of them.
#ifndef SMALLMIND_RUNTIME_TRANSFORMER_H_
#define SMALLMIND_RUNTIME_TRANSFORMER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "backends/backend.h"
#include "core/aligned_buffer.h"
#include "core/arena.h"
#include "core/profiler.h"
#include "core/thread_pool.h"
#include "kernels/rope.h"
#include "model/model.h"

namespace smallmind::runtime {

// Keys and values of every layer for `context` positions, F32.
class KvCache {
 public:
  static absl::StatusOr<KvCache> Create(const model::Architecture& arch,
                                        int64_t context);
  int64_t context() const { return context_; }
  size_t bytes() const { return buffer_.size(); }
  float* keys(int layer, int64_t pos) { return At(layer, 0, pos); }
  float* values(int layer, int64_t pos) { return At(layer, 1, pos); }
  // Floats from one position's keys to the next's.
  int64_t stride() const { return kv_dim_; }
  // Floats one position takes over all layers, keys and values.
  int64_t PositionFloats() const { return layers_ * 2 * kv_dim_; }
  // Copies positions [0, n) of every layer out to `out` (n PositionFloats()
  // floats); n must be at most the context.
  void SavePrefix(int64_t n, float* out) const;
  // Copies positions [0, n) back in from what SavePrefix(saved, in) wrote;
  // n <= saved.
  void LoadPrefix(const float* in, int64_t saved, int64_t n);

 private:
  float* At(int layer, int kind, int64_t pos) {
    return reinterpret_cast<float*>(buffer_.data()) +
           ((int64_t{layer} * 2 + kind) * context_ + pos) * kv_dim_;
  }
  core::AlignedBuffer buffer_;
  int64_t context_ = 0;
  int64_t kv_dim_ = 0;
  int64_t layers_ = 0;
};

// One row of a forward pass: `token` at `position` of the sequence whose
// keys and values `cache` holds. Rows of one sequence come in position
// order; a row attends to its cache's positions [0, position], earlier
// rows of the same pass included.
struct BatchRow {
  int32_t token = 0;
  int64_t position = 0;
  KvCache* cache = nullptr;
  bool logits = false;  // write this row's logits
};

class Transformer {
 public:
  // Prepares every matmul weight of `model` for `backend` (repacking happens
  // here, once; the file pages of weights the backend copied are released).
  // Errors when the backend does not support a weight's dtype. Both must
  // outlive the Transformer.
  static absl::StatusOr<std::unique_ptr<Transformer>> Create(
      const model::Model& model, const backends::Backend& backend);

  // Arena bytes a pass of up to `max_rows` rows needs on a pool of
  // `threads` threads, over caches of up to `context` positions.
  size_t ScratchBytes(int64_t max_rows, int threads, int64_t context) const;

  // Runs `rows` through the model, storing their keys and values in their
  // caches, and writes the logits of the rows that ask for them, in order,
  // to `logits` ([those rows, vocab]). Errors on an empty batch, a token
  // outside the vocabulary, a missing cache, a position past its cache's
  // context, or an arena too small. Thread-safe for distinct caches and
  // arenas.
  absl::Status Forward(absl::Span<const BatchRow> rows, core::Arena& arena,
                       core::ThreadPool& pool, float* logits) const;

  // One sequence: `tokens` at positions pos, pos+1, ... of `cache`; logits
  // for every token ([tokens.size(), vocab]) when `all_logits`, else for the
  // last token only.
  absl::Status Forward(absl::Span<const int32_t> tokens, int64_t pos,
                       KvCache& cache, core::Arena& arena,
                       core::ThreadPool& pool, float* logits,
                       bool all_logits) const;

  const model::Model& model() const { return model_; }
  const backends::Backend& backend() const { return backend_; }

 private:
  // One layer's matmul weights, prepared for the backend; q|k|v and
  // gate|up in one part each, or in the file's separate parts.
  struct PreparedLayer {
    std::vector<std::unique_ptr<backends::PreparedWeights>> qkv, ffn_up;
    std::unique_ptr<backends::PreparedWeights> attn_output, ffn_down;
  };
  // One part of a matmul whose outputs sit side by side in Y's rows.
  struct WeightPart {
    const backends::PreparedWeights* weights;
    core::TensorView bias;
  };
  // At most three parts (q, k, v): kept inline, so a pass allocates nothing.
  using WeightParts = absl::InlinedVector<WeightPart, 3>;
  static WeightParts Parts(
      const std::vector<std::unique_ptr<backends::PreparedWeights>>& prepared,
      const model::Projection& projection);
  struct Scratch;
  struct Pass;

  Transformer(const model::Model& model, const backends::Backend& backend)
      : model_(model), backend_(backend) {}
  absl::StatusOr<std::unique_ptr<backends::PreparedWeights>> Prepare(
      const core::TensorView& weights) const;

  // Bytes of the widest embedding row as stored, and one row looked up.
  int64_t LookupBytes() const;
  void LookUp(const Pass& pass, const core::TensorView& table, int64_t row, float* out) const;

  // The steps of a pass, each timing itself for the profiler.
  void Embed(const Pass& pass) const;
  void Norm(int layer, const Pass& pass, const float* in,
            const core::TensorView& weight, const core::TensorView& bias,
            float* out) const;
  absl::Status MatMul(core::ProfileOp op, int layer, const Pass& pass,
                      const float* in, const backends::PreparedWeights& weights,
                      const core::TensorView& bias, float* out) const;
  absl::Status MatMul(core::ProfileOp op, int layer, const Pass& pass,
                      const float* in, absl::Span<const WeightPart> parts,
                      float* out) const;
  void QkNorm(int layer, const Pass& pass, const model::LayerTensors& weights,
              float* qkv) const;
  void Rope(int layer, const Pass& pass, float* qkv) const;
  void WriteKv(int layer, const Pass& pass, const float* qkv) const;
  void Attention(int layer, const Pass& pass, const float* qkv,
                 float* out) const;
  void Activation(int layer, const Pass& pass, const float* up,
                  float* out) const;
  void Residual(int layer, const Pass& pass, const float* delta,
                float* x) const;
  absl::Status Head(const Pass& pass, float* logits) const;

  const model::Model& model_;
  const backends::Backend& backend_;
  std::vector<PreparedLayer> layers_;
  std::unique_ptr<backends::PreparedWeights> output_;
  std::optional<kernels::RopeTable> rope_;
  std::optional<kernels::RopeTable> rope_local_;  // sliding-window layers'
};

}  // namespace smallmind::runtime

#endif  // SMALLMIND_RUNTIME_TRANSFORMER_H_
