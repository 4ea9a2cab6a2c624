#include "tools/convert/gguf_import.h"

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "core/status.h"

namespace smallmind::convert {
namespace {

absl::StatusOr<core::DType> DTypeOf(const GgufTensor& t) {
  if (const core::DTypeTraits* traits = core::TraitsForGgml(t.type)) {
    return traits->dtype;
  }
  return absl::UnimplementedError(absl::StrCat(
      "tensor '", t.name, "' has ggml type ", t.type,
      ", which SmallMind does not read (it reads ", core::DTypeNameList(),
      "; re-quantize with llama-quantize)"));
}

absl::StatusOr<SourceTensor> Source(const GgufFile& file,
                                    const std::string& name) {
  const GgufTensor* t = file.FindTensor(name);
  if (t == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("missing tensor '", name, "'"));
  }
  SourceTensor s;
  s.name = name;
  SM_ASSIGN_OR_RETURN(s.dtype, DTypeOf(*t));
  // ggml lists the fastest-varying dimension first.
  for (auto it = t->dims.rbegin(); it != t->dims.rend(); ++it) {
    s.shape.push_back(static_cast<int64_t>(*it));
  }
  s.bytes = t->bytes;
  return s;
}

absl::StatusOr<uint32_t> GetDim(const GgufFile& f, const std::string& key) {
  SM_ASSIGN_OR_RETURN(uint64_t v, f.GetUint(key));
  if (v == 0 || v > (1u << 24)) {
    return absl::InvalidArgumentError(
        absl::StrCat("metadata key '", key, "' is ", v, ", out of range"));
  }
  return static_cast<uint32_t>(v);
}

absl::StatusOr<runtime::TokenizerSpec> ImportTokenizer(const GgufFile& f) {
  runtime::TokenizerSpec spec;
  SM_ASSIGN_OR_RETURN(std::string model, f.GetString("tokenizer.ggml.model"));
  if (model == "llama") {
    spec.set_kind(runtime::SENTENCEPIECE_BPE);
  } else if (model == "gpt2") {
    spec.set_kind(runtime::GPT2_BPE);
  } else {
    return absl::UnimplementedError(absl::StrCat(
        "tokenizer.ggml.model '", model, "' is not supported (llama, gpt2)"));
  }
  SM_ASSIGN_OR_RETURN(const std::vector<std::string>* tokens,
                      f.GetStrings("tokenizer.ggml.tokens"));
  for (const std::string& t : *tokens) spec.add_tokens(t);
  if (f.Has("tokenizer.ggml.scores")) {
    SM_ASSIGN_OR_RETURN(const std::vector<double>* scores,
                        f.GetNumbers("tokenizer.ggml.scores"));
    if (scores->size() != tokens->size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tokenizer.ggml.scores has ", scores->size(), " entries for ",
          tokens->size(), " tokens"));
    }
    for (double s : *scores) spec.add_scores(static_cast<float>(s));
  }
  if (f.Has("tokenizer.ggml.token_type")) {
    SM_ASSIGN_OR_RETURN(const std::vector<double>* types,
                        f.GetNumbers("tokenizer.ggml.token_type"));
    if (types->size() != tokens->size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tokenizer.ggml.token_type has ", types->size(), " entries for ",
          tokens->size(), " tokens"));
    }
    for (double t : *types) {
      const int type = static_cast<int>(t);
      spec.add_token_types(runtime::TokenType_IsValid(type)
                               ? static_cast<runtime::TokenType>(type)
                               : runtime::NORMAL);
    }
  }
  if (f.Has("tokenizer.ggml.merges")) {
    SM_ASSIGN_OR_RETURN(const std::vector<std::string>* merges,
                        f.GetStrings("tokenizer.ggml.merges"));
    for (const std::string& m : *merges) spec.add_merges(m);
  }
  struct Special {
    const char* key;
    void (runtime::TokenizerSpec::*set)(int32_t);
  };
  for (const Special& s :
       {Special{"tokenizer.ggml.bos_token_id", &runtime::TokenizerSpec::set_bos_id},
        Special{"tokenizer.ggml.eos_token_id", &runtime::TokenizerSpec::set_eos_id},
        Special{"tokenizer.ggml.unknown_token_id",
                &runtime::TokenizerSpec::set_unknown_id},
        Special{"tokenizer.ggml.padding_token_id",
                &runtime::TokenizerSpec::set_padding_id}}) {
    if (!f.Has(s.key)) continue;
    SM_ASSIGN_OR_RETURN(uint64_t id, f.GetUint(s.key));
    if (id >= tokens->size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          s.key, " is ", id, ", outside the ", tokens->size(), "-token vocabulary"));
    }
    (spec.*s.set)(static_cast<int32_t>(id));
  }
  bool add_bos = model == "llama";
  if (f.Has("tokenizer.ggml.add_bos_token")) {
    SM_ASSIGN_OR_RETURN(add_bos, f.GetBool("tokenizer.ggml.add_bos_token"));
  }
  spec.set_add_bos(add_bos);
  return spec;
}

}  // namespace

absl::StatusOr<ConvertedModel> ImportGguf(const GgufFile& f,
                                          const std::string& source) {
  SM_ASSIGN_OR_RETURN(std::string name, f.GetString("general.architecture"));
  const bool llama = name == "llama";
  if (!llama && name != "gpt2") {
    return absl::UnimplementedError(absl::StrCat(
        "GGUF architecture '", name, "' is not supported (llama, gpt2)"));
  }
  auto key = [&](absl::string_view k) { return absl::StrCat(name, ".", k); };
  runtime::Architecture a;
  a.set_name(name);
  SM_ASSIGN_OR_RETURN(uint32_t context, GetDim(f, key("context_length")));
  SM_ASSIGN_OR_RETURN(uint32_t dim, GetDim(f, key("embedding_length")));
  SM_ASSIGN_OR_RETURN(uint32_t layers, GetDim(f, key("block_count")));
  SM_ASSIGN_OR_RETURN(uint32_t hidden, GetDim(f, key("feed_forward_length")));
  SM_ASSIGN_OR_RETURN(uint32_t heads, GetDim(f, key("attention.head_count")));
  uint32_t kv_heads = heads;
  if (f.Has(key("attention.head_count_kv"))) {
    SM_ASSIGN_OR_RETURN(kv_heads, GetDim(f, key("attention.head_count_kv")));
  }
  if (dim % heads != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "embedding_length ", dim, " is not a multiple of head_count ", heads));
  }
  a.set_context_length(context);
  a.set_embedding_dim(dim);
  a.set_num_layers(layers);
  a.set_hidden_dim(hidden);
  a.set_num_heads(heads);
  a.set_num_kv_heads(kv_heads);
  a.set_head_dim(dim / heads);
  SM_ASSIGN_OR_RETURN(runtime::TokenizerSpec tokenizer, ImportTokenizer(f));
  a.set_vocab_size(tokenizer.tokens_size());
  a.set_tied_output(f.FindTensor("output.weight") == nullptr);
  if (llama) {
    a.set_norm(runtime::RMS_NORM);
    SM_ASSIGN_OR_RETURN(double eps, f.GetFloat(key("attention.layer_norm_rms_epsilon")));
    a.set_norm_eps(static_cast<float>(eps));
    a.set_positions(runtime::ROPE);
    a.set_rope_style(runtime::PAIRWISE);  // llama.cpp's "normal" rope
    double base = 10000.0;
    if (f.Has(key("rope.freq_base"))) {
      SM_ASSIGN_OR_RETURN(base, f.GetFloat(key("rope.freq_base")));
    }
    a.set_rope_base(static_cast<float>(base));
    uint32_t rotary = dim / heads;
    if (f.Has(key("rope.dimension_count"))) {
      SM_ASSIGN_OR_RETURN(rotary, GetDim(f, key("rope.dimension_count")));
    }
    a.set_rotary_dim(rotary);
    a.set_mlp(runtime::SWIGLU);
    a.set_biases(false);
    if (f.Has(key("rope.scaling.type")) || f.FindTensor("rope_freqs.weight")) {
      return absl::UnimplementedError(
          "RoPE scaling (rope.scaling.*, rope_freqs) is not supported");
    }
  } else {
    a.set_norm(runtime::LAYER_NORM);
    SM_ASSIGN_OR_RETURN(double eps, f.GetFloat(key("attention.layer_norm_epsilon")));
    a.set_norm_eps(static_cast<float>(eps));
    a.set_positions(runtime::LEARNED);
    a.set_mlp(runtime::GELU);
    a.set_biases(true);
  }
  SM_RETURN_IF_ERROR(runtime::ValidateArchitecture(a));

  ConvertedModel out;
  *out.description.mutable_architecture() = a;
  *out.description.mutable_tokenizer() = std::move(tokenizer);
  out.description.mutable_provenance()->set_source_format(
      absl::StrCat("gguf v", f.version()));
  out.description.mutable_provenance()->set_source(source);
  if (f.Has("general.name")) {
    absl::StatusOr<std::string> model_name = f.GetString("general.name");
    if (model_name.ok()) (*out.description.mutable_metadata())["general.name"] = *model_name;
  }

  std::set<std::string> used;
  for (const runtime::TensorSpec& spec : runtime::ExpectedTensors(a)) {
    // Where each of our tensors comes from: llama's GGUF keeps q, k, v and
    // gate, up apart; we fuse them by rows.
    std::vector<std::string> names = {spec.name};
    if (llama && absl::StrContains(spec.name, "attn_qkv.")) {
      names.clear();
      for (const char* part : {"attn_q.", "attn_k.", "attn_v."}) {
        names.push_back(absl::StrReplaceAll(spec.name, {{"attn_qkv.", part}}));
      }
    } else if (absl::StrContains(spec.name, "ffn_gate_up.")) {
      names = {absl::StrReplaceAll(spec.name, {{"ffn_gate_up.", "ffn_gate."}}),
               absl::StrReplaceAll(spec.name, {{"ffn_gate_up.", "ffn_up."}})};
    }
    std::vector<SourceTensor> parts;
    for (const std::string& n : names) {
      SM_ASSIGN_OR_RETURN(SourceTensor s, Source(f, n));
      parts.push_back(std::move(s));
      used.insert(n);
    }
    SM_RETURN_IF_ERROR(AddTensor(out, spec, parts));
  }
  for (const GgufTensor& t : f.tensors()) {
    if (!used.count(t.name)) {
      return absl::UnimplementedError(absl::StrCat(
          "tensor '", t.name, "' has no place in a ", name,
          " model as SmallMind runs it"));
    }
  }
  return out;
}

absl::StatusOr<ConvertedModel> ImportGguf(const std::string& path) {
  SM_ASSIGN_OR_RETURN(core::MappedFile mapped, core::MappedFile::Open(path));
  absl::StatusOr<GgufFile> file = GgufFile::Parse(mapped.bytes());
  if (!file.ok()) {
    return absl::Status(file.status().code(),
                        absl::StrCat(path, ": ", file.status().message()));
  }
  absl::StatusOr<ConvertedModel> out = ImportGguf(*file, path);
  if (!out.ok()) {
    return absl::Status(out.status().code(),
                        absl::StrCat(path, ": ", out.status().message()));
  }
  out->sources.push_back(std::move(mapped));
  return out;
}

}  // namespace smallmind::convert
