#include "formats/safetensors_import.h"

#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/file_util.h"
#include "core/status.h"
#include "formats/json_util.h"
#include "model/presets.h"
#include "model/tensor_codec.h"

namespace smallmind::formats {
namespace {

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

}  // namespace

absl::StatusOr<std::map<std::string, SourceTensor>> ParseSafetensors(
    absl::Span<const uint8_t> bytes) {
  uint64_t header_size;
  if (bytes.size() < 8) {
    return absl::InvalidArgumentError("too short for a safetensors header");
  }
  std::memcpy(&header_size, bytes.data(), 8);
  if (header_size > bytes.size() - 8) {
    return absl::InvalidArgumentError(absl::StrCat(
        "header length ", header_size, " runs past the end of the file (",
        bytes.size(), " bytes)"));
  }
  SM_ASSIGN_OR_RETURN(
      Json header,
      ParseJson(absl::string_view(reinterpret_cast<const char*>(bytes.data()) + 8,
                                  header_size),
                "the safetensors header"));
  if (!header.is_object()) {
    return absl::InvalidArgumentError("the safetensors header is not an object");
  }
  const absl::Span<const uint8_t> data = bytes.subspan(8 + header_size);
  std::map<std::string, SourceTensor> tensors;
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") continue;
    auto bad = [&name = name](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor '", name, "': ", why));
    };
    if (!info.is_object() || !info.contains("dtype") ||
        !info.contains("shape") || !info.contains("data_offsets") ||
        !info["dtype"].is_string() || !info["shape"].is_array() ||
        !info["data_offsets"].is_array() || info["data_offsets"].size() != 2) {
      return bad("needs dtype, shape and two data_offsets");
    }
    SourceTensor t;
    t.name = name;
    const std::string dtype = info["dtype"];
    if (dtype == "F32") t.dtype = core::DType::kF32;
    else if (dtype == "F16") t.dtype = core::DType::kF16;
    else if (dtype == "BF16") t.dtype = core::DType::kBF16;
    else return bad(absl::StrCat("dtype ", dtype, " is not supported"));
    uint64_t elements = 1;
    for (const Json& d : info["shape"]) {
      if (!d.is_number_unsigned() || d.get<uint64_t>() == 0 ||
          d.get<uint64_t>() > (uint64_t{1} << 40) / elements) {
        return bad("bad shape");
      }
      elements *= d.get<uint64_t>();
      t.shape.push_back(d.get<int64_t>());
    }
    if (t.shape.empty() || t.shape.size() > 4) return bad("rank must be 1..4");
    const Json& offsets = info["data_offsets"];
    if (!offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned()) {
      return bad("data_offsets are not unsigned integers");
    }
    const uint64_t begin = offsets[0], end = offsets[1];
    if (begin > end || end > data.size()) {
      return bad(absl::StrCat("data_offsets [", begin, ", ", end,
                              "] lie outside the ", data.size(),
                              "-byte data section"));
    }
    if (end - begin != elements * (t.dtype == core::DType::kF32 ? 4 : 2)) {
      return bad(absl::StrCat(end - begin, " bytes do not match ", dtype,
                              " of ", elements, " elements"));
    }
    t.bytes = data.subspan(begin, end - begin);
    tensors.emplace(name, std::move(t));
  }
  return tensors;
}

absl::StatusOr<model::Architecture> ArchitectureFromHfConfig(
    absl::string_view config_text) {
  SM_ASSIGN_OR_RETURN(Json config, ParseJson(config_text, "config.json"));
  if (!config.is_object()) {
    return absl::InvalidArgumentError("config.json is not an object");
  }
  SM_ASSIGN_OR_RETURN(const std::string model_type,
                      String(config, "model_type", "config.json", ""));
  if (model_type != "gpt2") {
    return absl::UnimplementedError(absl::StrCat(
        "config.json model_type is '", model_type, "'; only gpt2 is supported"));
  }
  SM_ASSIGN_OR_RETURN(const std::string activation,
                      String(config, "activation_function", "config.json", "gelu_new"));
  if (activation != "gelu_new" && activation != "gelu_pytorch_tanh") {
    return absl::UnimplementedError(absl::StrCat(
        "activation_function '", activation,
        "' is not supported (gelu_new, gelu_pytorch_tanh)"));
  }
  SM_ASSIGN_OR_RETURN(int64_t dim, PositiveInt(config, "n_embd", "config.json"));
  SM_ASSIGN_OR_RETURN(int64_t layers, PositiveInt(config, "n_layer", "config.json"));
  SM_ASSIGN_OR_RETURN(int64_t heads, PositiveInt(config, "n_head", "config.json"));
  SM_ASSIGN_OR_RETURN(int64_t context, PositiveInt(config, "n_positions", "config.json"));
  SM_ASSIGN_OR_RETURN(int64_t vocab, PositiveInt(config, "vocab_size", "config.json"));
  SM_ASSIGN_OR_RETURN(int64_t hidden, PositiveInt(config, "n_inner", "config.json", 4 * dim));
  if (dim % heads != 0) {
    return absl::InvalidArgumentError("n_embd is not a multiple of n_head");
  }
  const Json& eps = config.contains("layer_norm_epsilon") ? config["layer_norm_epsilon"]
                                                          : Json(1e-5);
  if (!eps.is_number()) {
    return absl::InvalidArgumentError("config.json: 'layer_norm_epsilon' is not a number");
  }
  model::Architecture a = model::Gpt2Architecture(vocab, context, dim, layers, heads,
                                                      hidden, eps.get<float>());
  SM_RETURN_IF_ERROR(model::ValidateArchitecture(a));
  return a;
}

absl::StatusOr<model::TokenizerSpec> TokenizerFromGpt2Files(absl::string_view vocab_text,
                                                              absl::string_view merges,
                                                              int64_t vocab) {
  // vocab.json maps token -> id; merges.txt lists merges after a "#version"
  // line.
  SM_ASSIGN_OR_RETURN(Json vocab_json, ParseJson(vocab_text, "vocab.json"));
  if (!vocab_json.is_object()) {
    return absl::InvalidArgumentError("vocab.json is not an object");
  }
  std::vector<std::string> tokens(vocab);
  std::vector<bool> seen(vocab);
  for (const auto& [token, id] : vocab_json.items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 ||
        id.get<int64_t>() >= vocab || seen[id.get<int64_t>()]) {
      return absl::InvalidArgumentError(absl::StrCat(
          "vocab.json: token '", token, "' has a bad or repeated id"));
    }
    tokens[id.get<int64_t>()] = token;
    seen[id.get<int64_t>()] = true;
  }
  model::TokenizerSpec tok;
  tok.set_kind(model::GPT2_BPE);
  for (int64_t id = 0; id < vocab; ++id) {
    // Ids vocab.json leaves out (padding up to vocab_size) get a name that
    // no text encodes to.
    tok.add_tokens(seen[id] ? tokens[id] : absl::StrCat("<|unused", id, "|>"));
    tok.add_token_types(seen[id] ? model::NORMAL : model::UNUSED);
  }
  for (absl::string_view line : absl::StrSplit(merges, '\n')) {
    line = absl::StripTrailingAsciiWhitespace(line);
    if (line.empty() || absl::StartsWith(line, "#version")) continue;
    tok.add_merges(std::string(line));
  }
  if (auto it = vocab_json.find("<|endoftext|>"); it != vocab_json.end()) {
    tok.set_eos_id(it->get<int>());
    tok.set_bos_id(it->get<int>());
  }
  tok.set_add_bos(false);
  return tok;
}

absl::StatusOr<model::ModelData> ImportHuggingFaceGpt2(
    const std::string& directory) {
  SM_ASSIGN_OR_RETURN(std::string config_text,
                      core::ReadFileToString(directory + "/config.json"));
  SM_ASSIGN_OR_RETURN(model::Architecture a, ArchitectureFromHfConfig(config_text));
  SM_ASSIGN_OR_RETURN(std::string vocab_text, core::ReadFileToString(directory + "/vocab.json"));
  SM_ASSIGN_OR_RETURN(std::string merges, core::ReadFileToString(directory + "/merges.txt"));
  SM_ASSIGN_OR_RETURN(model::TokenizerSpec tok,
                      TokenizerFromGpt2Files(vocab_text, merges, a.vocab_size()));

  SM_ASSIGN_OR_RETURN(core::MappedFile file,
                      core::MappedFile::Open(directory + "/model.safetensors"));
  absl::StatusOr<std::map<std::string, SourceTensor>> tensors =
      ParseSafetensors(file.bytes());
  if (!tensors.ok()) {
    return absl::Status(tensors.status().code(),
                        absl::StrCat(directory, "/model.safetensors: ",
                                     tensors.status().message()));
  }
  // transformers saves GPT2LMHeadModel with a "transformer." prefix and
  // GPT2Model without.
  const std::string prefix = tensors->count("transformer.wte.weight") ? "transformer." : "";
  a.set_tied_output(!tensors->count("lm_head.weight"));
  SM_RETURN_IF_ERROR(model::ValidateArchitecture(a));

  model::ModelData out;
  *out.description.mutable_architecture() = a;
  *out.description.mutable_tokenizer() = std::move(tok);
  out.description.mutable_provenance()->set_source_format("safetensors (Hugging Face GPT-2)");
  out.description.mutable_provenance()->set_source(directory);
  for (const model::TensorSpec& spec : model::ExpectedTensors(a)) {
    int layer = -1;
    std::string role = spec.name;
    if (sscanf(spec.name.c_str(), "blk.%d.", &layer) == 1) {
      role = spec.name.substr(spec.name.find('.', 4) + 1);
    }
    static const std::map<std::string, std::string> kNames = {
        {"token_embd.weight", "wte.weight"},
        {"position_embd.weight", "wpe.weight"},
        {"attn_norm.weight", "ln_1.weight"}, {"attn_norm.bias", "ln_1.bias"},
        {"attn_qkv.weight", "attn.c_attn.weight"},
        {"attn_qkv.bias", "attn.c_attn.bias"},
        {"attn_output.weight", "attn.c_proj.weight"},
        {"attn_output.bias", "attn.c_proj.bias"},
        {"ffn_norm.weight", "ln_2.weight"}, {"ffn_norm.bias", "ln_2.bias"},
        {"ffn_up.weight", "mlp.c_fc.weight"}, {"ffn_up.bias", "mlp.c_fc.bias"},
        {"ffn_down.weight", "mlp.c_proj.weight"},
        {"ffn_down.bias", "mlp.c_proj.bias"},
        {"output_norm.weight", "ln_f.weight"}, {"output_norm.bias", "ln_f.bias"}};
    const std::string hf =
        role == "output.weight"
            ? "lm_head.weight"
            : absl::StrCat(prefix, layer >= 0 ? absl::StrCat("h.", layer, ".") : "",
                           kNames.at(role));
    auto it = tensors->find(hf);
    if (it == tensors->end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "model.safetensors has no tensor '", hf, "' (for ", spec.name, ")"));
    }
    SourceTensor source = it->second;
    std::vector<uint8_t> transposed;
    if (layer >= 0 && spec.is_matrix) {  // Conv1D: [in, out]
      if (source.shape.size() != 2) {
        return absl::InvalidArgumentError(
            absl::StrCat("tensor '", hf, "' is not a matrix"));
      }
      SM_ASSIGN_OR_RETURN(transposed, Transposed(source));
      source.dtype = core::DType::kF32;
      source.shape = {source.shape[1], source.shape[0]};
      source.bytes = transposed;
    }
    SM_RETURN_IF_ERROR(AddTensor(out, spec, {source}));
    if (!transposed.empty()) {
      // AddTensor referenced `transposed`; hand the buffer to the tensor.
      model::ModelTensor& added = out.tensors.back();
      added.owned = std::move(transposed);
      added.bytes = added.owned;
    }
  }
  out.sources.push_back(std::move(file));
  return out;
}

}  // namespace smallmind::formats
