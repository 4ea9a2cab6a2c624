#include "tools/convert/test_formats.h"

#include <cstdint>
#include <vector>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "runtime/tensor_codec.h"
#include "runtime/tokenizer.h"

namespace smallmind::convert {
namespace {

void Append(std::string& out, const void* data, size_t size) {
  out.append(static_cast<const char*>(data), size);
}

std::vector<float> Weights(const runtime::Model& m, const std::string& name) {
  return runtime::DecodeAll(*m.file().Tensor(name));
}

}  // namespace

Llama2cFiles Llama2cFromModel(const runtime::Model& m) {
  Llama2cFiles files;
  const runtime::Architecture& a = m.arch();
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

HfGpt2Files HfGpt2FromModel(const runtime::Model& m, const std::string& dtype) {
  HfGpt2Files files;
  const runtime::Architecture& a = m.arch();
  struct Entry {
    std::string name;
    std::vector<int64_t> shape;
    std::vector<float> values;
  };
  std::vector<Entry> entries;
  auto add = [&](const std::string& hf, const std::string& ours, bool conv1d) {
    core::TensorView view = *m.file().Tensor(ours);
    std::vector<float> v = runtime::DecodeAll(view);
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
                     runtime::DecodeAll(*m.file().Tensor("output.weight"))});

  nlohmann::json header;
  header["__metadata__"] = {{"format", "pt"}};
  std::string data;
  const core::DType d = dtype == "F16" ? core::DType::kF16 : core::DType::kF32;
  for (const Entry& e : entries) {
    std::vector<uint8_t> bytes = *runtime::EncodeF32(e.values, e.shape.back(), d);
    header[e.name] = {{"dtype", dtype},
                      {"shape", e.shape},
                      {"data_offsets", {data.size(), data.size() + bytes.size()}}};
    Append(data, bytes.data(), bytes.size());
  }
  const std::string text = header.dump();
  const uint64_t length = text.size();
  Append(files.safetensors, &length, 8);
  files.safetensors += text + data;

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
    vocab[runtime::Gpt2EncodeBytes(m.description().tokenizer().tokens(i))] = i;
  }
  files.vocab = vocab.dump();
  files.merges = "#version: 0.2\nA B\n";
  return files;
}

}  // namespace smallmind::convert
