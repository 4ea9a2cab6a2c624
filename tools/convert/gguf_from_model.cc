#include "tools/convert/gguf_from_model.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "core/status.h"
#include "runtime/tensor_codec.h"
#include "tools/convert/gguf_builder.h"

namespace smallmind::convert {
absl::StatusOr<std::vector<uint8_t>> GgufFromModel(const runtime::Model& model,
                                                   core::DType matrices) {
  const runtime::Architecture& a = model.arch();
  const std::string arch = a.positions() == runtime::ROPE ? "llama" : "gpt2";
  GgufBuilder b;
  b.String("general.architecture", arch);
  b.String("general.name", "round trip");
  b.Uint32(arch + ".context_length", a.context_length());
  b.Uint32(arch + ".embedding_length", a.embedding_dim());
  b.Uint32(arch + ".block_count", a.num_layers());
  b.Uint32(arch + ".feed_forward_length", a.hidden_dim());
  b.Uint32(arch + ".attention.head_count", a.num_heads());
  b.Uint32(arch + ".attention.head_count_kv", a.num_kv_heads());
  if (arch == "llama") {
    b.Float32("llama.attention.layer_norm_rms_epsilon", a.norm_eps());
    b.Float32("llama.rope.freq_base", a.rope_base());
    b.Uint32("llama.rope.dimension_count", a.rotary_dim());
  } else {
    b.Float32("gpt2.attention.layer_norm_epsilon", a.norm_eps());
  }
  const runtime::TokenizerSpec& tok = model.description().tokenizer();
  b.String("tokenizer.ggml.model", arch);
  b.Strings("tokenizer.ggml.tokens", {tok.tokens().begin(), tok.tokens().end()});
  std::vector<float> scores(tok.tokens_size());
  for (int i = 0; i < tok.scores_size() && i < tok.tokens_size(); ++i) {
    scores[i] = tok.scores(i);
  }
  b.Floats("tokenizer.ggml.scores", scores);
  std::vector<int32_t> types(tok.tokens_size(), runtime::NORMAL);
  b.Int32s("tokenizer.ggml.token_type", types);
  b.Uint32("tokenizer.ggml.eos_token_id", 1);
  b.Bool("tokenizer.ggml.add_bos_token", false);

  for (const runtime::TensorSpec& spec : runtime::ExpectedTensors(a)) {
    SM_ASSIGN_OR_RETURN(core::TensorView view, model.file().Tensor(spec.name));
    const std::vector<float> values = runtime::DecodeAll(view);
    const int64_t cols = spec.shape.back();
    // llama's GGUF keeps q, k, v and gate, up as separate tensors.
    const int64_t total_rows = spec.shape.size() == 2 ? spec.shape[0] : 1;
    std::vector<std::pair<std::string, int64_t>> parts = {{spec.name, total_rows}};
    if (arch == "llama" && absl::StrContains(spec.name, "attn_qkv")) {
      const int64_t q = int64_t{a.num_heads()} * a.head_dim();
      const int64_t kv = int64_t{a.num_kv_heads()} * a.head_dim();
      auto name = [&](const char* p) {
        return absl::StrReplaceAll(spec.name, {{"attn_qkv", p}});
      };
      parts = {{name("attn_q"), q}, {name("attn_k"), kv}, {name("attn_v"), kv}};
    } else if (absl::StrContains(spec.name, "ffn_gate_up")) {
      auto name = [&](const char* p) {
        return absl::StrReplaceAll(spec.name, {{"ffn_gate_up", p}});
      };
      parts = {{name("ffn_gate"), a.hidden_dim()}, {name("ffn_up"), a.hidden_dim()}};
    }
    int64_t row = 0;
    for (const auto& [name, rows] : parts) {
      const std::vector<float> slice(values.begin() + row * cols,
                                     values.begin() + (row + rows) * cols);
      row += rows;
      const core::DType type = spec.is_matrix ? matrices : core::DType::kF32;
      SM_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes,
                          runtime::EncodeF32(slice, cols, type));
      std::vector<uint64_t> dims = {static_cast<uint64_t>(cols)};
      if (spec.shape.size() == 2) dims.push_back(rows);
      b.Tensor(name, dims, core::Traits(type).ggml_type, bytes);
    }
  }
  return b.Build();
}

}  // namespace smallmind::convert
