// The decoder forward pass: one implementation for GPT-2 and Llama style
// models, steered by the description's knobs (norm, positions, MLP, GQA,
// biases, tied head). Matmuls go through a backend, everything else through
// kernels/. Scratch comes from the caller's arena, so a forward pass does
// not touch the heap.
#ifndef SMALLMIND_RUNTIME_TRANSFORMER_H_
#define SMALLMIND_RUNTIME_TRANSFORMER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "backends/backend.h"
#include "core/aligned_buffer.h"
#include "core/arena.h"
#include "core/thread_pool.h"
#include "kernels/rope.h"
#include "runtime/model.h"

namespace smallmind::runtime {

// Keys and values of every layer for `context` positions, F32.
class KvCache {
 public:
  static absl::StatusOr<KvCache> Create(const Architecture& arch,
                                        int64_t context);
  int64_t context() const { return context_; }
  size_t bytes() const { return buffer_.size(); }
  float* keys(int layer, int64_t pos) { return At(layer, 0, pos); }
  float* values(int layer, int64_t pos) { return At(layer, 1, pos); }

 private:
  float* At(int layer, int kind, int64_t pos) {
    return reinterpret_cast<float*>(buffer_.data()) +
           ((int64_t{layer} * 2 + kind) * context_ + pos) * kv_dim_;
  }
  core::AlignedBuffer buffer_;
  int64_t context_ = 0;
  int64_t kv_dim_ = 0;
};

class Transformer {
 public:
  // Prepares every matmul weight of `model` for `backend` (repacking happens
  // here, once). Errors when the backend does not support a weight's dtype.
  // Both must outlive the Transformer.
  static absl::StatusOr<std::unique_ptr<Transformer>> Create(
      const Model& model, const backends::Backend& backend);

  // Arena bytes a Forward of up to `max_tokens` tokens needs on a pool of
  // `threads` threads.
  size_t ScratchBytes(int64_t max_tokens, int threads) const;

  // Runs `tokens` at positions pos, pos+1, ... through the model, storing
  // their keys and values in `cache`. Writes logits for every token
  // ([tokens.size(), vocab]) when `all_logits`, else for the last token only.
  // Errors on an empty batch, a token outside the vocabulary, positions past
  // the cache's context, or an arena too small. Thread-safe for distinct
  // caches and arenas.
  absl::Status Forward(absl::Span<const int32_t> tokens, int64_t pos,
                       KvCache& cache, core::Arena& arena,
                       core::ThreadPool& pool, float* logits,
                       bool all_logits) const;

  const Model& model() const { return model_; }
  const backends::Backend& backend() const { return backend_; }

 private:
  struct Layer {
    std::unique_ptr<backends::PreparedWeights> qkv, attn_output, ffn_up,
        ffn_down;
  };
  Transformer(const Model& model, const backends::Backend& backend)
      : model_(model), backend_(backend) {}

  void Norm(const float* x, const core::TensorView& weight,
            const core::TensorView& bias, float* out, int64_t rows) const;
  void Attention(int layer, const float* qkv, int64_t rows, int64_t pos,
                 KvCache& cache, float* scores, float* out,
                 core::ThreadPool& pool) const;

  const Model& model_;
  const backends::Backend& backend_;
  std::vector<Layer> layers_;
  std::unique_ptr<backends::PreparedWeights> output_;
  std::optional<kernels::RopeTable> rope_;
};

}  // namespace smallmind::runtime

#endif  // SMALLMIND_RUNTIME_TRANSFORMER_H_
