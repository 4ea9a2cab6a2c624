#include "model/model.h"

#include <cmath>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/shape.h"
#include "core/status.h"

namespace smallmind::model {
namespace {

// Bounds that keep every derived size far from overflow.
constexpr uint32_t kMaxDim = 1 << 20;
constexpr uint32_t kMaxLayers = 1024;

absl::Status CheckRange(const char* knob, uint32_t value, uint32_t max) {
  if (value == 0 || value > max) {
    return absl::InvalidArgumentError(absl::StrCat(
        "architecture: ", knob, " is ", value, ", expected 1..", max));
  }
  return absl::OkStatus();
}

std::string Layer(int i, absl::string_view rest) {
  return absl::StrCat("blk.", i, ".", rest);
}

}  // namespace

bool IsGated(MlpKind mlp) { return mlp == SWIGLU || mlp == GEGLU; }

absl::Status ValidateArchitecture(const Architecture& a) {
  SM_RETURN_IF_ERROR(CheckRange("vocab_size", a.vocab_size(), kMaxDim * 4));
  SM_RETURN_IF_ERROR(CheckRange("context_length", a.context_length(), kMaxDim));
  SM_RETURN_IF_ERROR(CheckRange("embedding_dim", a.embedding_dim(), kMaxDim));
  SM_RETURN_IF_ERROR(CheckRange("num_layers", a.num_layers(), kMaxLayers));
  SM_RETURN_IF_ERROR(CheckRange("num_heads", a.num_heads(), 4096));
  SM_RETURN_IF_ERROR(CheckRange("num_kv_heads", a.num_kv_heads(), 4096));
  SM_RETURN_IF_ERROR(CheckRange("head_dim", a.head_dim(), 4096));
  SM_RETURN_IF_ERROR(CheckRange("hidden_dim", a.hidden_dim(), kMaxDim));
  if (a.num_heads() % a.num_kv_heads() != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "architecture: num_heads ", a.num_heads(),
        " is not a multiple of num_kv_heads ", a.num_kv_heads()));
  }
  if (a.norm() != LAYER_NORM && a.norm() != RMS_NORM) {
    return absl::InvalidArgumentError("architecture: norm is not set");
  }
  if (!(a.norm_eps() > 0.0f)) {
    return absl::InvalidArgumentError(
        absl::StrCat("architecture: norm_eps is ", a.norm_eps(),
                     ", expected > 0"));
  }
  if (a.mlp() != GELU && a.mlp() != SWIGLU && a.mlp() != GEGLU && a.mlp() != GELU_ERF) {
    return absl::InvalidArgumentError("architecture: mlp is not set");
  }
  for (const auto& [knob, value] :
       {std::pair<const char*, float>{"norm_eps", a.norm_eps()},
        {"embedding_scale", a.embedding_scale()},
        {"attention_scale", a.attention_scale()}}) {
    if (!std::isfinite(value) || value < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "architecture: ", knob, " is ", value, ", expected a finite number >= 0"));
    }
  }
  if (a.sliding_window() > 0) {
    if (a.sliding_window_pattern() == 0) {
      return absl::InvalidArgumentError(
          "architecture: sliding_window is set but sliding_window_pattern is 0");
    }
    if (a.positions() == ROPE && !(a.rope_local_base() > 1.0f && std::isfinite(a.rope_local_base()))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "architecture: rope_local_base is ", a.rope_local_base(), ", expected > 1"));
    }
  }
  if (a.token_types() > 1024 || a.classifier_labels() > kMaxDim) {
    return absl::InvalidArgumentError(absl::StrCat(
        "architecture: token_types ", a.token_types(), " or classifier_labels ",
        a.classifier_labels(), " out of range"));
  }
  if (!Pooling_IsValid(a.pooling())) {
    return absl::InvalidArgumentError("architecture: pooling is not a known kind");
  }
  if (a.pooling() == RANK && a.classifier_labels() == 0) {
    return absl::InvalidArgumentError(
        "architecture: pooling is RANK but there is no classifier head (classifier_labels 0)");
  }
  if (a.bidirectional() && a.sliding_window() > 0) {
    return absl::InvalidArgumentError(
        "architecture: sliding-window attention in a bidirectional model");
  }
  if (a.rope_freq_factors() && a.positions() != ROPE) {
    return absl::InvalidArgumentError(
        "architecture: rope_freq_factors without rotary positions");
  }
  if (a.positions() == ROPE) {
    if (a.rope_style() != PAIRWISE && a.rope_style() != ROTATE_HALF) {
      return absl::InvalidArgumentError(
          "architecture: rope_style is not set");
    }
    if (a.rotary_dim() == 0 || a.rotary_dim() % 2 != 0 ||
        a.rotary_dim() > a.head_dim()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "architecture: rotary_dim ", a.rotary_dim(),
          " must be even and in 2..head_dim (", a.head_dim(), ")"));
    }
    if (!(a.rope_base() > 1.0f) || !std::isfinite(a.rope_base())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "architecture: rope_base is ", a.rope_base(), ", expected > 1"));
    }
  } else if (a.positions() != LEARNED) {
    return absl::InvalidArgumentError("architecture: positions is not set");
  }
  return absl::OkStatus();
}

std::vector<TensorSpec> ExpectedTensors(const Architecture& a) {
  const int64_t dim = a.embedding_dim();
  const int64_t q_dim = int64_t{a.num_heads()} * a.head_dim();
  const int64_t kv_dim = int64_t{a.num_kv_heads()} * a.head_dim();
  const int64_t hidden = a.hidden_dim();
  const bool layer_norm = a.norm() == LAYER_NORM;
  std::vector<TensorSpec> specs;
  auto add = [&](std::string name, std::vector<int64_t> shape, bool matrix) {
    specs.push_back({std::move(name), std::move(shape), matrix});
  };
  auto add_norm = [&](const std::string& prefix, int64_t size) {
    add(prefix + ".weight", {size}, false);
    if (layer_norm) add(prefix + ".bias", {size}, false);
  };
  auto add_linear = [&](const std::string& prefix, int64_t rows, int64_t cols,
                        bool bias) {
    add(prefix + ".weight", {rows, cols}, true);
    if (bias) add(prefix + ".bias", {rows}, false);
  };
  add("token_embd.weight", {a.vocab_size(), dim}, true);
  if (a.token_types() > 0) {
    add("token_types.weight", {a.token_types(), dim}, false);
    specs.back().lookup = true;
  }
  if (a.positions() == LEARNED) {
    add("position_embd.weight", {a.context_length(), dim}, false);
    specs.back().lookup = true;
  }
  if (a.post_layer_norm()) add_norm("token_embd_norm", dim);
  if (a.rope_freq_factors()) add("rope_freqs.weight", {a.rotary_dim() / 2}, false);
  for (int i = 0; i < static_cast<int>(a.num_layers()); ++i) {
    add_norm(Layer(i, "attn_norm"), dim);
    const bool qkv_bias = a.biases() || a.qkv_bias();
    if (a.split_projections()) {
      add_linear(Layer(i, "attn_q"), q_dim, dim, qkv_bias);
      add_linear(Layer(i, "attn_k"), kv_dim, dim, qkv_bias);
      add_linear(Layer(i, "attn_v"), kv_dim, dim, qkv_bias);
    } else {
      add_linear(Layer(i, "attn_qkv"), q_dim + 2 * kv_dim, dim, qkv_bias);
    }
    if (a.qk_norm()) {
      add_norm(Layer(i, "attn_q_norm"), a.head_dim());
      add_norm(Layer(i, "attn_k_norm"), a.head_dim());
    }
    add_linear(Layer(i, "attn_output"), dim, q_dim, a.biases());
    if (a.post_norms()) add_norm(Layer(i, "attn_post_norm"), dim);
    add_norm(Layer(i, "ffn_norm"), dim);
    if (!IsGated(a.mlp())) {
      add_linear(Layer(i, "ffn_up"), hidden, dim, a.biases());
    } else if (a.split_projections()) {
      add_linear(Layer(i, "ffn_gate"), hidden, dim, a.biases());
      add_linear(Layer(i, "ffn_up"), hidden, dim, a.biases());
    } else {
      add_linear(Layer(i, "ffn_gate_up"), 2 * hidden, dim, a.biases());
    }
    add_linear(Layer(i, "ffn_down"), dim, hidden, a.biases());
    if (a.post_norms()) add_norm(Layer(i, "ffn_post_norm"), dim);
  }
  if (!a.post_layer_norm()) add_norm("output_norm", dim);
  if (!a.bidirectional() && !a.tied_output()) {
    add("output.weight", {a.vocab_size(), dim}, true);
  }
  if (a.classifier_labels() > 0) {
    add_linear("cls", dim, dim, true);
    add_linear("cls.output", a.classifier_labels(), dim, true);
  }
  return specs;
}

absl::StatusOr<std::unique_ptr<Model>> Model::Create(std::unique_ptr<ModelData> data) {
  std::unique_ptr<Model> model(new Model(std::move(data)));
  SM_RETURN_IF_ERROR(model->Resolve());
  return model;
}

absl::Status Model::Resolve() {
  const Architecture& a = arch();
  SM_RETURN_IF_ERROR(ValidateArchitecture(a));
  const TokenizerSpec& tok = description().tokenizer();
  if (tok.tokens_size() != static_cast<int>(a.vocab_size())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the tokenizer has ", tok.tokens_size(),
        " tokens but the architecture's vocab_size is ", a.vocab_size()));
  }
  const std::vector<TensorSpec> specs = ExpectedTensors(a);
  absl::flat_hash_set<std::string> expected;
  for (const TensorSpec& spec : specs) expected.insert(spec.name);
  for (const ModelTensor& t : data_->tensors) {
    if (!expected.contains(t.name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unexpected tensor '", t.name, "' for this architecture"));
    }
  }
  absl::flat_hash_map<std::string, core::TensorView> views;
  for (const TensorSpec& spec : specs) {
    if (data_->Find(spec.name) == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("missing tensor '", spec.name, "'"));
    }
    absl::StatusOr<core::TensorView> view = data_->View(spec.name);
    if (!view.ok()) return view.status();
    const auto dims = view->shape().dims();
    if (std::vector<int64_t>(dims.begin(), dims.end()) != spec.shape) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor '", spec.name, "' has shape ", view->shape().ToString(),
          " but the architecture needs ", core::DimsToString(spec.shape)));
    }
    if (!spec.is_matrix && !spec.lookup && view->dtype() != core::DType::kF32) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor '", spec.name, "' is ",
                       core::DTypeName(view->dtype()), "; it must be f32"));
    }
    views[spec.name] = *view;
  }
  auto get = [&](const std::string& name) {
    auto it = views.find(name);
    return it == views.end() ? core::TensorView() : it->second;
  };
  token_embd_ = get("token_embd.weight");
  position_embd_ = get("position_embd.weight");
  out_norm_w_ = get("output_norm.weight");
  out_norm_b_ = get("output_norm.bias");
  output_ = a.bidirectional() ? core::TensorView()
            : a.tied_output() ? token_embd_
                              : get("output.weight");
  token_types_ = get("token_types.weight");
  embd_norm_w_ = get("token_embd_norm.weight");
  embd_norm_b_ = get("token_embd_norm.bias");
  cls_ = get("cls.weight");
  cls_bias_ = get("cls.bias");
  cls_output_ = get("cls.output.weight");
  cls_output_bias_ = get("cls.output.bias");
  rope_freqs_ = get("rope_freqs.weight");
  layers_.resize(a.num_layers());
  for (int i = 0; i < static_cast<int>(a.num_layers()); ++i) {
    LayerTensors& l = layers_[i];
    l.attn_norm_weight = get(Layer(i, "attn_norm.weight"));
    l.attn_norm_bias = get(Layer(i, "attn_norm.bias"));
    auto projection = [&](std::initializer_list<const char*> parts) {
      Projection p;
      for (const char* part : parts) {
        p.parts.push_back(get(Layer(i, absl::StrCat(part, ".weight"))));
        p.biases.push_back(get(Layer(i, absl::StrCat(part, ".bias"))));
      }
      return p;
    };
    const bool split = a.split_projections();
    l.qkv = split ? projection({"attn_q", "attn_k", "attn_v"}) : projection({"attn_qkv"});
    l.attn_output = get(Layer(i, "attn_output.weight"));
    l.attn_output_bias = get(Layer(i, "attn_output.bias"));
    l.ffn_norm_weight = get(Layer(i, "ffn_norm.weight"));
    l.ffn_norm_bias = get(Layer(i, "ffn_norm.bias"));
    l.ffn_up = !IsGated(a.mlp()) ? projection({"ffn_up"})
               : split         ? projection({"ffn_gate", "ffn_up"})
                               : projection({"ffn_gate_up"});
    l.ffn_down = get(Layer(i, "ffn_down.weight"));
    l.ffn_down_bias = get(Layer(i, "ffn_down.bias"));
    l.q_norm_weight = get(Layer(i, "attn_q_norm.weight"));
    l.k_norm_weight = get(Layer(i, "attn_k_norm.weight"));
    l.attn_post_norm_weight = get(Layer(i, "attn_post_norm.weight"));
    l.attn_post_norm_bias = get(Layer(i, "attn_post_norm.bias"));
    l.ffn_post_norm_weight = get(Layer(i, "ffn_post_norm.weight"));
    l.ffn_post_norm_bias = get(Layer(i, "ffn_post_norm.bias"));
  }
  return absl::OkStatus();
}

}  // namespace smallmind::model
