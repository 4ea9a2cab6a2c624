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
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "backends/backend.h"
#include "core/aligned_buffer.h"
#include "core/arena.h"
#include "core/dtype.h"
#include "core/profiler.h"
#include "core/thread_pool.h"
#include "kernels/rope.h"
#include "model/model.h"

namespace smallmind::runtime {

// How a KV cache stores keys and values (llama.cpp's --cache-type-k/-v).
// F16 by default, as llama.cpp's: against F32 it prefills and decodes at
// depth as fast or faster, holds half the bytes and moves predictions by a
// KL divergence of about 1e-5 (README, "Long context").
struct KvTypes {
  core::DType keys = core::DType::kF16;
  core::DType values = core::DType::kF16;
  // F32: exactly what the forward pass computed (the reference tests').
  static KvTypes Exact() { return {core::DType::kF32, core::DType::kF32}; }
  bool operator==(const KvTypes& o) const { return keys == o.keys && values == o.values; }
  bool operator!=(const KvTypes& o) const { return !(*this == o); }
};

// Parses the key and value types by llama.cpp's names (--cache-type-k and
// --cache-type-v): f32, f16, bf16, q8_0 or q4_0.
absl::StatusOr<KvTypes> ParseKvTypes(absl::string_view keys, absl::string_view values);

// Keys and values of every layer for `context` positions, each position's
// row of kv_dim elements stored as its KvTypes say. The buffer is reserved
// for the whole context; pages are touched as positions fill.
class KvCache {
 public:
  static constexpr int64_t kMaxPackedPositions = int64_t{1} << 22;
  // Errors on a context outside [1, the model's] (an encoder's packed
  // sequences may hold more, up to kMaxPackedPositions), a type attention
  // does not read, or a block type whose block does not divide the head
  // size.
  static absl::StatusOr<KvCache> Create(const model::Architecture& arch, int64_t context,
                                        KvTypes types);
  int64_t context() const { return context_; }
  KvTypes types() const { return types_; }
  size_t bytes() const { return buffer_.size(); }
  uint8_t* keys(int layer, int64_t pos) { return At(layer, 0, pos); }
  uint8_t* values(int layer, int64_t pos) { return At(layer, 1, pos); }
  // Bytes of one position's keys (values), all kv heads: the stride from
  // one position to the next.
  size_t key_row_bytes() const { return row_bytes_[0]; }
  size_t value_row_bytes() const { return row_bytes_[1]; }
  // Bytes one position takes over all layers, keys and values.
  size_t PositionBytes() const { return layers_ * (row_bytes_[0] + row_bytes_[1]); }
  // Copies positions [0, n) of every layer out to `out` (n PositionBytes()
  // bytes); n must be at most the context.
  void SavePrefix(int64_t n, uint8_t* out) const;
  // Copies positions [0, n) back in from what SavePrefix(saved, in) wrote
  // from a cache of the same types; n <= saved.
  void LoadPrefix(const uint8_t* in, int64_t saved, int64_t n);
  // Copies positions [0, n) from a cache of the same types and context.
  void CopyPrefixFrom(const KvCache& other, int64_t n);
  // Gives the pages of positions [from, context) back to the system (what
  // they held is lost): a cache takes memory only for the positions it
  // holds. Returns the bytes given back.
  size_t Release(int64_t from);
  // Bytes of the cache in memory now.
  size_t ResidentBytes() const { return buffer_.ResidentBytes(); }

 private:
  // The buffer is [layer][keys, values][context][row]: a part's offset.
  size_t PartOffset(int64_t layer, int kind) const {
    return static_cast<size_t>(layer) * context_ * (row_bytes_[0] + row_bytes_[1]) +
           (kind == 0 ? 0 : context_ * row_bytes_[0]);
  }
  // An encoder's cache holds one layer, which every layer reuses (a pass
  // needs a layer's keys and values only within that layer): its layers
  // all start at offset 0.
  uint8_t* At(int layer, int kind, int64_t pos) {
    return buffer_.data() + (layers_ == 1 ? PartOffset(0, kind) : PartOffset(layer, kind)) +
           pos * row_bytes_[kind];
  }
  core::AlignedBuffer buffer_;
  int64_t context_ = 0;
  int64_t layers_ = 0;
  KvTypes types_;
  size_t row_bytes_[2] = {0, 0};  // keys, values
};

// One row of a forward pass: `token` at `position` of the sequence whose
// keys and values `cache` holds from position `start`. Rows of one
// sequence come in position order; a row attends to its cache's positions
// [start, position], earlier rows of the same pass included, or in a
// bidirectional model (an encoder) to all of its sequence, which must then
// be whole in the pass, from `start`. The model sees position - start:
// encoders pack several sequences into one cache.
struct BatchRow {
  int32_t token = 0;
  int64_t position = 0;
  KvCache* cache = nullptr;
  bool output = false;     // write this row's logits (Forward) or hidden state (Hidden)
  int32_t token_type = 0;  // the segment (BERT's sentence A or B)
  int64_t start = 0;
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
  // `threads` threads, over caches of any context.
  size_t ScratchBytes(int64_t max_rows, int threads) const;

  // Runs `rows` through the model, storing their keys and values in their
  // caches, and writes the logits of the rows that ask for them, in order,
  // to `logits` ([those rows, vocab]). Errors on an empty batch, a token
  // outside the vocabulary, a missing cache, a position past its cache's
  // context, or an arena too small. Thread-safe for distinct caches and
  // arenas.
  absl::Status Forward(absl::Span<const BatchRow> rows, core::Arena& arena,
                       core::ThreadPool& pool, float* logits) const;

  // As Forward, but writes the final hidden states of the rows that ask
  // for output, in order, to `hidden` ([those rows, dim]): after the output
  // norm where the model has one, as llama.cpp's embeddings are. What
  // embeddings are pooled from.
  absl::Status Hidden(absl::Span<const BatchRow> rows, core::Arena& arena,
                      core::ThreadPool& pool, float* hidden) const;

  // The classifier head (classifier_labels > 0) on `n` pooled hidden
  // states ([n, dim]): labels scores per input to `scores` ([n, labels]).
  absl::Status Classify(const float* pooled, int64_t n, core::Arena& arena,
                        core::ThreadPool& pool, float* scores) const;

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

  // Splits the pass's rows into attention's runs (Pass::runs).
  void PlanAttention(Pass& pass) const;
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
  // What both MatMuls and Classify run: `rows` rows of `in` through every
  // part, unprofiled.
  absl::Status MultiplyParts(int64_t rows, const float* in, absl::Span<const WeightPart> parts,
                             float* out, core::ThreadPool& pool, core::Arena& arena) const;
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
  // The output norm of the rows that want output, then the LM head when
  // `logits` (to out), else the hidden states themselves to out.
  absl::Status Head(const Pass& pass, bool logits, float* out) const;
  // The pass itself: logits (Head) or the final hidden states to `out`.
  absl::Status Run(absl::Span<const BatchRow> rows, core::Arena& arena,
                   core::ThreadPool& pool, bool logits, float* out) const;

  const model::Model& model_;
  const backends::Backend& backend_;
  std::vector<PreparedLayer> layers_;
  std::unique_ptr<backends::PreparedWeights> output_;  // null for an encoder
  std::unique_ptr<backends::PreparedWeights> classifier_, classifier_output_;
  std::optional<kernels::RopeTable> rope_;
  std::optional<kernels::RopeTable> rope_local_;  // sliding-window layers'
};

}  // namespace smallmind::runtime

#endif  // SMALLMIND_RUNTIME_TRANSFORMER_H_
