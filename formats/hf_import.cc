#include "formats/hf_import.h"

#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/file_util.h"
#include "core/mapped_file.h"
#include "core/status.h"
#include "formats/families.h"
#include "formats/hf_tokenizer.h"
#include "formats/json_util.h"
#include "formats/safetensors.h"
#include "model/tensor_codec.h"

namespace smallmind::formats {
namespace {

constexpr char kConfig[] = "config.json";

// Keys of features the forward pass does not have: refused by name.
absl::Status RefuseUnsupported(const Json& c) {
  for (const char* key : {"attn_logit_softcapping", "final_logit_softcapping",
                          "num_local_experts", "num_experts"}) {
    if (Field(c, key) != nullptr) {
      return absl::UnimplementedError(absl::StrCat(kConfig, ": '", key, "' is not supported"));
    }
  }
  return absl::OkStatus();
}

// The Gemma 3 period of local layers from `layer_types`: every p-th layer
// global, the others sliding.
absl::StatusOr<uint32_t> PatternFromLayerTypes(const Json& types) {
  if (!types.is_array() || types.empty()) {
    return absl::InvalidArgumentError("config.json: 'layer_types' is not a list");
  }
  uint32_t period = 0;
  for (size_t i = 0; i < types.size(); ++i) {
    if (types[i] == "full_attention") {
      period = static_cast<uint32_t>(i + 1);
      break;
    }
  }
  if (period == 0) period = static_cast<uint32_t>(types.size()) + 1;  // all local
  for (size_t i = 0; i < types.size(); ++i) {
    const bool global = (i + 1) % period == 0;
    if (types[i] != (global ? "full_attention" : "sliding_attention")) {
      return absl::UnimplementedError(
          "config.json: 'layer_types' does not repeat one local/global pattern");
    }
  }
  return period;
}

// RoPE settings: the base, the rotated share of each head, and
// rope_scaling (Llama 3's, or linear) as per-pair frequency divisors.
absl::Status ReadRope(const Json& c, const char* rope_key, model::Architecture& a) {
  SM_ASSIGN_OR_RETURN(double theta, Number(c, rope_key, kConfig, 10000.0));
  a.set_rope_style(model::ROTATE_HALF);
  a.set_rope_base(static_cast<float>(theta));
  SM_ASSIGN_OR_RETURN(double partial, Number(c, "partial_rotary_factor", kConfig, 1.0));
  a.set_rotary_dim(static_cast<uint32_t>(std::lround(a.head_dim() * partial)) / 2 * 2);
  const Json* scaling = Field(c, "rope_scaling");
  if (scaling == nullptr) return absl::OkStatus();
  std::string type;
  if (const Json* t = Field(*scaling, "rope_type"); t != nullptr && t->is_string()) {
    type = t->get<std::string>();
  } else if (const Json* t2 = Field(*scaling, "type"); t2 != nullptr && t2->is_string()) {
    type = t2->get<std::string>();
  }
  const char* rs = "config.json rope_scaling";
  model::RopeScaling& r = *a.mutable_rope_scaling();
  SM_ASSIGN_OR_RETURN(double factor, Number(*scaling, "factor", rs));
  if (!(factor > 0) || !std::isfinite(factor)) {
    return absl::InvalidArgumentError("config.json: rope_scaling factor must be > 0");
  }
  r.set_factor(static_cast<float>(factor));
  if (type == "llama3") {
    SM_ASSIGN_OR_RETURN(double low, Number(*scaling, "low_freq_factor", rs));
    SM_ASSIGN_OR_RETURN(double high, Number(*scaling, "high_freq_factor", rs));
    SM_ASSIGN_OR_RETURN(int64_t original,
                        PositiveInt(*scaling, "original_max_position_embeddings", rs));
    if (!(high > low) || !(low > 0)) {
      return absl::InvalidArgumentError("config.json: rope_scaling needs high > low > 0");
    }
    r.set_low_freq_factor(static_cast<float>(low));
    r.set_high_freq_factor(static_cast<float>(high));
    r.set_original_context(static_cast<uint32_t>(original));
  } else if (type != "linear") {
    return absl::UnimplementedError(absl::StrCat(
        "config.json: rope_scaling type '", type, "' is not supported (llama3, linear)"));
  }
  a.set_rope_freq_factors(true);
  return absl::OkStatus();
}

// Gemma 3's: √dim embedding scale, query_pre_attn_scalar, and its local
// layers (sliding_window, their period from layer_types, their RoPE base).
absl::Status ReadGemma(const Json& c, model::Architecture& a) {
  a.set_embedding_scale(std::sqrt(static_cast<float>(a.embedding_dim())));
  SM_ASSIGN_OR_RETURN(double scalar, Number(c, "query_pre_attn_scalar", kConfig,
                                            static_cast<double>(a.head_dim())));
  if (!(scalar > 0)) return absl::InvalidArgumentError("config.json: query_pre_attn_scalar");
  a.set_attention_scale(static_cast<float>(1.0 / std::sqrt(scalar)));
  if (Field(c, "sliding_window") == nullptr) return absl::OkStatus();
  SM_ASSIGN_OR_RETURN(int64_t w, PositiveInt(c, "sliding_window", kConfig));
  a.set_sliding_window(static_cast<uint32_t>(w));
  uint32_t pattern = 6;
  if (const Json* types = Field(c, "layer_types"); types != nullptr) {
    SM_ASSIGN_OR_RETURN(pattern, PatternFromLayerTypes(*types));
  } else {
    SM_ASSIGN_OR_RETURN(int64_t p, PositiveInt(c, "sliding_window_pattern", kConfig, 6));
    pattern = static_cast<uint32_t>(p);
  }
  a.set_sliding_window_pattern(pattern);
  SM_ASSIGN_OR_RETURN(double local, Number(c, "rope_local_base_freq", kConfig, 10000.0));
  a.set_rope_local_base(static_cast<float>(local));
  return absl::OkStatus();
}

// nomic-bert's config.json describes variants its modelling code has; the
// one nomic-embed-text uses (post-LN, full rotary, no biases) is run.
absl::Status RefuseNomicVariants(const Json& c) {
  for (const auto& [key, wanted] : {std::pair{"prenorm", false}, {"causal", false},
                                    {"rotary_emb_interleaved", false}, {"qkv_proj_bias", false},
                                    {"mlp_fc1_bias", false}, {"mlp_fc2_bias", false}}) {
    SM_ASSIGN_OR_RETURN(bool value, Bool(c, key, kConfig, wanted));
    if (value != wanted) {
      return absl::UnimplementedError(absl::StrCat(kConfig, ": nomic_bert with '", key, "' ",
                                                   value ? "true" : "false", " is not supported"));
    }
  }
  SM_ASSIGN_OR_RETURN(double fraction, Number(c, "rotary_emb_fraction", kConfig, 1.0));
  if (fraction != 1.0) {
    return absl::UnimplementedError("config.json: nomic_bert's rotary_emb_fraction must be 1");
  }
  for (const char* key : {"moe_every_n_layers", "rotary_emb_scale_base"}) {
    if (const Json* v = Field(c, key); v != nullptr && !(v->is_number() && v->get<double>() == 0)) {
      return absl::UnimplementedError(absl::StrCat(kConfig, ": nomic_bert's '", key,
                                                   "' is not supported"));
    }
  }
  return absl::OkStatus();
}

// RoBERTa's first position: pad_token_id + 1.
absl::StatusOr<int64_t> PositionOffset(const Json& c) {
  SM_ASSIGN_OR_RETURN(double pad, Number(c, "pad_token_id", kConfig, 1));
  if (pad < 0 || pad > 1024 || pad != static_cast<int64_t>(pad)) {
    return absl::InvalidArgumentError(absl::StrCat(kConfig, ": pad_token_id is not a small id"));
  }
  return static_cast<int64_t>(pad) + 1;
}

// config.json in the family's vocabulary of keys.
absl::StatusOr<model::Architecture> ArchitectureOf(const Json& c, const Family& f) {
  const HfConfigKeys& k = *f.hf_config;
  model::Architecture a;
  SetFamilyKnobs(f, a);
  SM_ASSIGN_OR_RETURN(int64_t dim, PositiveInt(c, k.dim, kConfig));
  SM_ASSIGN_OR_RETURN(int64_t layers, PositiveInt(c, k.layers, kConfig));
  SM_ASSIGN_OR_RETURN(int64_t heads, PositiveInt(c, k.heads, kConfig));
  int64_t kv_heads = heads;
  if (k.kv_heads != nullptr) {
    SM_ASSIGN_OR_RETURN(kv_heads, PositiveInt(c, k.kv_heads, kConfig, heads));
  }
  if (Field(c, "head_dim") == nullptr && dim % heads != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(kConfig, ": '", k.dim, "' is not a multiple of '", k.heads, "'"));
  }
  SM_ASSIGN_OR_RETURN(int64_t head_dim, PositiveInt(c, "head_dim", kConfig, dim / heads));
  int64_t hidden = 0;
  if (k.hidden_per_dim > 0) {
    SM_ASSIGN_OR_RETURN(hidden, PositiveInt(c, k.hidden, kConfig,
                                            static_cast<int64_t>(k.hidden_per_dim * dim)));
  } else {
    SM_ASSIGN_OR_RETURN(hidden, PositiveInt(c, k.hidden, kConfig));
  }
  SM_ASSIGN_OR_RETURN(int64_t vocab, PositiveInt(c, "vocab_size", kConfig));
  SM_ASSIGN_OR_RETURN(int64_t context, PositiveInt(c, k.context, kConfig));
  if (f.hf_position_offset) {
    SM_ASSIGN_OR_RETURN(int64_t offset, PositionOffset(c));
    if (context <= offset) {
      return absl::InvalidArgumentError(absl::StrCat(
          kConfig, ": '", k.context, "' leaves no positions after pad_token_id + 1"));
    }
    context -= offset;
  }
  SM_ASSIGN_OR_RETURN(double eps, Number(c, k.norm_eps, kConfig, k.norm_eps_default));
  SM_ASSIGN_OR_RETURN(std::string activation, String(c, k.activation, kConfig, f.hf_activation));
  if (activation != f.hf_activation &&
      (f.hf_activation_alt == nullptr || activation != f.hf_activation_alt)) {
    return absl::UnimplementedError(absl::StrCat(kConfig, ": '", k.activation, "' is '",
                                                 activation, "' (", f.hf_activation,
                                                 " is supported)"));
  }
  SM_RETURN_IF_ERROR(RefuseUnsupported(c));
  SM_ASSIGN_OR_RETURN(bool attention_bias, Bool(c, "attention_bias", kConfig, false));
  SM_ASSIGN_OR_RETURN(bool mlp_bias, Bool(c, "mlp_bias", kConfig, false));
  if ((attention_bias && !f.qkv_bias && !f.biases) || (mlp_bias && !f.biases)) {
    return absl::UnimplementedError(absl::StrCat(kConfig, ": attention_bias/mlp_bias"));
  }
  SM_ASSIGN_OR_RETURN(bool sliding, Bool(c, "use_sliding_window", kConfig, false));
  if (sliding && !f.gemma) {
    return absl::UnimplementedError(absl::StrCat(kConfig, ": 'use_sliding_window' is not supported"));
  }
  a.set_vocab_size(static_cast<uint32_t>(vocab));
  a.set_context_length(static_cast<uint32_t>(context));
  a.set_embedding_dim(static_cast<uint32_t>(dim));
  a.set_num_layers(static_cast<uint32_t>(layers));
  a.set_num_heads(static_cast<uint32_t>(heads));
  a.set_num_kv_heads(static_cast<uint32_t>(kv_heads));
  a.set_head_dim(static_cast<uint32_t>(head_dim));
  a.set_hidden_dim(static_cast<uint32_t>(hidden));
  a.set_norm_eps(static_cast<float>(eps));
  if (f.encoder && f.positions == model::ROPE) SM_RETURN_IF_ERROR(RefuseNomicVariants(c));
  if (f.positions == model::ROPE) SM_RETURN_IF_ERROR(ReadRope(c, k.rope_base, a));
  if (f.gemma) SM_RETURN_IF_ERROR(ReadGemma(c, a));
  // q, k, v (and gate, up) used in place where the checkpoint keeps them
  // apart.
  a.set_split_projections(!f.hf_fused && (f.positions == model::ROPE || f.encoder));
  SM_RETURN_IF_ERROR(model::ValidateArchitecture(a));
  return a;
}

// Every tensor of the checkpoint: one file, or the shards its index names.
absl::Status LoadTensors(const std::string& dir, model::ModelData& out,
                         std::map<std::string, SourceTensor>* tensors) {
  std::vector<std::string> files;
  const std::string index_path = dir + "/model.safetensors.index.json";
  absl::StatusOr<std::string> index_text = core::ReadFileToString(index_path);
  if (index_text.ok()) {
    SM_ASSIGN_OR_RETURN(Json index, ParseJson(*index_text, "model.safetensors.index.json"));
    const Json* map = Field(index, "weight_map");
    if (map == nullptr || !map->is_object()) {
      return absl::InvalidArgumentError("model.safetensors.index.json has no weight_map");
    }
    std::set<std::string> unique;
    for (const auto& [name, file] : map->items()) {
      if (!file.is_string() || file.get<std::string>().find('/') != std::string::npos) {
        return absl::InvalidArgumentError(absl::StrCat(
            "model.safetensors.index.json: tensor '", name, "' has a bad file name"));
      }
      unique.insert(file.get<std::string>());
    }
    files.assign(unique.begin(), unique.end());
  } else {
    files = {"model.safetensors"};
  }
  for (const std::string& name : files) {
    SM_ASSIGN_OR_RETURN(core::MappedFile file, core::MappedFile::Open(dir + "/" + name));
    absl::StatusOr<std::map<std::string, SourceTensor>> parsed = ParseSafetensors(file.bytes());
    if (!parsed.ok()) {
      return core::Prefixed(parsed.status(), name);
    }
    for (auto& [k, v] : *parsed) {
      if (!tensors->emplace(k, v).second) {
        return absl::InvalidArgumentError(absl::StrCat("tensor '", k, "' is in two shards"));
      }
    }
    out.sources.push_back(std::move(file));
  }
  return absl::OkStatus();
}

// `t` as F32 with 1 added to every element (Gemma's RMSNorm weights).
absl::StatusOr<std::vector<uint8_t>> PlusOne(const SourceTensor& t) {
  SM_ASSIGN_OR_RETURN(std::vector<float> v, DecodeSource(t));
  for (float& x : v) x += 1.0f;
  return model::EncodeF32(v, static_cast<int64_t>(v.size()), core::DType::kF32);
}

// A [rows, cols] F32 tensor of `t` ([cols, rows] in any dtype) transposed.
absl::StatusOr<std::vector<uint8_t>> Transposed(const SourceTensor& t) {
  SM_ASSIGN_OR_RETURN(std::vector<float> v, DecodeSource(t));
  const int64_t in = t.shape[0], out = t.shape[1];
  std::vector<float> tr(v.size());
  for (int64_t i = 0; i < in; ++i) {
    for (int64_t o = 0; o < out; ++o) tr[o * in + i] = v[i * out + o];
  }
  return model::EncodeF32(tr, in, core::DType::kF32);
}


// The checkpoint's tensor for our `name`: the family's name for it, with
// the prefix some checkpoints add (GPT2LMHeadModel's "transformer.", a
// multimodal Gemma's "language_model.", BertForSequenceClassification's
// "bert.").
const SourceTensor* FindCheckpointTensor(const std::map<std::string, SourceTensor>& tensors,
                                         const std::string& theirs) {
  for (const char* prefix : {"", "transformer.", "language_model.", "bert.", "roberta."}) {
    auto it = tensors.find(prefix + theirs);
    if (it != tensors.end()) return &it->second;
  }
  return nullptr;
}

// An encoder's segments (type_vocab_size), its classifier (a
// ForSequenceClassification checkpoint's `classifier`, which then ranks),
// and its pooling as sentence-transformers' 1_Pooling/config.json says.
absl::Status ReadEncoderHeads(const std::string& dir, const Family& f,
                              const std::map<std::string, SourceTensor>& tensors,
                              model::Architecture& a) {
  if (const SourceTensor* types = FindCheckpointTensor(tensors, HfNames(f, "token_types.weight")[0]);
      types != nullptr && types->shape.size() == 2) {
    a.set_token_types(static_cast<uint32_t>(types->shape[0]));
  }
  if (const SourceTensor* labels = FindCheckpointTensor(tensors, HfNames(f, "cls.output.weight")[0]);
      labels != nullptr && labels->shape.size() == 2) {
    a.set_classifier_labels(static_cast<uint32_t>(labels->shape[0]));
    a.set_pooling(model::RANK);
  }
  absl::StatusOr<std::string> pooling = core::ReadFileToString(dir + "/1_Pooling/config.json");
  if (pooling.ok() && a.pooling() != model::RANK) {
    SM_ASSIGN_OR_RETURN(Json c, ParseJson(*pooling, "1_Pooling/config.json"));
    for (const auto& [key, kind] : {std::pair{"pooling_mode_cls_token", model::CLS},
                                    std::pair{"pooling_mode_mean_tokens", model::MEAN},
                                    std::pair{"pooling_mode_lasttoken", model::LAST}}) {
      SM_ASSIGN_OR_RETURN(bool on, Bool(c, key, "1_Pooling/config.json", false));
      if (on) a.set_pooling(kind);
    }
    for (const char* key : {"pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens",
                            "pooling_mode_weightedmean_tokens"}) {
      SM_ASSIGN_OR_RETURN(bool on, Bool(c, key, "1_Pooling/config.json", false));
      if (on) {
        return absl::UnimplementedError(
            absl::StrCat("1_Pooling/config.json: ", key, " is not supported (cls, mean, last)"));
      }
    }
  }
  return model::ValidateArchitecture(a);
}

// The tokenizer: tokenizer.json and its companions, or GPT-2's vocab.json
// and merges.txt; padded to the embeddings' vocabulary.
absl::StatusOr<model::TokenizerSpec> ReadTokenizer(const std::string& dir, const Family& f,
                                                   int64_t vocab) {
  model::TokenizerSpec tokenizer;
  if (f.hf_gpt2_vocab) {
    SM_ASSIGN_OR_RETURN(std::string vocab_text, core::ReadFileToString(dir + "/vocab.json"));
    SM_ASSIGN_OR_RETURN(std::string merges, core::ReadFileToString(dir + "/merges.txt"));
    return TokenizerFromGpt2Files(vocab_text, merges, vocab);
  }
  SM_ASSIGN_OR_RETURN(HfTokenizerFiles files, ReadHfTokenizerFiles(dir));
  SM_ASSIGN_OR_RETURN(tokenizer, TokenizerFromHf(files));
  // Embeddings padded past the tokenizer (Qwen's) get tokens no text makes.
  if (tokenizer.tokens_size() > vocab) {
    return absl::InvalidArgumentError(absl::StrCat("tokenizer.json has ", tokenizer.tokens_size(),
                                                   " tokens, config.json a vocab_size of ", vocab));
  }
  for (int id = tokenizer.tokens_size(); id < vocab; ++id) {
    tokenizer.add_tokens(absl::StrCat("<|unused", id, "|>"));
    tokenizer.add_token_types(model::UNUSED);
  }
  return tokenizer;
}

absl::StatusOr<std::pair<Json, const Family*>> ReadConfig(absl::string_view text) {
  SM_ASSIGN_OR_RETURN(Json config, ParseJson(text, kConfig));
  if (!config.is_object()) return absl::InvalidArgumentError("config.json is not an object");
  SM_ASSIGN_OR_RETURN(std::string model_type, String(config, "model_type", kConfig, ""));
  if (model_type == "gemma3") {  // the multimodal checkpoint: its language model
    const Json* text_config = Field(config, "text_config");
    if (text_config == nullptr) {
      return absl::InvalidArgumentError("config.json: gemma3 has no text_config");
    }
    config = *text_config;
    model_type = "gemma3_text";
  }
  const Family* family = FindHfFamily(model_type);
  if (family == nullptr) {
    return absl::UnimplementedError(absl::StrCat("config.json model_type '", model_type,
                                                 "' is not supported (", HfModelTypes(), ")"));
  }
  return std::make_pair(std::move(config), family);
}

}  // namespace

absl::StatusOr<model::Architecture> ArchitectureFromHfConfig(absl::string_view config_json) {
  SM_ASSIGN_OR_RETURN(auto config, ReadConfig(config_json));
  return ArchitectureOf(config.first, *config.second);
}

std::vector<float> Llama3RopeFactors(int rotary_dim, double base,
                                     const model::RopeScaling& s) {
  std::vector<float> out;
  const double factor = s.factor(), low = s.low_freq_factor(), high = s.high_freq_factor();
  const double original = s.original_context();
  const double low_wavelen = original / low, high_wavelen = original / high;
  for (int i = 0; i < rotary_dim; i += 2) {
    const double freq = 1.0 / std::pow(base, static_cast<double>(i) / rotary_dim);
    const double wavelen = 2 * M_PI / freq;
    const double scaled = wavelen > low_wavelen ? freq / factor : freq;
    double updated = scaled;
    if (wavelen <= low_wavelen && wavelen >= high_wavelen) {
      const double smooth = (original / wavelen - low) / (high - low);
      updated = (1 - smooth) * scaled / factor + smooth * scaled;
    }
    out.push_back(static_cast<float>(freq / updated));
  }
  return out;
}

absl::StatusOr<model::ModelData> ImportHuggingFace(const std::string& dir) {
  SM_ASSIGN_OR_RETURN(std::string config_text, core::ReadFileToString(dir + "/" + kConfig));
  SM_ASSIGN_OR_RETURN(auto config, ReadConfig(config_text));
  const Family& family = *config.second;
  SM_ASSIGN_OR_RETURN(model::Architecture a, ArchitectureOf(config.first, family));
  SM_ASSIGN_OR_RETURN(model::TokenizerSpec tokenizer, ReadTokenizer(dir, family, a.vocab_size()));

  model::ModelData out;
  std::map<std::string, SourceTensor> tensors;
  SM_RETURN_IF_ERROR(LoadTensors(dir, out, &tensors));
  // The head is the checkpoint's own when it stores one (whatever
  // tie_word_embeddings says: a tied checkpoint that stores it anyway
  // stores a copy), else the embeddings.
  const std::vector<std::string> head = HfNames(family, "output.weight");
  a.set_tied_output(head.empty() || FindCheckpointTensor(tensors, head[0]) == nullptr);
  if (family.encoder) SM_RETURN_IF_ERROR(ReadEncoderHeads(dir, family, tensors, a));
  *out.description.mutable_architecture() = a;
  *out.description.mutable_tokenizer() = std::move(tokenizer);
  out.description.mutable_provenance()->set_source_format(
      absl::StrCat("safetensors (Hugging Face ", family.hf_model_type, ")"));
  out.description.mutable_provenance()->set_source(dir);

  for (const model::TensorSpec& spec : model::ExpectedTensors(a)) {
    if (spec.name == "rope_freqs.weight") {
      std::vector<float> factors =
          a.rope_scaling().original_context() > 0
              ? Llama3RopeFactors(static_cast<int>(a.rotary_dim()), a.rope_base(), a.rope_scaling())
              : std::vector<float>(a.rotary_dim() / 2, a.rope_scaling().factor());
      SM_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes,
                          model::EncodeF32(factors, static_cast<int64_t>(factors.size()),
                                           core::DType::kF32));
      SM_RETURN_IF_ERROR(AddTensor(out, spec, {{spec.name, core::DType::kF32, spec.shape, bytes}}));
      out.tensors.back().owned = std::move(bytes);
      out.tensors.back().bytes = out.tensors.back().owned;
      continue;
    }
    const std::vector<std::string> names = HfNames(family, spec.name);
    std::vector<SourceTensor> parts;
    for (const std::string& theirs : names) {
      const SourceTensor* found = FindCheckpointTensor(tensors, theirs);
      if (found == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("the checkpoint has no tensor '", theirs, "' (for ", spec.name, ")"));
      }
      parts.push_back(*found);
    }
    if (parts.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("the checkpoint has no tensor for ", spec.name));
    }
    if (parts.size() > 1) {  // kept apart in the file: stacked by rows here
      SM_RETURN_IF_ERROR(AddTensor(out, spec, parts));
      continue;
    }
    const std::string& theirs = names[0];
    SourceTensor part = parts[0];
    // Bytes made here (Gemma's norms, GPT-2's transposed matrices), handed
    // to the tensor once added.
    std::vector<uint8_t> made;
    const bool in_layer = absl::StartsWith(spec.name, "blk.");
    if (family.hf_norm_plus_one && absl::EndsWith(spec.name, "norm.weight")) {
      SM_ASSIGN_OR_RETURN(made, PlusOne(part));
      part.dtype = core::DType::kF32;
    } else if (family.hf_conv1d && in_layer && spec.is_matrix) {  // Conv1D: [in, out]
      if (part.shape.size() != 2) {
        return absl::InvalidArgumentError(absl::StrCat("tensor '", theirs, "' is not a matrix"));
      }
      SM_ASSIGN_OR_RETURN(made, Transposed(part));
      part.dtype = core::DType::kF32;
      part.shape = {part.shape[1], part.shape[0]};
    }
    if (family.hf_position_offset && spec.name == "position_embd.weight" &&
        part.shape.size() == 2) {
      SM_ASSIGN_OR_RETURN(int64_t offset, PositionOffset(config.first));
      const size_t row = part.bytes.size() / part.shape[0];
      if (part.shape[0] > offset) {
        part.bytes = part.bytes.subspan(offset * row);
        part.shape[0] -= offset;
      }
    }
    if (!made.empty()) part.bytes = made;
    SM_RETURN_IF_ERROR(AddTensor(out, spec, {part}));
    model::ModelTensor& added = out.tensors.back();
    if (added.owned.empty() && !made.empty()) {  // still pointing at `made`
      added.owned = std::move(made);
      added.bytes = added.owned;
    }
  }
  return out;
}

}  // namespace smallmind::formats
