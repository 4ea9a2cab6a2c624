#include "formats/test_formats.h"

#include <cstdint>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "formats/gguf_from_model.h"
#include "model/tensor_codec.h"
#include "nlohmann/json.hpp"
#include "text/tokenizer.h"

namespace smallmind::formats {
namespace {

void Append(std::string& out, const void* data, size_t size) {
  out.append(static_cast<const char*>(data), size);
}

std::vector<float> Weights(const model::Model& m, const std::string& name) {
  return model::DecodeAll(*m.data().View(name));
}

}  // namespace

Llama2cFiles Llama2cFromModel(const model::Model& m) {
  Llama2cFiles files;
  const model::Architecture& a = m.arch();
  const int32_t header[7] = {
      static_cast<int32_t>(a.embedding_dim()), static_cast<int32_t>(a.hidden_dim()),
      static_cast<int32_t>(a.num_layers()),    static_cast<int32_t>(a.num_heads()),
      static_cast<int32_t>(a.num_kv_heads()),  static_cast<int32_t>(a.vocab_size()),
      static_cast<int32_t>(a.context_length())};
  std::string& out = files.checkpoint;
  Append(out, header, sizeof(header));
  auto put = [&](const std::vector<float>& v, size_t begin, size_t count) {
    Append(out, v.data() + begin, count * 4);
  };
  const int64_t dim = a.embedding_dim(), hidden = a.hidden_dim();
  const int64_t q = a.num_heads() * a.head_dim(), kv = a.num_kv_heads() * a.head_dim();
  const std::vector<float> emb = Weights(m, "token_embd.weight");
  put(emb, 0, emb.size());
  auto per_layer = [&](const char* name, size_t begin, size_t count) {
    for (uint32_t l = 0; l < a.num_layers(); ++l) {
      put(Weights(m, absl::StrCat("blk.", l, ".", name)), begin, count);
    }
  };
  per_layer("attn_norm.weight", 0, dim);
  per_layer("attn_qkv.weight", 0, q * dim);
  per_layer("attn_qkv.weight", q * dim, kv * dim);
  per_layer("attn_qkv.weight", (q + kv) * dim, kv * dim);
  per_layer("attn_output.weight", 0, dim * q);
  per_layer("ffn_norm.weight", 0, dim);
  per_layer("ffn_gate_up.weight", 0, hidden * dim);          // w1: gate
  per_layer("ffn_down.weight", 0, dim * hidden);             // w2
  per_layer("ffn_gate_up.weight", hidden * dim, hidden * dim);  // w3: up
  put(Weights(m, "output_norm.weight"), 0, dim);
  const std::vector<float> freqs(a.context_length() * a.head_dim(), 0.0f);
  put(freqs, 0, freqs.size());  // freq_cis_real, freq_cis_imag

  std::string& tok = files.tokenizer;
  const int32_t max_length = 8;
  Append(tok, &max_length, 4);
  for (int i = 0; i < m.description().tokenizer().tokens_size(); ++i) {
    std::string piece = m.description().tokenizer().tokens(i);
    if (i == 0) piece = "<unk>";
    if (i == 1) piece = "\n<s>\n";
    if (i == 2) piece = "\n</s>\n";
    if (i == 10) piece = " x";  // export.py wrote ▁ as a space
    const float score = -i;
    const int32_t length = piece.size();
    Append(tok, &score, 4);
    Append(tok, &length, 4);
    tok += piece;
  }
  return files;
}

namespace {

struct Entry {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> values;
};

// A .safetensors file of `entries` stored as `dtype` (F32, F16 or BF16).
std::string Safetensors(const std::vector<Entry>& entries, const std::string& dtype) {
  nlohmann::json header;
  header["__metadata__"] = {{"format", "pt"}};
  std::string data;
  const core::DType d = dtype == "F16"    ? core::DType::kF16
                        : dtype == "BF16" ? core::DType::kBF16
                                          : core::DType::kF32;
  for (const Entry& e : entries) {
    std::vector<uint8_t> bytes = *model::EncodeF32(e.values, e.shape.back(), d);
    header[e.name] = {{"dtype", dtype},
                      {"shape", e.shape},
                      {"data_offsets", {data.size(), data.size() + bytes.size()}}};
    Append(data, bytes.data(), bytes.size());
  }
  const std::string text = header.dump();
  const uint64_t length = text.size();
  std::string out;
  Append(out, &length, 8);
  return out + text + data;
}

}  // namespace

HfGpt2Files HfGpt2FromModel(const model::Model& m, const std::string& dtype) {
  HfGpt2Files files;
  const model::Architecture& a = m.arch();
  std::vector<Entry> entries;
  auto add = [&](const std::string& hf, const std::string& ours, bool conv1d) {
    core::TensorView view = *m.data().View(ours);
    std::vector<float> v = model::DecodeAll(view);
    std::vector<int64_t> shape(view.shape().dims().begin(), view.shape().dims().end());
    if (conv1d) {  // stored [in, out]
      const int64_t rows = shape[0], cols = shape[1];
      std::vector<float> t(v.size());
      for (int64_t r = 0; r < rows; ++r) {
        for (int64_t c = 0; c < cols; ++c) t[c * rows + r] = v[r * cols + c];
      }
      v = std::move(t);
      shape = {cols, rows};
    }
    entries.push_back({"transformer." + hf, shape, std::move(v)});
  };
  add("wte.weight", "token_embd.weight", false);
  add("wpe.weight", "position_embd.weight", false);
  for (uint32_t l = 0; l < a.num_layers(); ++l) {
    const std::string h = absl::StrCat("h.", l, "."), b = absl::StrCat("blk.", l, ".");
    add(h + "ln_1.weight", b + "attn_norm.weight", false);
    add(h + "ln_1.bias", b + "attn_norm.bias", false);
    add(h + "attn.c_attn.weight", b + "attn_qkv.weight", true);
    add(h + "attn.c_attn.bias", b + "attn_qkv.bias", false);
    add(h + "attn.c_proj.weight", b + "attn_output.weight", true);
    add(h + "attn.c_proj.bias", b + "attn_output.bias", false);
    add(h + "ln_2.weight", b + "ffn_norm.weight", false);
    add(h + "ln_2.bias", b + "ffn_norm.bias", false);
    add(h + "mlp.c_fc.weight", b + "ffn_up.weight", true);
    add(h + "mlp.c_fc.bias", b + "ffn_up.bias", false);
    add(h + "mlp.c_proj.weight", b + "ffn_down.weight", true);
    add(h + "mlp.c_proj.bias", b + "ffn_down.bias", false);
  }
  add("ln_f.weight", "output_norm.weight", false);
  add("ln_f.bias", "output_norm.bias", false);
  entries.push_back({"lm_head.weight", {a.vocab_size(), a.embedding_dim()},
                     model::DecodeAll(*m.data().View("output.weight"))});

  files.safetensors = Safetensors(entries, dtype);

  nlohmann::json config = {{"model_type", "gpt2"},
                           {"activation_function", "gelu_new"},
                           {"n_embd", a.embedding_dim()},
                           {"n_layer", a.num_layers()},
                           {"n_head", a.num_heads()},
                           {"n_positions", a.context_length()},
                           {"n_inner", a.hidden_dim()},
                           {"vocab_size", a.vocab_size()},
                           {"layer_norm_epsilon", a.norm_eps()}};
  files.config = config.dump(2);
  nlohmann::json vocab;
  for (int i = 0; i < m.description().tokenizer().tokens_size(); ++i) {
    vocab[text::Gpt2EncodeBytes(m.description().tokenizer().tokens(i))] = i;
  }
  files.vocab = vocab.dump();
  files.merges = "#version: 0.2\nA B\n";
  return files;
}

std::map<std::string, std::string> HfFromModel(const model::Model& m,
                                               const std::string& dtype, int shards) {
  const model::Architecture& a = m.arch();
  const std::string family = GgufArchitectureOf(a);
  const bool gemma = family == "gemma3", phi3 = family == "phi3";
  const int64_t hd = a.head_dim();
  std::vector<Entry> entries;
  auto add = [&](const std::string& name, const std::string& ours, int64_t first_row = 0,
                 int64_t rows = -1) {
    core::TensorView view = *m.data().View(ours);
    std::vector<float> v = model::DecodeAll(view);
    std::vector<int64_t> shape(view.shape().dims().begin(), view.shape().dims().end());
    const int64_t cols = shape.size() == 2 ? shape[1] : 1;
    if (rows < 0) rows = shape[0];
    v = std::vector<float>(v.begin() + first_row * cols, v.begin() + (first_row + rows) * cols);
    shape[0] = rows;
    if (gemma && absl::EndsWith(ours, "norm.weight")) {
      for (float& x : v) x -= 1.0f;  // Gemma stores w - 1
    }
    entries.push_back({name, shape, std::move(v)});
  };
  // Llama's pairwise rows back in Hugging Face's rotate-half order: within
  // each head, the pair (2i, 2i+1) goes to rows i and i + head_dim/2.
  auto unpermute = [&](Entry& e) {
    if (a.rope_style() != model::PAIRWISE) return;
    const int64_t cols = e.shape.size() == 2 ? e.shape[1] : 1;
    std::vector<float> out(e.values.size());
    for (int64_t row = 0; row < e.shape[0]; ++row) {
      const int64_t head = row / hd, in = row % hd;
      const int64_t to = head * hd + (in % 2) * (hd / 2) + in / 2;
      std::copy_n(e.values.begin() + row * cols, cols, out.begin() + to * cols);
    }
    e.values = std::move(out);
  };
  add("model.embed_tokens.weight", "token_embd.weight");
  const int64_t q = a.num_heads() * hd, kv = a.num_kv_heads() * hd;
  for (uint32_t l = 0; l < a.num_layers(); ++l) {
    const std::string h = absl::StrCat("model.layers.", l, "."), b = absl::StrCat("blk.", l, ".");
    add(h + "input_layernorm.weight", b + "attn_norm.weight");
    if (phi3) {
      add(h + "self_attn.qkv_proj.weight", b + "attn_qkv.weight");
    } else {
      add(h + "self_attn.q_proj.weight", b + "attn_qkv.weight", 0, q);
      unpermute(entries.back());
      add(h + "self_attn.k_proj.weight", b + "attn_qkv.weight", q, kv);
      unpermute(entries.back());
      add(h + "self_attn.v_proj.weight", b + "attn_qkv.weight", q + kv, kv);
      if (a.qkv_bias()) {
        add(h + "self_attn.q_proj.bias", b + "attn_qkv.bias", 0, q);
        add(h + "self_attn.k_proj.bias", b + "attn_qkv.bias", q, kv);
        add(h + "self_attn.v_proj.bias", b + "attn_qkv.bias", q + kv, kv);
      }
    }
    if (a.qk_norm()) {
      add(h + "self_attn.q_norm.weight", b + "attn_q_norm.weight");
      add(h + "self_attn.k_norm.weight", b + "attn_k_norm.weight");
    }
    add(h + "self_attn.o_proj.weight", b + "attn_output.weight");
    if (gemma) {
      add(h + "post_attention_layernorm.weight", b + "attn_post_norm.weight");
      add(h + "pre_feedforward_layernorm.weight", b + "ffn_norm.weight");
      add(h + "post_feedforward_layernorm.weight", b + "ffn_post_norm.weight");
    } else {
      add(h + "post_attention_layernorm.weight", b + "ffn_norm.weight");
    }
    if (phi3) {
      add(h + "mlp.gate_up_proj.weight", b + "ffn_gate_up.weight");
    } else {
      add(h + "mlp.gate_proj.weight", b + "ffn_gate_up.weight", 0, a.hidden_dim());
      add(h + "mlp.up_proj.weight", b + "ffn_gate_up.weight", a.hidden_dim(), a.hidden_dim());
    }
    add(h + "mlp.down_proj.weight", b + "ffn_down.weight");
  }
  add("model.norm.weight", "output_norm.weight");
  if (!a.tied_output()) add("lm_head.weight", "output.weight");

  std::map<std::string, std::string> files;
  if (shards <= 1) {
    files["model.safetensors"] = Safetensors(entries, dtype);
  } else {
    nlohmann::json index;
    index["metadata"] = {{"total_size", 0}};
    for (int s = 0; s < shards; ++s) {
      std::vector<Entry> part;
      const std::string name = absl::StrFormat("model-%05d-of-%05d.safetensors", s + 1, shards);
      for (size_t i = s; i < entries.size(); i += shards) {
        part.push_back(entries[i]);
        index["weight_map"][entries[i].name] = name;
      }
      files[name] = Safetensors(part, dtype);
    }
    files["model.safetensors.index.json"] = index.dump(2);
  }

  const std::map<std::string, std::string> model_types = {
      {"llama", "llama"}, {"qwen2", "qwen2"}, {"qwen3", "qwen3"},
      {"gemma3", "gemma3_text"}, {"phi3", "phi3"}};
  nlohmann::json config = {{"model_type", model_types.at(family)},
                           {"hidden_size", a.embedding_dim()},
                           {"num_hidden_layers", a.num_layers()},
                           {"num_attention_heads", a.num_heads()},
                           {"num_key_value_heads", a.num_kv_heads()},
                           {"head_dim", a.head_dim()},
                           {"intermediate_size", a.hidden_dim()},
                           {"vocab_size", a.vocab_size()},
                           {"max_position_embeddings", a.context_length()},
                           {"rms_norm_eps", a.norm_eps()},
                           {"rope_theta", a.rope_base()},
                           {"tie_word_embeddings", a.tied_output()}};
  if (gemma) {
    config["hidden_activation"] = "gelu_pytorch_tanh";
    config["query_pre_attn_scalar"] = std::lround(1.0 / (a.attention_scale() * a.attention_scale()));
    config["sliding_window"] = a.sliding_window();
    config["sliding_window_pattern"] = a.sliding_window_pattern();
    config["rope_local_base_freq"] = a.rope_local_base();
  } else {
    config["hidden_act"] = "silu";
  }
  if (a.rope_freq_factors()) {
    const model::RopeScaling& r = a.rope_scaling();
    config["rope_scaling"] = {{"rope_type", "llama3"},
                              {"factor", r.factor()},
                              {"low_freq_factor", r.low_freq_factor()},
                              {"high_freq_factor", r.high_freq_factor()},
                              {"original_max_position_embeddings", r.original_context()}};
  }
  files["config.json"] = config.dump(2);

  // A byte-level tokenizer.json over the model's vocabulary (no merges).
  nlohmann::json vocab = nlohmann::json::object();
  const model::TokenizerSpec& tok = m.description().tokenizer();
  for (int i = 0; i < tok.tokens_size(); ++i) vocab[text::Gpt2EncodeBytes(tok.tokens(i))] = i;
  nlohmann::json tokenizer = {
      {"version", "1.0"},
      {"added_tokens", nlohmann::json::array()},
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", nlohmann::json::array()}}}};
  files["tokenizer.json"] = tokenizer.dump();
  files["tokenizer_config.json"] = "{}";
  return files;
}

}  // namespace smallmind::formats
