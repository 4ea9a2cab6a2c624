#include "formats/families.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"

namespace smallmind::formats {
namespace {

using model::GEGLU;
using model::GELU;
using model::GELU_ERF;
using model::LAYER_NORM;
using model::LEARNED;
using model::PAIRWISE;
using model::RMS_NORM;
using model::ROPE;
using model::ROPE_STYLE_UNSPECIFIED;
using model::ROTATE_HALF;
using model::SWIGLU;

constexpr HfConfigKeys kGpt2Config = {
    "n_embd", "n_layer", "n_head", nullptr, "n_inner", 4.0, "n_positions",
    "layer_norm_epsilon", 1e-5, "activation_function"};
constexpr HfConfigKeys kLlamaConfig = {
    "hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
    "intermediate_size", 0.0, "max_position_embeddings", "rms_norm_eps", 1e-6, "hidden_act"};
constexpr HfConfigKeys kGemmaConfig = {
    "hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
    "intermediate_size", 0.0, "max_position_embeddings", "rms_norm_eps", 1e-6,
    "hidden_activation"};

// llama.cpp's names for Gemma 3's extra norms, and for Phi-3's fused
// gate|up matrix.
constexpr TensorName kGemmaGguf[] = {
    {"attn_post_norm.weight", "blk.{L}.post_attention_norm.weight"},
    {"ffn_post_norm.weight", "blk.{L}.post_ffw_norm.weight"},
};
constexpr TensorName kPhi3Gguf[] = {
    {"ffn_gate_up.weight", "blk.{L}.ffn_up.weight"},
};

// llama.cpp's names for BERT's post-LN norms, and nomic-bert's gate and
// up, which it keeps apart (where q|k|v is fused).
constexpr TensorName kBertGguf[] = {
    {"attn_norm.weight", "blk.{L}.attn_output_norm.weight"},
    {"attn_norm.bias", "blk.{L}.attn_output_norm.bias"},
    {"ffn_norm.weight", "blk.{L}.layer_output_norm.weight"},
    {"ffn_norm.bias", "blk.{L}.layer_output_norm.bias"},
    {"ffn_gate_up.weight", "blk.{L}.ffn_gate.weight|blk.{L}.ffn_up.weight"},
};

constexpr HfConfigKeys kBertConfig = {
    "hidden_size", "num_hidden_layers", "num_attention_heads", nullptr, "intermediate_size", 0.0,
    "max_position_embeddings", "layer_norm_eps", 1e-12, "hidden_act"};
constexpr HfConfigKeys kNomicConfig = {
    "n_embd", "n_layer", "n_head", nullptr, "n_inner", 0.0, "n_positions",
    "layer_norm_epsilon", 1e-12, "activation_function", "rotary_emb_base"};

// transformers' BertModel (sentence-transformers saves it bare; a
// BertForSequenceClassification prefixes "bert.", which the importer
// strips, and adds the classifier).
constexpr TensorName kBertHf[] = {
    {"token_embd.weight", "embeddings.word_embeddings.weight"},
    {"position_embd.weight", "embeddings.position_embeddings.weight"},
    {"token_types.weight", "embeddings.token_type_embeddings.weight"},
    {"token_embd_norm.weight", "embeddings.LayerNorm.weight"},
    {"token_embd_norm.bias", "embeddings.LayerNorm.bias"},
    {"attn_q.weight", "encoder.layer.{L}.attention.self.query.weight"},
    {"attn_q.bias", "encoder.layer.{L}.attention.self.query.bias"},
    {"attn_k.weight", "encoder.layer.{L}.attention.self.key.weight"},
    {"attn_k.bias", "encoder.layer.{L}.attention.self.key.bias"},
    {"attn_v.weight", "encoder.layer.{L}.attention.self.value.weight"},
    {"attn_v.bias", "encoder.layer.{L}.attention.self.value.bias"},
    {"attn_output.weight", "encoder.layer.{L}.attention.output.dense.weight"},
    {"attn_output.bias", "encoder.layer.{L}.attention.output.dense.bias"},
    {"attn_norm.weight", "encoder.layer.{L}.attention.output.LayerNorm.weight"},
    {"attn_norm.bias", "encoder.layer.{L}.attention.output.LayerNorm.bias"},
    {"ffn_up.weight", "encoder.layer.{L}.intermediate.dense.weight"},
    {"ffn_up.bias", "encoder.layer.{L}.intermediate.dense.bias"},
    {"ffn_down.weight", "encoder.layer.{L}.output.dense.weight"},
    {"ffn_down.bias", "encoder.layer.{L}.output.dense.bias"},
    {"ffn_norm.weight", "encoder.layer.{L}.output.LayerNorm.weight"},
    {"ffn_norm.bias", "encoder.layer.{L}.output.LayerNorm.bias"},
    {"cls.weight", "pooler.dense.weight"},
    {"cls.bias", "pooler.dense.bias"},
    {"cls.output.weight", "classifier.weight"},
    {"cls.output.bias", "classifier.bias"},
};
// nomic-embed-text's own modelling code.
constexpr TensorName kNomicHf[] = {
    {"token_embd_norm.weight", "emb_ln.weight"},
    {"token_embd_norm.bias", "emb_ln.bias"},
    {"attn_qkv.weight", "encoder.layers.{L}.attn.Wqkv.weight"},
    {"attn_output.weight", "encoder.layers.{L}.attn.out_proj.weight"},
    {"attn_norm.weight", "encoder.layers.{L}.norm1.weight"},
    {"attn_norm.bias", "encoder.layers.{L}.norm1.bias"},
    {"ffn_gate_up.weight", "encoder.layers.{L}.mlp.fc12.weight|encoder.layers.{L}.mlp.fc11.weight"},
    {"ffn_down.weight", "encoder.layers.{L}.mlp.fc2.weight"},
    {"ffn_norm.weight", "encoder.layers.{L}.norm2.weight"},
    {"ffn_norm.bias", "encoder.layers.{L}.norm2.bias"},
};

// transformers' Llama-style checkpoints (Qwen, Gemma and Phi-3 add to them).
constexpr TensorName kLlamaHf[] = {
    {"token_embd.weight", "model.embed_tokens.weight"},
    {"output_norm.weight", "model.norm.weight"},
    {"output.weight", "lm_head.weight"},
    {"attn_norm.weight", "model.layers.{L}.input_layernorm.weight"},
    {"attn_q.weight", "model.layers.{L}.self_attn.q_proj.weight"},
    {"attn_k.weight", "model.layers.{L}.self_attn.k_proj.weight"},
    {"attn_v.weight", "model.layers.{L}.self_attn.v_proj.weight"},
    {"attn_q.bias", "model.layers.{L}.self_attn.q_proj.bias"},
    {"attn_k.bias", "model.layers.{L}.self_attn.k_proj.bias"},
    {"attn_v.bias", "model.layers.{L}.self_attn.v_proj.bias"},
    {"attn_qkv.weight", "model.layers.{L}.self_attn.qkv_proj.weight"},
    {"attn_q_norm.weight", "model.layers.{L}.self_attn.q_norm.weight"},
    {"attn_k_norm.weight", "model.layers.{L}.self_attn.k_norm.weight"},
    {"attn_output.weight", "model.layers.{L}.self_attn.o_proj.weight"},
    {"ffn_norm.weight", "model.layers.{L}.post_attention_layernorm.weight"},
    {"ffn_gate.weight", "model.layers.{L}.mlp.gate_proj.weight"},
    {"ffn_up.weight", "model.layers.{L}.mlp.up_proj.weight"},
    {"ffn_gate_up.weight", "model.layers.{L}.mlp.gate_up_proj.weight"},
    {"ffn_down.weight", "model.layers.{L}.mlp.down_proj.weight"},
};
// Gemma's norm before the MLP, and after attention and the MLP.
constexpr TensorName kGemmaHf[] = {
    {"ffn_norm.weight", "model.layers.{L}.pre_feedforward_layernorm.weight"},
    {"attn_post_norm.weight", "model.layers.{L}.post_attention_layernorm.weight"},
    {"ffn_post_norm.weight", "model.layers.{L}.post_feedforward_layernorm.weight"},
};
constexpr TensorName kGpt2Hf[] = {
    {"token_embd.weight", "wte.weight"},
    {"position_embd.weight", "wpe.weight"},
    {"attn_norm.weight", "h.{L}.ln_1.weight"},
    {"attn_norm.bias", "h.{L}.ln_1.bias"},
    {"attn_qkv.weight", "h.{L}.attn.c_attn.weight"},
    {"attn_qkv.bias", "h.{L}.attn.c_attn.bias"},
    {"attn_output.weight", "h.{L}.attn.c_proj.weight"},
    {"attn_output.bias", "h.{L}.attn.c_proj.bias"},
    {"ffn_norm.weight", "h.{L}.ln_2.weight"},
    {"ffn_norm.bias", "h.{L}.ln_2.bias"},
    {"ffn_up.weight", "h.{L}.mlp.c_fc.weight"},
    {"ffn_up.bias", "h.{L}.mlp.c_fc.bias"},
    {"ffn_down.weight", "h.{L}.mlp.c_proj.weight"},
    {"ffn_down.bias", "h.{L}.mlp.c_proj.bias"},
    {"output_norm.weight", "ln_f.weight"},
    {"output_norm.bias", "ln_f.bias"},
    {"output.weight", "lm_head.weight"},
};

// The rows, one function each (standard C++17 has no designated
// initializers); what a row leaves out is false or empty.
constexpr Family Llama() {
  Family f{};
  f.name = "llama";
  f.hf_model_type = "llama";
  f.norm = RMS_NORM;
  f.positions = ROPE;
  f.mlp = SWIGLU;
  f.gguf_rope_style = PAIRWISE;
  f.hf_config = &kLlamaConfig;
  f.hf_activation = "silu";
  f.hf_names = kLlamaHf;
  return f;
}

constexpr Family Gpt2() {
  Family f{};
  f.name = "gpt2";
  f.hf_model_type = "gpt2";
  f.norm = LAYER_NORM;
  f.positions = LEARNED;
  f.mlp = GELU;
  f.biases = true;
  f.gguf_rope_style = ROPE_STYLE_UNSPECIFIED;
  f.hf_config = &kGpt2Config;
  f.hf_activation = "gelu_new";
  f.hf_activation_alt = "gelu_pytorch_tanh";
  f.hf_names = kGpt2Hf;
  f.hf_conv1d = true;
  f.hf_gpt2_vocab = true;
  return f;
}

constexpr Family Qwen2() {
  Family f = Llama();
  f.name = f.hf_model_type = "qwen2";
  f.qkv_bias = true;
  f.gguf_rope_style = ROTATE_HALF;
  return f;
}

constexpr Family Qwen3() {
  Family f = Llama();
  f.name = f.hf_model_type = "qwen3";
  f.qk_norm = true;
  f.gguf_rope_style = ROTATE_HALF;
  return f;
}

constexpr Family Gemma3() {
  Family f = Llama();
  f.name = "gemma3";
  f.hf_model_type = "gemma3_text";
  f.mlp = GEGLU;
  f.qk_norm = true;
  f.post_norms = true;
  f.gemma = true;
  f.gguf_rope_style = ROTATE_HALF;
  f.gguf_names = kGemmaGguf;
  f.hf_config = &kGemmaConfig;
  f.hf_activation = "gelu_pytorch_tanh";
  f.hf_own_names = kGemmaHf;
  f.hf_norm_plus_one = true;
  return f;
}

constexpr Family Phi3() {
  Family f = Llama();
  f.name = f.hf_model_type = "phi3";
  f.gguf_rope_style = ROTATE_HALF;
  f.gguf_names = kPhi3Gguf;
  f.hf_fused = true;
  return f;
}

// BERT: learned positions and segments, the exact GELU, biases everywhere.
constexpr Family Bert() {
  Family f{};
  f.name = f.hf_model_type = "bert";
  f.norm = LAYER_NORM;
  f.positions = LEARNED;
  f.mlp = GELU_ERF;
  f.biases = true;
  f.encoder = true;
  f.gguf_rope_style = ROPE_STYLE_UNSPECIFIED;
  f.gguf_names = kBertGguf;
  f.hf_config = &kBertConfig;
  f.hf_activation = "gelu";
  f.hf_names = kBertHf;
  return f;
}

// nomic-embed-text: BERT with rotary positions and SwiGLU, and no biases
// in its linear layers.
constexpr Family NomicBert() {
  Family f = Bert();
  f.name = "nomic-bert";
  f.hf_model_type = "nomic_bert";
  f.positions = ROPE;
  f.mlp = SWIGLU;
  f.biases = false;
  f.gguf_rope_style = ROTATE_HALF;
  f.hf_config = &kNomicConfig;
  f.hf_activation = "swiglu";
  f.hf_own_names = kNomicHf;
  f.hf_fused = true;  // q|k|v in one tensor
  return f;
}

// XLM-RoBERTa (bge-m3, multilingual-e5, bge-reranker-v2-m3): BERT's layers
// with RoBERTa's position offset, one segment, a Unigram vocabulary, and
// a classification head of its own names. llama.cpp writes it as "bert".
constexpr TensorName kXlmRobertaHf[] = {
    {"cls.weight", "classifier.dense.weight"},
    {"cls.bias", "classifier.dense.bias"},
    {"cls.output.weight", "classifier.out_proj.weight"},
    {"cls.output.bias", "classifier.out_proj.bias"},
};
constexpr Family XlmRoberta() {
  Family f = Bert();
  f.hf_model_type = "xlm-roberta";
  f.hf_own_names = kXlmRobertaHf;
  f.hf_position_offset = true;
  return f;
}

constexpr Family kFamilies[] = {Llama(),  Gpt2(), Qwen2(), Qwen3(),     Gemma3(),
                                Phi3(),   Bert(), NomicBert(), XlmRoberta()};

// `name` split into its layer ("" outside layers) and the rest.
std::pair<std::string, std::string> SplitLayer(const std::string& name) {
  if (name.rfind("blk.", 0) != 0) return {"", name};
  const size_t dot = name.find('.', 4);
  return {name.substr(4, dot - 4), name.substr(dot + 1)};
}

// `name` looked up in `names` (first match), "{L}" filled in.
const char* Lookup(absl::Span<const TensorName> names, const std::string& role) {
  for (const TensorName& n : names) {
    if (role == n.ours) return n.theirs;
  }
  return nullptr;
}

}  // namespace

absl::Span<const Family> Families() { return kFamilies; }

const Family* FindFamily(absl::string_view name) {
  for (const Family& f : kFamilies) {
    if (name == f.name) return &f;
  }
  return nullptr;
}

const Family* FindHfFamily(absl::string_view model_type) {
  for (const Family& f : kFamilies) {
    if (f.hf_model_type != nullptr && model_type == f.hf_model_type) return &f;
  }
  return nullptr;
}

std::string FamilyNames() {
  return absl::StrJoin(kFamilies, ", ", [](std::string* out, const Family& f) {
    out->append(f.name);
  });
}

std::string HfModelTypes() {
  std::vector<const char*> types;
  for (const Family& f : kFamilies) {
    if (f.hf_model_type != nullptr) types.push_back(f.hf_model_type);
  }
  return absl::StrJoin(types, ", ");
}

void SetFamilyKnobs(const Family& f, model::Architecture& a) {
  a.set_name(f.name);
  a.set_norm(f.norm);
  a.set_positions(f.positions);
  a.set_mlp(f.mlp);
  a.set_biases(f.biases);
  a.set_qkv_bias(f.qkv_bias);
  a.set_qk_norm(f.qk_norm);
  a.set_post_norms(f.post_norms);
  a.set_bidirectional(f.encoder);
  a.set_post_layer_norm(f.encoder);
}

namespace {

std::vector<std::string> Parts(const char* theirs, const std::string& layer) {
  return absl::StrSplit(absl::StrReplaceAll(theirs, {{"{L}", layer}}), '|');
}

}  // namespace

std::vector<std::string> GgufNames(const Family& f, const std::string& name) {
  const auto [layer, role] = SplitLayer(name);
  const char* theirs = Lookup(f.gguf_names, role);
  if (theirs == nullptr) return {name};
  return Parts(theirs, layer);
}

std::vector<std::string> HfNames(const Family& f, const std::string& name) {
  const auto [layer, role] = SplitLayer(name);
  const char* theirs = Lookup(f.hf_own_names, role);
  if (theirs == nullptr) theirs = Lookup(f.hf_names, role);
  if (theirs == nullptr) return {};
  return Parts(theirs, layer);
}

}  // namespace smallmind::formats
