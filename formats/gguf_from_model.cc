#include "formats/gguf_from_model.h"

#include <cmath>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "core/status.h"
#include "formats/gguf_builder.h"
#include "model/tensor_codec.h"
#include "text/tokenizer.h"

namespace smallmind::formats {
namespace {

}  // namespace

std::string GgufArchitectureOf(const model::Architecture& a) {
  if (a.positions() == model::LEARNED && a.norm() == model::LAYER_NORM &&
      a.mlp() == model::GELU) {
    return "gpt2";
  }
  if (a.positions() != model::ROPE || a.norm() != model::RMS_NORM ||
      a.biases() || a.rotary_dim() != a.head_dim()) {
    return "";
  }
  if (a.mlp() == model::GEGLU && a.qk_norm() && a.post_norms()) return "gemma3";
  if (a.mlp() != model::SWIGLU || a.post_norms() || a.sliding_window() > 0) return "";
  if (a.rope_style() == model::PAIRWISE && !a.qkv_bias() && !a.qk_norm()) return "llama";
  if (a.rope_style() != model::ROTATE_HALF) return "";
  if (a.qkv_bias() && !a.qk_norm()) return "qwen2";
  if (a.qk_norm() && !a.qkv_bias()) return "qwen3";
  if (!a.qkv_bias() && !a.qk_norm() && !a.rope_freq_factors()) return "phi3";
  return "";
}

namespace {

// How one of our tensors is stored in `arch`'s GGUF: its pieces (name and
// leading-dimension length), in order.
std::vector<std::pair<std::string, int64_t>> GgufPieces(const model::Architecture& a,
                                                        const std::string& arch,
                                                        const model::TensorSpec& spec) {
  const auto renamed = [&](const char* ours, const char* theirs) {
    return absl::StrReplaceAll(spec.name, {{ours, theirs}});
  };
  const int64_t q = int64_t{a.num_heads()} * a.head_dim();
  const int64_t kv = int64_t{a.num_kv_heads()} * a.head_dim();
  // Phi-3 keeps q|k|v and gate|up fused (the latter named ffn_up); the
  // others keep them apart.
  if (absl::StrContains(spec.name, "attn_qkv.") && arch != "phi3") {
    return {{renamed("attn_qkv.", "attn_q."), q},
            {renamed("attn_qkv.", "attn_k."), kv},
            {renamed("attn_qkv.", "attn_v."), kv}};
  }
  if (absl::StrContains(spec.name, "ffn_gate_up.")) {
    if (arch == "phi3") return {{renamed("ffn_gate_up.", "ffn_up."), spec.shape[0]}};
    return {{renamed("ffn_gate_up.", "ffn_gate."), a.hidden_dim()},
            {renamed("ffn_gate_up.", "ffn_up."), a.hidden_dim()}};
  }
  if (absl::StrContains(spec.name, "attn_post_norm.")) {
    return {{renamed("attn_post_norm.", "post_attention_norm."), spec.shape[0]}};
  }
  if (absl::StrContains(spec.name, "ffn_post_norm.")) {
    return {{renamed("ffn_post_norm.", "post_ffw_norm."), spec.shape[0]}};
  }
  return {{spec.name, spec.shape[0]}};
}

// tokenizer.ggml.* as llama.cpp's converter writes them. A character
// vocabulary (the golden models') is written as its family's kind.
absl::Status AddTokenizer(const model::TokenizerSpec& tok, const std::string& arch,
                          GgufBuilder& b) {
  const bool byte_level = tok.kind() == model::GPT2_BPE ||
                          (tok.kind() == model::CHAR && arch == "gpt2");
  b.String("tokenizer.ggml.model", byte_level ? "gpt2" : "llama");
  if (byte_level) {
    absl::StatusOr<std::string> pre = text::PreTokenizerName(tok.pre_tokenizer());
    if (tok.pre_tokenizer().split_patterns_size() == 0) pre = std::string("gpt-2");
    if (!pre.ok()) return pre.status();
    b.String("tokenizer.ggml.pre", *pre);
  } else if (tok.pre_tokenizer().has_add_space_prefix()) {
    b.Bool("tokenizer.ggml.add_space_prefix", tok.pre_tokenizer().add_space_prefix());
  }
  b.Strings("tokenizer.ggml.tokens", {tok.tokens().begin(), tok.tokens().end()});
  if (!byte_level) {
    std::vector<float> scores(tok.tokens_size());
    for (int i = 0; i < tok.scores_size() && i < tok.tokens_size(); ++i) scores[i] = tok.scores(i);
    b.Floats("tokenizer.ggml.scores", scores);
  }
  std::vector<int32_t> types(tok.tokens_size(), model::NORMAL);
  for (int i = 0; i < tok.token_types_size() && i < tok.tokens_size(); ++i) {
    if (tok.token_types(i) != model::TOKEN_TYPE_UNSPECIFIED) types[i] = tok.token_types(i);
  }
  b.Int32s("tokenizer.ggml.token_type", types);
  if (tok.merges_size() > 0) {
    b.Strings("tokenizer.ggml.merges", {tok.merges().begin(), tok.merges().end()});
  }
  if (tok.has_bos_id()) b.Uint32("tokenizer.ggml.bos_token_id", tok.bos_id());
  if (tok.has_eos_id()) b.Uint32("tokenizer.ggml.eos_token_id", tok.eos_id());
  if (tok.has_unknown_id()) b.Uint32("tokenizer.ggml.unknown_token_id", tok.unknown_id());
  b.Bool("tokenizer.ggml.add_bos_token", tok.add_bos());
  if (!tok.chat_template().empty()) b.String("tokenizer.chat_template", tok.chat_template());
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<uint8_t>> GgufFromModel(const model::Model& model,
                                                   core::DType matrices) {
  const model::Architecture& a = model.arch();
  const std::string arch = GgufArchitectureOf(a);
  if (arch.empty()) {
    return absl::UnimplementedError(
        absl::StrCat("'", a.name(), "' is no GGUF architecture SmallMind reads"));
  }
  GgufBuilder b;
  const auto key = [&](const char* k) { return absl::StrCat(arch, ".", k); };
  b.String("general.architecture", arch);
  b.String("general.name", "round trip");
  b.Uint32(key("context_length"), a.context_length());
  b.Uint32(key("embedding_length"), a.embedding_dim());
  b.Uint32(key("block_count"), a.num_layers());
  b.Uint32(key("feed_forward_length"), a.hidden_dim());
  b.Uint32(key("attention.head_count"), a.num_heads());
  b.Uint32(key("attention.head_count_kv"), a.num_kv_heads());
  if (arch == "gpt2") {
    b.Float32(key("attention.layer_norm_epsilon"), a.norm_eps());
  } else {
    b.Float32(key("attention.layer_norm_rms_epsilon"), a.norm_eps());
    b.Float32(key("rope.freq_base"), a.rope_base());
    b.Uint32(key("rope.dimension_count"), a.rotary_dim());
    b.Uint32(key("attention.key_length"), a.head_dim());
    b.Uint32(key("attention.value_length"), a.head_dim());
  }
  if (arch == "gemma3") {
    if (a.sliding_window() > 0) {
      b.Uint32(key("attention.sliding_window"), a.sliding_window());
      b.Uint32(key("attention.sliding_window_pattern"), a.sliding_window_pattern());
      b.Float32(key("rope.freq_base_swa"), a.rope_local_base());
    }
    if (a.attention_scale() != 0 &&
        a.attention_scale() != 1.0f / std::sqrt(static_cast<float>(a.head_dim()))) {
      b.Float32(key("attention.scale"), a.attention_scale());
    }
  }
  SM_RETURN_IF_ERROR(AddTokenizer(model.description().tokenizer(), arch, b));
  for (const model::TensorSpec& spec : model::ExpectedTensors(a)) {
    SM_ASSIGN_OR_RETURN(core::TensorView view, model.data().View(spec.name));
    const std::vector<float> values = model::DecodeAll(view);
    // A vector is split like a one-column matrix.
    const int64_t cols = spec.shape.size() == 2 ? spec.shape[1] : 1;
    int64_t row = 0;
    for (const auto& [name, rows] : GgufPieces(a, arch, spec)) {
      const std::vector<float> slice(values.begin() + row * cols,
                                     values.begin() + (row + rows) * cols);
      row += rows;
      const core::DType type = spec.is_matrix ? matrices : core::DType::kF32;
      SM_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes,
                          model::EncodeF32(slice, spec.shape.size() == 2 ? cols : rows, type));
      std::vector<uint64_t> dims;
      if (spec.shape.size() == 2) {
        dims = {static_cast<uint64_t>(cols), static_cast<uint64_t>(rows)};
      } else {
        dims = {static_cast<uint64_t>(rows)};
      }
      b.Tensor(name, dims, core::Traits(type).ggml_type, bytes);
    }
  }
  return b.Build();
}

}  // namespace smallmind::formats
