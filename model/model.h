// A loaded model: model data (model_data.h) whose architecture knobs and
// tensors agree, with every weight resolved to a view into it. Holds no
// backend state, so one Model serves any number of backends and sessions.
#ifndef SMALLMIND_MODEL_MODEL_H_
#define SMALLMIND_MODEL_MODEL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/tensor.h"
#include "model/model.pb.h"
#include "model/model_data.h"

namespace smallmind::model {

// A tensor the architecture calls for, before any data exists.
struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
  bool is_matrix = false;  // a matmul weight (quantizable)
  // Looked up by row only (learned positions): any dtype, kept as stored.
  // Everything else that is not a matrix is F32.
  bool lookup = false;
};

// Whether the MLP multiplies a gate by an up projection (gate|up rows).
bool IsGated(MlpKind mlp);

// Checks the knobs alone: positive sizes, heads that divide, a rotary dim
// that fits the head, known enum values. The error names the knob.
absl::Status ValidateArchitecture(const Architecture& arch);

// Every tensor `arch` needs, in file order. The single source of tensor
// names and shapes for the loader, the writers and the converters.
//   token_embd.weight [vocab, dim]          position_embd.weight [ctx, dim]
//   blk.N.attn_norm.{weight,bias} [dim]     blk.N.attn_qkv.{weight,bias}
//   blk.N.attn_output.{weight,bias}         blk.N.ffn_norm.{weight,bias}
//   blk.N.ffn_up.{weight,bias}  (GELU)      blk.N.ffn_gate_up.weight (SwiGLU,
//   blk.N.ffn_down.{weight,bias}             GeGLU: gate rows, then up rows)
//   output_norm.{weight,bias} [dim]         output.weight [vocab, dim]
//   rope_freqs.weight [rotary_dim/2]        blk.N.attn_{q,k}_norm.weight [head_dim]
//   blk.N.{attn,ffn}_post_norm.weight [dim]
//   token_types.weight [types, dim]         token_embd_norm.{weight,bias} [dim]
//   cls.{weight,bias} [dim, dim]            cls.output.{weight,bias} [labels, dim]
// Encoders (bidirectional) have no output.weight, post-LN ones no
// output_norm.
// q/k/v rows are fused: q (heads·head_dim), then k, then v (kv_heads·head_dim);
// with split_projections, blk.N.attn_{q,k,v}.{weight,bias} and
// blk.N.ffn_{gate,up}.weight instead.
std::vector<TensorSpec> ExpectedTensors(const Architecture& arch);

// A matmul's weights stacked by rows: one fused tensor, or its parts (q|k|v,
// gate|up) when the file keeps them apart. `biases` parallels `parts`, with
// empty views where there is none.
struct Projection {
  std::vector<core::TensorView> parts, biases;
  core::DType dtype() const { return parts[0].dtype(); }
};

// One layer's tensors; absent ones (a knob that is off) are empty views.
struct LayerTensors {
  core::TensorView attn_norm_weight, attn_norm_bias;  // bias: LayerNorm only
  Projection qkv;                                     // [q_dim + 2·kv_dim, dim]
  core::TensorView q_norm_weight, k_norm_weight;      // qk_norm
  core::TensorView attn_output, attn_output_bias;
  core::TensorView attn_post_norm_weight, attn_post_norm_bias;  // post_norms
  core::TensorView ffn_norm_weight, ffn_norm_bias;
  Projection ffn_up;  // [hidden, dim], or gate|up [2·hidden, dim]
  core::TensorView ffn_down, ffn_down_bias;
  core::TensorView ffn_post_norm_weight, ffn_post_norm_bias;    // post_norms
};

class Model {
 public:
  // Checks `data`'s architecture, that every expected tensor is present
  // with the expected shape (norms and biases F32), that none is
  // unexpected, and that the tokenizer's vocabulary matches the
  // architecture's; then resolves every weight to a view into it.
  // formats::Open reads any supported file into ModelData.
  static absl::StatusOr<std::unique_ptr<Model>> Create(std::unique_ptr<ModelData> data);

  const ModelDescription& description() const { return data_->description; }
  const Architecture& arch() const { return description().architecture(); }
  const ModelData& data() const { return *data_; }

  const core::TensorView& token_embedding() const { return token_embd_; }
  const core::TensorView& position_embedding() const { return position_embd_; }
  const std::vector<LayerTensors>& layers() const { return layers_; }
  const core::TensorView& output_norm_weight() const { return out_norm_w_; }
  const core::TensorView& output_norm_bias() const { return out_norm_b_; }
  // The LM head: `output.weight`, or the token embedding when tied; empty
  // for an encoder.
  const core::TensorView& output() const { return output_; }
  // Segment embeddings (token_types), the embeddings' norm (post-LN) and
  // the classifier head, where the architecture has them.
  const core::TensorView& token_types() const { return token_types_; }
  const core::TensorView& embedding_norm_weight() const { return embd_norm_w_; }
  const core::TensorView& embedding_norm_bias() const { return embd_norm_b_; }
  const core::TensorView& classifier() const { return cls_; }
  const core::TensorView& classifier_bias() const { return cls_bias_; }
  const core::TensorView& classifier_output() const { return cls_output_; }
  const core::TensorView& classifier_output_bias() const { return cls_output_bias_; }
  // rope_freqs.weight (rope_freq_factors), else empty.
  const core::TensorView& rope_freqs() const { return rope_freqs_; }

  // The dtype of the matmul weights (the first layer's q/k/v).
  core::DType weight_dtype() const { return layers_[0].qkv.dtype(); }
  int64_t num_parameters() const { return data_->num_parameters(); }

 private:
  explicit Model(std::unique_ptr<ModelData> data) : data_(std::move(data)) {}
  absl::Status Resolve();

  std::unique_ptr<ModelData> data_;
  core::TensorView token_embd_, position_embd_, out_norm_w_, out_norm_b_,
      output_, rope_freqs_, token_types_, embd_norm_w_, embd_norm_b_, cls_, cls_bias_,
      cls_output_, cls_output_bias_;
  std::vector<LayerTensors> layers_;
};

}  // namespace smallmind::model

#endif  // SMALLMIND_MODEL_MODEL_H_
