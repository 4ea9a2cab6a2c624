#include "formats/gguf_import.h"

#include <cmath>
#include <cstring>
#include <initializer_list>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "formats/families.h"
#include "text/spm_normalizer.h"
#include "text/tokenizer.h"

namespace smallmind::formats {
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

// The boolean keys of `flags` the file has, each into its setter.
absl::Status ReadFlags(
    const GgufFile& f,
    std::initializer_list<std::pair<const char*, void (model::PreTokenizer::*)(bool)>> flags,
    model::PreTokenizer& pre) {
  for (const auto& [key, set] : flags) {
    if (!f.Has(key)) continue;
    SM_ASSIGN_OR_RETURN(bool on, f.GetBool(key));
    (pre.*set)(on);
  }
  return absl::OkStatus();
}

absl::StatusOr<model::TokenizerSpec> ImportTokenizer(const GgufFile& f) {
  model::TokenizerSpec spec;
  SM_ASSIGN_OR_RETURN(std::string model, f.GetString("tokenizer.ggml.model"));
  if (model == "llama") {
    spec.set_kind(model::SENTENCEPIECE_BPE);
    SM_RETURN_IF_ERROR(ReadFlags(
        f, {{"tokenizer.ggml.add_space_prefix", &model::PreTokenizer::set_add_space_prefix}},
        *spec.mutable_pre_tokenizer()));
  } else if (model == "gpt2") {
    spec.set_kind(model::GPT2_BPE);
    std::string pre = "default";
    if (f.Has("tokenizer.ggml.pre")) {
      SM_ASSIGN_OR_RETURN(pre, f.GetString("tokenizer.ggml.pre"));
    }
    absl::StatusOr<model::PreTokenizer> known = text::KnownPreTokenizer(pre);
    if (!known.ok()) {
      return core::Prefixed(known.status(), "tokenizer.ggml.pre");
    }
    *spec.mutable_pre_tokenizer() = *std::move(known);
  } else if (model == "bert") {
    spec.set_kind(model::WORDPIECE);
    SM_RETURN_IF_ERROR(ReadFlags(f,
                                 {{"tokenizer.ggml.normalizer.lowercase",
                                   &model::PreTokenizer::set_lowercase},
                                  {"tokenizer.ggml.normalizer.strip_accents",
                                   &model::PreTokenizer::set_strip_accents}},
                                 *spec.mutable_pre_tokenizer()));
  } else if (model == "t5") {
    // SentencePiece's Unigram (T5's and XLM-RoBERTa's vocabularies).
    spec.set_kind(model::UNIGRAM);
    model::PreTokenizer& pre = *spec.mutable_pre_tokenizer();
    SM_RETURN_IF_ERROR(ReadFlags(f,
                                 {{"tokenizer.ggml.add_space_prefix",
                                   &model::PreTokenizer::set_add_space_prefix},
                                  {"tokenizer.ggml.remove_extra_whitespaces",
                                   &model::PreTokenizer::set_remove_extra_whitespaces}},
                                 pre));
    if (f.Has("tokenizer.ggml.precompiled_charsmap")) {
      SM_ASSIGN_OR_RETURN(const std::vector<double>* map,
                          f.GetNumbers("tokenizer.ggml.precompiled_charsmap"));
      std::string& bytes = *pre.mutable_precompiled_charsmap();
      bytes.reserve(map->size());
      for (double b : *map) {
        if (b < 0 || b > 255) {
          return absl::InvalidArgumentError(
              "tokenizer.ggml.precompiled_charsmap holds a value that is not a byte");
        }
        bytes.push_back(static_cast<char>(static_cast<uint8_t>(b)));
      }
      absl::Status valid = text::SpmNormalizer::Create(bytes, true, true).status();
      if (!valid.ok()) return core::Prefixed(valid, "tokenizer.ggml.precompiled_charsmap");
    }
  } else {
    return absl::UnimplementedError(absl::StrCat(
        "tokenizer.ggml.model '", model, "' is not supported (llama, gpt2, bert, t5)"));
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
      spec.add_token_types(model::TokenType_IsValid(type)
                               ? static_cast<model::TokenType>(type)
                               : model::NORMAL);
    }
  }
  if (f.Has("tokenizer.ggml.merges")) {
    SM_ASSIGN_OR_RETURN(const std::vector<std::string>* merges,
                        f.GetStrings("tokenizer.ggml.merges"));
    for (const std::string& m : *merges) spec.add_merges(m);
  }
  struct Special {
    const char* key;
    void (model::TokenizerSpec::*set)(int32_t);
  };
  for (const Special& s :
       {Special{"tokenizer.ggml.bos_token_id", &model::TokenizerSpec::set_bos_id},
        Special{"tokenizer.ggml.eos_token_id", &model::TokenizerSpec::set_eos_id},
        Special{"tokenizer.ggml.unknown_token_id", &model::TokenizerSpec::set_unknown_id},
        Special{"tokenizer.ggml.seperator_token_id", &model::TokenizerSpec::set_separator_id},
        Special{"tokenizer.ggml.eot_token_id", &model::TokenizerSpec::add_end_of_generation_ids},
        Special{"tokenizer.ggml.eom_token_id", &model::TokenizerSpec::add_end_of_generation_ids}}) {
    if (!f.Has(s.key)) continue;
    SM_ASSIGN_OR_RETURN(uint64_t id, f.GetUint(s.key));
    if (id >= tokens->size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          s.key, " is ", id, ", outside the ", tokens->size(), "-token vocabulary"));
    }
    (spec.*s.set)(static_cast<int32_t>(id));
  }
  // The padding id is not used; one outside the vocabulary is ignored.
  if (f.Has("tokenizer.ggml.padding_token_id")) {
    absl::StatusOr<uint64_t> id = f.GetUint("tokenizer.ggml.padding_token_id");
    if (id.ok() && *id < tokens->size()) spec.set_padding_id(static_cast<int32_t>(*id));
  }
  AddEndOfTurnIds(spec);
  bool add_bos = model == "llama" || model == "bert";
  if (f.Has("tokenizer.ggml.add_bos_token")) {
    SM_ASSIGN_OR_RETURN(add_bos, f.GetBool("tokenizer.ggml.add_bos_token"));
  }
  spec.set_add_bos(add_bos);
  // A Unigram (T5) vocabulary closes its inputs with EOS unless told not to,
  // as llama.cpp reads it.
  bool add_eos = model == "t5";
  if (f.Has("tokenizer.ggml.add_eos_token")) {
    SM_ASSIGN_OR_RETURN(add_eos, f.GetBool("tokenizer.ggml.add_eos_token"));
  }
  spec.set_add_eos(add_eos && spec.has_eos_id());
  if (f.Has("tokenizer.chat_template")) {
    SM_ASSIGN_OR_RETURN(*spec.mutable_chat_template(), f.GetString("tokenizer.chat_template"));
  }
  return spec;
}

// Keys and tensors of features the forward pass does not have: refused by
// name rather than run wrong.
absl::Status RefuseUnsupported(const GgufFile& f, const std::string& arch) {
  for (const char* key : {"attn_logit_softcapping", "final_logit_softcapping",
                          "attention.logit_softcapping", "expert_count"}) {
    const std::string full = absl::StrCat(arch, ".", key);
    if (f.Has(full)) {
      return absl::UnimplementedError(absl::StrCat(full, " is not supported"));
    }
  }
  for (const char* tensor : {"rope_factors_long.weight", "rope_factors_short.weight"}) {
    if (f.FindTensor(tensor)) {
      return absl::UnimplementedError(
          absl::StrCat("tensor '", tensor, "' (LongRoPE) is not supported"));
    }
  }
  const std::string scaling = absl::StrCat(arch, ".rope.scaling.type");
  if (f.Has(scaling)) {
    SM_ASSIGN_OR_RETURN(std::string type, f.GetString(scaling));
    if (type != "none" && type != "linear") {
      return absl::UnimplementedError(
          absl::StrCat(scaling, " '", type, "' is not supported (linear, none)"));
    }
  }
  return absl::OkStatus();
}

// Whether the file keeps q, k, v (and gate, up) as tensors of their own, as
// llama.cpp writes most families: then the model uses them so, in place,
// rather than fusing them into copies. Fused where the file fuses them
// (GPT-2's attn_qkv, Phi-3's), unless some layer keeps them apart.
bool SeparateProjections(const GgufFile& f, uint32_t layers) {
  for (uint32_t l = 0; l < layers; ++l) {
    if (f.FindTensor(absl::StrCat("blk.", l, ".attn_q.weight")) != nullptr) return true;
  }
  return false;
}

// A constant RoPE frequency divisor (linear scaling) as rope_freqs.weight.
void AddLinearRopeFactors(model::ModelData& out, float factor, uint32_t pairs) {
  model::ModelTensor t;
  t.name = "rope_freqs.weight";
  t.dtype = core::DType::kF32;
  t.shape = {pairs};
  t.owned.resize(pairs * sizeof(float));
  for (uint32_t i = 0; i < pairs; ++i) std::memcpy(t.owned.data() + i * sizeof(float), &factor, 4);
  t.bytes = t.owned;
  out.tensors.push_back(std::move(t));
}

// What embedding models add: segment embeddings, a classifier head, the
// pooling, and the attention direction (which must be the family's).
absl::Status ReadEmbeddingKnobs(const GgufFile& f, const std::string& arch,
                                model::Architecture& a) {
  // ggml drops trailing dimensions of 1: llama-quantize writes one segment
  // (XLM-R) or one label (a reranker) as a vector.
  const auto rows = [](const GgufTensor& t) {
    return static_cast<uint32_t>(t.dims.size() == 2 ? t.dims[1] : t.dims.size() == 1 ? 1 : 0);
  };
  if (const GgufTensor* types = f.FindTensor("token_types.weight")) {
    a.set_token_types(rows(*types));
  }
  if (const GgufTensor* labels = f.FindTensor("cls.output.weight")) {
    a.set_classifier_labels(rows(*labels));
  }
  const std::string pooling = absl::StrCat(arch, ".pooling_type");
  if (f.Has(pooling)) {
    SM_ASSIGN_OR_RETURN(uint64_t kind, f.GetUint(pooling));
    // llama.cpp's numbering, which model::Pooling keeps; 0 (none) is ours
    // unspecified.
    if (kind > model::RANK) {
      return absl::UnimplementedError(absl::StrCat(pooling, " ", kind, " is not supported"));
    }
    a.set_pooling(static_cast<model::Pooling>(kind));
  }
  const std::string causal = absl::StrCat(arch, ".attention.causal");
  if (f.Has(causal)) {
    SM_ASSIGN_OR_RETURN(bool is_causal, f.GetBool(causal));
    if (is_causal == a.bidirectional()) {
      return absl::UnimplementedError(absl::StrCat(
          causal, " is ", is_causal ? "true" : "false", "; a ", arch, " model is ",
          a.bidirectional() ? "bidirectional" : "causal", " here"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<model::ModelData> ImportGguf(const GgufFile& f,
                                          const std::string& source) {
  SM_ASSIGN_OR_RETURN(std::string name, f.GetString("general.architecture"));
  const Family* family = FindFamily(name);
  if (family == nullptr) {
    return absl::UnimplementedError(absl::StrCat("GGUF architecture '", name,
                                                 "' is not supported (", FamilyNames(), ")"));
  }
  SM_RETURN_IF_ERROR(RefuseUnsupported(f, name));
  auto key = [&](absl::string_view k) { return absl::StrCat(name, ".", k); };
  model::Architecture a;
  SetFamilyKnobs(*family, a);
  SM_ASSIGN_OR_RETURN(uint32_t context, GetDim(f, key("context_length")));
  SM_ASSIGN_OR_RETURN(uint32_t dim, GetDim(f, key("embedding_length")));
  SM_ASSIGN_OR_RETURN(uint32_t layers, GetDim(f, key("block_count")));
  SM_ASSIGN_OR_RETURN(uint32_t hidden, GetDim(f, key("feed_forward_length")));
  SM_ASSIGN_OR_RETURN(uint32_t heads, GetDim(f, key("attention.head_count")));
  uint32_t kv_heads = heads;
  if (f.Has(key("attention.head_count_kv"))) {
    SM_ASSIGN_OR_RETURN(kv_heads, GetDim(f, key("attention.head_count_kv")));
  }
  uint32_t head_dim = dim / heads;
  if (f.Has(key("attention.key_length"))) {
    SM_ASSIGN_OR_RETURN(head_dim, GetDim(f, key("attention.key_length")));
  } else if (dim % heads != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "embedding_length ", dim, " is not a multiple of head_count ", heads));
  }
  a.set_context_length(context);
  a.set_embedding_dim(dim);
  a.set_num_layers(layers);
  a.set_hidden_dim(hidden);
  a.set_num_heads(heads);
  a.set_num_kv_heads(kv_heads);
  a.set_head_dim(head_dim);
  SM_ASSIGN_OR_RETURN(model::TokenizerSpec tokenizer, ImportTokenizer(f));
  a.set_vocab_size(tokenizer.tokens_size());
  a.set_tied_output(f.FindTensor("output.weight") == nullptr);
  const char* eps_key = family->norm == model::RMS_NORM
                            ? "attention.layer_norm_rms_epsilon"
                            : "attention.layer_norm_epsilon";
  SM_ASSIGN_OR_RETURN(double eps, f.GetFloat(key(eps_key)));
  a.set_norm_eps(static_cast<float>(eps));
  float linear_scale = 0;
  if (family->positions == model::ROPE) {
    a.set_rope_style(family->gguf_rope_style);
    double base = 10000.0;
    if (f.Has(key("rope.freq_base"))) {
      SM_ASSIGN_OR_RETURN(base, f.GetFloat(key("rope.freq_base")));
    }
    a.set_rope_base(static_cast<float>(base));
    uint32_t rotary = head_dim;
    if (f.Has(key("rope.dimension_count"))) {
      SM_ASSIGN_OR_RETURN(rotary, GetDim(f, key("rope.dimension_count")));
    }
    a.set_rotary_dim(rotary);
    a.set_rope_freq_factors(f.FindTensor("rope_freqs.weight") != nullptr);
    if (f.Has(key("rope.scaling.type")) && *f.GetString(key("rope.scaling.type")) == "linear") {
      SM_ASSIGN_OR_RETURN(double factor, f.GetFloat(key("rope.scaling.factor")));
      if (!(factor > 0) || !std::isfinite(factor) || a.rope_freq_factors()) {
        return absl::InvalidArgumentError(absl::StrCat(key("rope.scaling.factor"), " is ",
                                                       factor, " (or rope_freqs too)"));
      }
      linear_scale = static_cast<float>(factor);
      a.set_rope_freq_factors(true);
      a.mutable_rope_scaling()->set_factor(linear_scale);
    }
  }
  // Gemma 3's local layers: five, then a global one, unless the file says
  // otherwise, turning at 10000 (llama.cpp's defaults, which its GGUF files
  // leave out). Phi-3 files name a window too, which llama.cpp ignores (it
  // is longer than the trained context); so does SmallMind.
  if (family->gemma && f.Has(key("attention.sliding_window"))) {
    SM_ASSIGN_OR_RETURN(uint32_t window, GetDim(f, key("attention.sliding_window")));
    a.set_sliding_window(window);
    a.set_sliding_window_pattern(6);
    if (f.Has(key("attention.sliding_window_pattern"))) {
      SM_ASSIGN_OR_RETURN(uint32_t pattern, GetDim(f, key("attention.sliding_window_pattern")));
      a.set_sliding_window_pattern(pattern);
    }
    double local_base = 10000.0;
    if (f.Has(key("rope.freq_base_swa"))) {
      SM_ASSIGN_OR_RETURN(local_base, f.GetFloat(key("rope.freq_base_swa")));
    }
    a.set_rope_local_base(static_cast<float>(local_base));
  }
  if (family->gemma) {
    a.set_embedding_scale(std::sqrt(static_cast<float>(dim)));
    a.set_attention_scale(1.0f / std::sqrt(static_cast<float>(head_dim)));
  }
  // A scale other than 1/√head_dim, where the file names one (llama.cpp's
  // key; its Gemma 3 files leave it out).
  if (f.Has(key("attention.scale"))) {
    SM_ASSIGN_OR_RETURN(double scale, f.GetFloat(key("attention.scale")));
    if (!(scale > 0) || !std::isfinite(scale)) {
      return absl::InvalidArgumentError(
          absl::StrCat(key("attention.scale"), " is ", scale, ", expected > 0"));
    }
    a.set_attention_scale(static_cast<float>(scale));
  }
  SM_RETURN_IF_ERROR(ReadEmbeddingKnobs(f, name, a));
  SM_RETURN_IF_ERROR(model::ValidateArchitecture(a));
  // After validation, which bounds the layer count this walks (a hostile
  // block_count of millions took seconds of tensor lookups to refuse).
  a.set_split_projections(SeparateProjections(f, layers));

  model::ModelData out;
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
  for (const model::TensorSpec& spec : model::ExpectedTensors(a)) {
    if (spec.name == "rope_freqs.weight" && linear_scale > 0) {
      AddLinearRopeFactors(out, linear_scale, a.rotary_dim() / 2);
      continue;
    }
    std::vector<SourceTensor> parts;
    for (const std::string& theirs : GgufNames(*family, spec.name)) {
      SM_ASSIGN_OR_RETURN(parts.emplace_back(), Source(f, theirs));
      used.insert(theirs);
      // A one-row matrix (one segment, one label) that ggml wrote as a vector.
      if (spec.shape.size() == 2 && spec.shape[0] == 1 && parts.back().shape.size() == 1) {
        parts.back().shape.insert(parts.back().shape.begin(), 1);
      }
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

absl::StatusOr<model::ModelData> ImportGguf(const std::string& path) {
  SM_ASSIGN_OR_RETURN(core::MappedFile mapped, core::MappedFile::Open(path));
  absl::StatusOr<GgufFile> file = GgufFile::Parse(mapped.bytes());
  if (!file.ok()) {
    return core::Prefixed(file.status(), path);
  }
  absl::StatusOr<model::ModelData> out = ImportGguf(*file, path);
  if (!out.ok()) {
    return core::Prefixed(out.status(), path);
  }
  out->sources.push_back(std::move(mapped));
  return out;
}

}  // namespace smallmind::formats
