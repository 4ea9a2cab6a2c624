#include "model/presets.h"

#include <random>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status.h"
#include "model/model.h"
#include "model/model_file.h"
#include "model/tensor_codec.h"

namespace smallmind::model {
namespace {

Architecture Gpt2Shape(int vocab, int context, int dim, int layers, int heads) {
  return Gpt2Architecture(vocab, context, dim, layers, heads, 4 * dim, 1e-5f);
}

Architecture LlamaShape(int vocab, int context, int dim, int layers, int heads,
                        int kv_heads, int hidden) {
  Architecture a;
  a.set_name("llama");
  a.set_vocab_size(vocab);
  a.set_context_length(context);
  a.set_embedding_dim(dim);
  a.set_num_layers(layers);
  a.set_num_heads(heads);
  a.set_num_kv_heads(kv_heads);
  a.set_head_dim(dim / heads);
  a.set_hidden_dim(hidden);
  a.set_norm(RMS_NORM);
  a.set_norm_eps(1e-5f);
  a.set_positions(ROPE);
  a.set_rope_style(PAIRWISE);
  a.set_rope_base(10000.0f);
  a.set_rotary_dim(dim / heads);
  a.set_mlp(SWIGLU);
  a.set_biases(false);
  a.set_tied_output(true);  // llama2.c's stories models share the embedding
  return a;
}

}  // namespace

Architecture Gpt2Architecture(int64_t vocab, int64_t context, int64_t dim,
                              int64_t layers, int64_t heads, int64_t hidden,
                              float norm_eps) {
  Architecture a;
  a.set_name("gpt2");
  a.set_vocab_size(vocab);
  a.set_context_length(context);
  a.set_embedding_dim(dim);
  a.set_num_layers(layers);
  a.set_num_heads(heads);
  a.set_num_kv_heads(heads);
  a.set_head_dim(dim / heads);
  a.set_hidden_dim(hidden);
  a.set_norm(LAYER_NORM);
  a.set_norm_eps(norm_eps);
  a.set_positions(LEARNED);
  a.set_mlp(GELU);
  a.set_biases(true);
  a.set_tied_output(false);
  return a;
}

const std::vector<Preset>& Presets() {
  static const std::vector<Preset>* presets = new std::vector<Preset>{
      {"small", "the seed's small GPT-2: 2 layers, dim 128, bytes as tokens",
       Gpt2Shape(256, 64, 128, 2, 4)},
      {"medium", "the seed's medium GPT-2: 4 layers, dim 256, vocab 512",
       Gpt2Shape(512, 128, 256, 4, 8)},
      {"stories15m", "llama2.c's stories15M shape: 6 layers, dim 288",
       LlamaShape(32000, 256, 288, 6, 6, 6, 768)},
  };
  return *presets;
}

absl::StatusOr<Preset> FindPreset(absl::string_view name) {
  std::vector<std::string> names;
  for (const Preset& p : Presets()) {
    if (p.name == absl::AsciiStrToLower(name)) return p;
    names.push_back(p.name);
  }
  return absl::NotFoundError(absl::StrCat("unknown preset '", name,
                                          "'; presets: ",
                                          absl::StrJoin(names, ", ")));
}

absl::StatusOr<TokenizerSpec> ByteTokenizer(int64_t vocab_size) {
  if (vocab_size < 256) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a byte vocabulary needs at least 256 tokens, not ", vocab_size));
  }
  TokenizerSpec spec;
  spec.set_kind(CHAR);
  for (int b = 0; b < 256; ++b) {
    spec.add_tokens(std::string(1, static_cast<char>(b)));
    spec.add_token_types(b < 0x80 ? NORMAL : BYTE);
  }
  for (int64_t i = 256; i < vocab_size; ++i) {
    spec.add_tokens(absl::StrCat("<unused", i - 256, ">"));
    spec.add_token_types(UNUSED);
  }
  return spec;
}

ModelDescription DescribeModel(const Architecture& arch,
                               const TokenizerSpec& tokenizer,
                               absl::string_view source_format,
                               absl::string_view source) {
  ModelDescription d;
  *d.mutable_architecture() = arch;
  *d.mutable_tokenizer() = tokenizer;
  d.mutable_provenance()->set_source_format(std::string(source_format));
  d.mutable_provenance()->set_source(std::string(source));
  return d;
}

absl::Status WriteRandomModel(const std::string& path,
                              const ModelDescription& description,
                              const RandomModelOptions& options) {
  SM_RETURN_IF_ERROR(ValidateArchitecture(description.architecture()));
  std::mt19937_64 rng(options.seed);
  std::normal_distribution<float> normal(0.0f, options.stddev);
  std::vector<std::vector<uint8_t>> data;
  std::vector<TensorSource> sources;
  for (const TensorSpec& spec : ExpectedTensors(description.architecture())) {
    int64_t n = 1;
    for (int64_t d : spec.shape) n *= d;
    std::vector<float> values(n);
    const bool is_norm = spec.name.find("norm.weight") != std::string::npos;
    const bool is_bias = spec.name.size() > 5 &&
                         spec.name.compare(spec.name.size() - 5, 5, ".bias") == 0;
    for (float& v : values) v = is_norm ? 1.0f : is_bias ? 0.0f : normal(rng);
    const core::DType dtype = spec.is_matrix ? options.dtype : core::DType::kF32;
    SM_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes,
                        EncodeF32(values, spec.shape.back(), dtype));
    data.push_back(std::move(bytes));
    sources.push_back({spec.name, dtype, spec.shape, {}});
  }
  for (size_t i = 0; i < sources.size(); ++i) sources[i].bytes = data[i];
  return WriteModelFile(path, description, sources);
}

}  // namespace smallmind::model
