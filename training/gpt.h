// A GPT-2-style decoder (LayerNorm, learned positions, GELU MLP, biases) for
// training: parameters and their gradients in flat F32 buffers laid out as
// the model file's tensors, a forward pass that keeps its activations, and
// the backward pass. Matmuls go through a backend.
#ifndef SMALLMIND_TRAINING_GPT_H_
#define SMALLMIND_TRAINING_GPT_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "backends/backend.h"
#include "core/thread_pool.h"
#include "model/model.h"
#include "model/model.pb.h"
#include "training/linear.h"

namespace smallmind::training {

// One tensor of the flat parameter buffer.
struct ParamTensor {
  std::string name;
  std::vector<int64_t> shape;
  size_t offset = 0;  // floats
  size_t size = 0;    // floats
  bool decay = false;  // AdamW weight decay: matmul weights only
};

class Gpt {
 public:
  // Errors unless `arch` is GPT-2-style, or when seq exceeds its context.
  // The backend and pool must outlive the Gpt.
  static absl::StatusOr<std::unique_ptr<Gpt>> Create(
      const model::Architecture& arch, const backends::Backend& backend,
      core::ThreadPool& pool, int64_t batch, int64_t seq);

  // GPT-2's initialisation: N(0, 0.02), residual projections scaled by
  // 1/sqrt(2·layers), norm weights 1, biases 0.
  void InitRandom(uint64_t seed);
  // Copies weights from a model of the same architecture (any dtype).
  absl::Status LoadWeights(const model::Model& model);

  // Mean cross-entropy of predicting `targets` from `tokens` (both
  // [batch, seq]); with `backward`, also fills grads() (zeroed first).
  absl::StatusOr<double> Step(absl::Span<const int32_t> tokens,
                              absl::Span<const int32_t> targets, bool backward);

  // Writes the weights as a .smm model file with `tokenizer`.
  absl::Status Save(const std::string& path, const model::TokenizerSpec& tokenizer,
                    const std::map<std::string, std::string>& metadata) const;

  absl::Span<float> params() { return absl::MakeSpan(params_); }
  absl::Span<const float> params() const { return params_; }
  absl::Span<float> grads() { return absl::MakeSpan(grads_); }
  const std::vector<ParamTensor>& tensors() const { return tensors_; }
  const model::Architecture& arch() const { return arch_; }
  int64_t batch() const { return batch_; }
  int64_t seq() const { return seq_; }

 private:
  Gpt(const model::Architecture& arch, const backends::Backend& backend,
      core::ThreadPool& pool, int64_t batch, int64_t seq);
  float* P(const std::string& name) { return params_.data() + index_.at(name)->offset; }
  float* G(const std::string& name) { return grads_.data() + index_.at(name)->offset; }
  const float* P(const std::string& name) const {
    return params_.data() + index_.at(name)->offset;
  }
  absl::Status Backward(absl::Span<const int32_t> tokens);

  model::Architecture arch_;
  core::ThreadPool& pool_;
  int64_t batch_, seq_;
  std::vector<ParamTensor> tensors_;
  std::map<std::string, const ParamTensor*> index_;
  std::vector<float> params_, grads_;
  LinearOps linear_;

  // Activations kept for the backward pass, per layer where it applies.
  struct LayerActivations {
    std::vector<float> x_in, ln1, ln1_mean, ln1_rstd, qkv, probs, attn,
        x_mid, ln2, ln2_mean, ln2_rstd, h, gelu;
  };
  std::vector<LayerActivations> acts_;
  std::vector<float> x_final_, lnf_, lnf_mean_, lnf_rstd_, logits_;
  // Backward scratch.
  std::vector<float> dx_, d_dim_, d_hidden_, d_qkv_, attn_scratch_;
};

}  // namespace smallmind::training

#endif  // SMALLMIND_TRAINING_GPT_H_
