#include "formats/hf_import.h"

#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/file_util.h"
#include "core/mapped_file.h"
#include "core/status.h"
#include "formats/hf_tokenizer.h"
#include "formats/json_util.h"
#include "formats/safetensors_import.h"
#include "model/tensor_codec.h"

namespace smallmind::formats {
namespace {

constexpr char kConfig[] = "config.json";

// How one family's checkpoints differ.
struct HfFamily {
  const char* model_type;
  model::MlpKind mlp;
  const char* activation_key;  // config key naming the activation
  const char* activation;      // the one value the forward pass has
  bool qkv_bias, qk_norm, post_norms, fused;  // fused: qkv_proj, gate_up_proj
  bool norm_plus_one;          // RMSNorm weights stored as w − 1
  bool tied_default;
};

constexpr HfFamily kHfFamilies[] = {
    {"llama", model::SWIGLU, "hidden_act", "silu", false, false, false, false, false, false},
    {"qwen2", model::SWIGLU, "hidden_act", "silu", true, false, false, false, false, false},
    {"qwen3", model::SWIGLU, "hidden_act", "silu", false, true, false, false, false, false},
    {"gemma3_text", model::GEGLU, "hidden_activation", "gelu_pytorch_tanh", false, true, true,
     false, true, true},
    {"phi3", model::SWIGLU, "hidden_act", "silu", false, false, false, true, false, false},
};

absl::Status Refuse(const Json& c, const char* key) {
  if (Field(c, key) == nullptr) return absl::OkStatus();
  return absl::UnimplementedError(absl::StrCat(kConfig, ": '", key, "' is not supported"));
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

absl::StatusOr<model::Architecture> ArchitectureOf(const Json& c, const HfFamily& f) {
  const std::string what = kConfig;
  model::Architecture a;
  a.set_name(f.model_type);
  SM_ASSIGN_OR_RETURN(int64_t dim, PositiveInt(c, "hidden_size", what));
  SM_ASSIGN_OR_RETURN(int64_t layers, PositiveInt(c, "num_hidden_layers", what));
  SM_ASSIGN_OR_RETURN(int64_t heads, PositiveInt(c, "num_attention_heads", what));
  SM_ASSIGN_OR_RETURN(int64_t kv_heads, PositiveInt(c, "num_key_value_heads", what, heads));
  SM_ASSIGN_OR_RETURN(int64_t head_dim, PositiveInt(c, "head_dim", what, dim / heads));
  SM_ASSIGN_OR_RETURN(int64_t hidden, PositiveInt(c, "intermediate_size", what));
  SM_ASSIGN_OR_RETURN(int64_t vocab, PositiveInt(c, "vocab_size", what));
  SM_ASSIGN_OR_RETURN(int64_t context, PositiveInt(c, "max_position_embeddings", what));
  SM_ASSIGN_OR_RETURN(double eps, Number(c, "rms_norm_eps", what, 1e-6));
  SM_ASSIGN_OR_RETURN(double theta, Number(c, "rope_theta", what, 10000.0));
  SM_ASSIGN_OR_RETURN(bool tied, Bool(c, "tie_word_embeddings", what, f.tied_default));
  SM_ASSIGN_OR_RETURN(std::string activation, String(c, f.activation_key, what, f.activation));
  if (activation != f.activation) {
    return absl::UnimplementedError(absl::StrCat(what, ": '", f.activation_key, "' is '",
                                                 activation, "' (", f.activation, " is supported)"));
  }
  for (const char* key : {"attn_logit_softcapping", "final_logit_softcapping",
                          "num_local_experts", "num_experts"}) {
    SM_RETURN_IF_ERROR(Refuse(c, key));
  }
  SM_ASSIGN_OR_RETURN(bool attention_bias, Bool(c, "attention_bias", what, false));
  SM_ASSIGN_OR_RETURN(bool mlp_bias, Bool(c, "mlp_bias", what, false));
  if ((attention_bias && !f.qkv_bias) || mlp_bias) {
    return absl::UnimplementedError(absl::StrCat(what, ": attention_bias/mlp_bias"));
  }
  SM_ASSIGN_OR_RETURN(bool sliding, Bool(c, "use_sliding_window", what, false));
  if (sliding && std::string(f.model_type) == "qwen2") {
    return absl::UnimplementedError(absl::StrCat(what, ": 'use_sliding_window' is not supported"));
  }
  a.set_vocab_size(static_cast<uint32_t>(vocab));
  a.set_context_length(static_cast<uint32_t>(context));
  a.set_embedding_dim(static_cast<uint32_t>(dim));
  a.set_num_layers(static_cast<uint32_t>(layers));
  a.set_num_heads(static_cast<uint32_t>(heads));
  a.set_num_kv_heads(static_cast<uint32_t>(kv_heads));
  a.set_head_dim(static_cast<uint32_t>(head_dim));
  a.set_hidden_dim(static_cast<uint32_t>(hidden));
  a.set_norm(model::RMS_NORM);
  a.set_norm_eps(static_cast<float>(eps));
  a.set_positions(model::ROPE);
  a.set_rope_style(model::ROTATE_HALF);
  a.set_rope_base(static_cast<float>(theta));
  SM_ASSIGN_OR_RETURN(double partial, Number(c, "partial_rotary_factor", what, 1.0));
  a.set_rotary_dim(static_cast<uint32_t>(std::lround(head_dim * partial)) / 2 * 2);
  a.set_mlp(f.mlp);
  a.set_tied_output(tied);
  a.set_qkv_bias(f.qkv_bias);
  a.set_qk_norm(f.qk_norm);
  a.set_post_norms(f.post_norms);
  if (const Json* scaling = Field(c, "rope_scaling"); scaling != nullptr) {
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
  }
  if (std::string(f.model_type) == "gemma3_text") {
    a.set_embedding_scale(std::sqrt(static_cast<float>(dim)));
    SM_ASSIGN_OR_RETURN(double scalar,
                        Number(c, "query_pre_attn_scalar", what, static_cast<double>(head_dim)));
    if (!(scalar > 0)) return absl::InvalidArgumentError("config.json: query_pre_attn_scalar");
    a.set_attention_scale(static_cast<float>(1.0 / std::sqrt(scalar)));
    if (const Json* window = Field(c, "sliding_window"); window != nullptr) {
      SM_ASSIGN_OR_RETURN(int64_t w, PositiveInt(c, "sliding_window", what));
      a.set_sliding_window(static_cast<uint32_t>(w));
      uint32_t pattern = 6;
      if (const Json* types = Field(c, "layer_types"); types != nullptr) {
        SM_ASSIGN_OR_RETURN(pattern, PatternFromLayerTypes(*types));
      } else {
        SM_ASSIGN_OR_RETURN(int64_t p, PositiveInt(c, "sliding_window_pattern", what, 6));
        pattern = static_cast<uint32_t>(p);
      }
      a.set_sliding_window_pattern(pattern);
      SM_ASSIGN_OR_RETURN(double local, Number(c, "rope_local_base_freq", what, 10000.0));
      a.set_rope_local_base(static_cast<float>(local));
    }
  }
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
      return absl::Status(parsed.status().code(),
                          absl::StrCat(name, ": ", parsed.status().message()));
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

}  // namespace

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
  SM_ASSIGN_OR_RETURN(Json config, ParseJson(config_text, kConfig));
  SM_ASSIGN_OR_RETURN(std::string model_type, String(config, "model_type", kConfig, ""));
  if (model_type == "gpt2") return ImportHuggingFaceGpt2(dir);
  if (model_type == "gemma3") {  // the multimodal checkpoint: its language model
    const Json* text = Field(config, "text_config");
    if (text == nullptr) return absl::InvalidArgumentError("config.json: gemma3 has no text_config");
    config = *text;
    model_type = "gemma3_text";
  }
  const HfFamily* family = nullptr;
  std::vector<std::string> names = {"gpt2"};
  for (const HfFamily& f : kHfFamilies) {
    if (model_type == f.model_type) family = &f;
    names.push_back(f.model_type);
  }
  if (family == nullptr) {
    return absl::UnimplementedError(absl::StrCat("config.json model_type '", model_type,
                                                 "' is not supported (",
                                                 absl::StrJoin(names, ", "), ")"));
  }
  SM_ASSIGN_OR_RETURN(model::Architecture a, ArchitectureOf(config, *family));
  SM_ASSIGN_OR_RETURN(HfTokenizerFiles files, ReadHfTokenizerFiles(dir));
  SM_ASSIGN_OR_RETURN(model::TokenizerSpec tokenizer, TokenizerFromHf(files));
  // Embeddings padded past the tokenizer (Qwen's) get tokens no text makes.
  if (tokenizer.tokens_size() > static_cast<int>(a.vocab_size())) {
    return absl::InvalidArgumentError(absl::StrCat("tokenizer.json has ", tokenizer.tokens_size(),
                                                   " tokens, config.json a vocab_size of ",
                                                   a.vocab_size()));
  }
  for (int id = tokenizer.tokens_size(); id < static_cast<int>(a.vocab_size()); ++id) {
    tokenizer.add_tokens(absl::StrCat("<|unused", id, "|>"));
    tokenizer.add_token_types(model::UNUSED);
  }

  model::ModelData out;
  std::map<std::string, SourceTensor> tensors;
  SM_RETURN_IF_ERROR(LoadTensors(dir, out, &tensors));
  const std::string prefix =
      tensors.count("language_model.model.embed_tokens.weight") ? "language_model.model." : "model.";
  if (!a.tied_output() && !tensors.count("lm_head.weight") &&
      !tensors.count("language_model.lm_head.weight")) {
    a.set_tied_output(true);  // some checkpoints say untied but store no head
  }
  *out.description.mutable_architecture() = a;
  *out.description.mutable_tokenizer() = std::move(tokenizer);
  out.description.mutable_provenance()->set_source_format(
      absl::StrCat("safetensors (Hugging Face ", model_type, ")"));
  out.description.mutable_provenance()->set_source(dir);

  const bool gemma = family->norm_plus_one;
  for (const model::TensorSpec& spec : model::ExpectedTensors(a)) {
    if (spec.name == "rope_freqs.weight") {
      std::vector<float> factors =
          a.rope_scaling().original_context() > 0
              ? Llama3RopeFactors(static_cast<int>(a.rotary_dim()), a.rope_base(), a.rope_scaling())
              : std::vector<float>(a.rotary_dim() / 2, a.rope_scaling().factor());
      model::ModelTensor t;
      t.name = spec.name;
      t.shape = spec.shape;
      t.owned.resize(factors.size() * sizeof(float));
      std::memcpy(t.owned.data(), factors.data(), t.owned.size());
      t.bytes = t.owned;
      out.tensors.push_back(std::move(t));
      continue;
    }
    // Our name -> the checkpoint's, by layer.
    std::string role = spec.name, layer;
    if (absl::StartsWith(spec.name, "blk.")) {
      const size_t dot = spec.name.find('.', 4);
      layer = absl::StrCat(prefix, "layers.", spec.name.substr(4, dot - 4), ".");
      role = spec.name.substr(dot + 1);
    }
    std::vector<std::string> sources;
    bool norm = false;
    if (role == "token_embd.weight") {
      sources = {prefix + "embed_tokens.weight"};
    } else if (role == "output_norm.weight") {
      sources = {prefix + "norm.weight"};
      norm = true;
    } else if (role == "output.weight") {
      sources = {tensors.count("lm_head.weight") ? "lm_head.weight" : "language_model.lm_head.weight"};
    } else {
      static const std::map<std::string, std::vector<std::string>> kSplit = {
          {"attn_qkv.weight", {"self_attn.q_proj.weight", "self_attn.k_proj.weight",
                               "self_attn.v_proj.weight"}},
          {"attn_qkv.bias", {"self_attn.q_proj.bias", "self_attn.k_proj.bias",
                             "self_attn.v_proj.bias"}},
          {"ffn_gate_up.weight", {"mlp.gate_proj.weight", "mlp.up_proj.weight"}},
      };
      static const std::map<std::string, std::string> kOne = {
          {"attn_norm.weight", "input_layernorm.weight"},
          {"attn_q_norm.weight", "self_attn.q_norm.weight"},
          {"attn_k_norm.weight", "self_attn.k_norm.weight"},
          {"attn_output.weight", "self_attn.o_proj.weight"},
          {"attn_post_norm.weight", "post_attention_layernorm.weight"},
          {"ffn_down.weight", "mlp.down_proj.weight"},
          {"ffn_post_norm.weight", "post_feedforward_layernorm.weight"},
      };
      if (family->fused && role == "attn_qkv.weight") {
        sources = {layer + "self_attn.qkv_proj.weight"};
      } else if (family->fused && role == "ffn_gate_up.weight") {
        sources = {layer + "mlp.gate_up_proj.weight"};
      } else if (role == "ffn_norm.weight") {
        sources = {layer + (gemma ? "pre_feedforward_layernorm.weight"
                                  : "post_attention_layernorm.weight")};
      } else if (auto it = kSplit.find(role); it != kSplit.end()) {
        for (const std::string& s : it->second) sources.push_back(layer + s);
      } else if (auto one = kOne.find(role); one != kOne.end()) {
        sources = {layer + one->second};
      } else {
        return absl::InternalError(absl::StrCat("no checkpoint name for '", spec.name, "'"));
      }
      norm = absl::EndsWith(role, "norm.weight");
    }
    std::vector<SourceTensor> parts;
    std::vector<std::vector<uint8_t>> made;  // bytes made here (Gemma's norms)
    made.reserve(sources.size());
    for (const std::string& s : sources) {
      auto it = tensors.find(s);
      if (it == tensors.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat("the checkpoint has no tensor '", s, "' (for ", spec.name, ")"));
      }
      SourceTensor part = it->second;
      if (norm && gemma) {
        SM_ASSIGN_OR_RETURN(made.emplace_back(), PlusOne(part));
        part.dtype = core::DType::kF32;
        part.bytes = made.back();
      }
      parts.push_back(part);
    }
    SM_RETURN_IF_ERROR(AddTensor(out, spec, parts));
    model::ModelTensor& added = out.tensors.back();
    if (added.owned.empty() && !made.empty()) {  // still pointing at `made`
      added.owned = std::move(made.front());
      added.bytes = added.owned;
    }
  }
  return out;
}

}  // namespace smallmind::formats
