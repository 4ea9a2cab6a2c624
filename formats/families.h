// The architectures SmallMind runs, one row each: what the family is to the
// one forward pass (its knobs), and how GGUF files and Hugging Face
// checkpoints spell its settings and tensors. Both importers walk this
// table, so adding a family is a row here plus a golden model
// (tests/reference/make_golden.py); docs/architecture.md shows how.
#ifndef SMALLMIND_FORMATS_FAMILIES_H_
#define SMALLMIND_FORMATS_FAMILIES_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "model/model.pb.h"

namespace smallmind::formats {

// How a Hugging Face config.json names the hyper-parameters: transformers
// has GPT-2's vocabulary and everyone else's.
struct HfConfigKeys {
  const char* dim;
  const char* layers;
  const char* heads;
  const char* kv_heads;  // null: as many as the query heads
  const char* hidden;
  double hidden_per_dim;  // the default hidden size per dim (0: required)
  const char* context;
  const char* norm_eps;
  double norm_eps_default;
  const char* activation;
  const char* rope_base = "rope_theta";
};

// One of our tensors as a file names it. `ours` is the name after "blk.N."
// for a layer's tensors, the whole name otherwise; in `theirs`, "{L}"
// stands for the layer's index, and "|" separates the parts of a tensor
// the file keeps apart, stacked by rows in that order (nomic-bert's
// gate|up).
struct TensorName {
  const char* ours;
  const char* theirs;
};

struct Family {
  // Architecture.name, which is GGUF's general.architecture too.
  const char* name;
  // config.json's model_type; null: no Hugging Face checkpoint is read.
  const char* hf_model_type;

  // The forward pass.
  model::NormKind norm;
  model::PositionKind positions;
  model::MlpKind mlp;
  bool biases;      // every linear layer and norm has a bias
  bool qkv_bias;    // only q, k and v have biases
  bool qk_norm;     // RMSNorm of each head's q and k
  bool post_norms;  // norms after attention and MLP too
  // Encoders (BERT, nomic-bert): bidirectional attention, post-LN, no LM
  // head; their embeddings and pooling come from the file.
  bool encoder;
  // Gemma 3's: embeddings scaled by √dim, its attention scale, and
  // sliding-window layers with RoPE of their own.
  bool gemma;
  // llama.cpp permutes llama's q and k rows for the pairwise RoPE form;
  // every other family, and every Hugging Face checkpoint, is rotate-half.
  model::RopeStyle gguf_rope_style;

  // GGUF: our tensors llama.cpp names otherwise (the rest are ours).
  absl::Span<const TensorName> gguf_names;

  // Hugging Face.
  const HfConfigKeys* hf_config;
  const char* hf_activation;      // the activation the forward pass has
  const char* hf_activation_alt;  // another name for it, or null
  // Tensor names: the family's own first, then those it shares.
  absl::Span<const TensorName> hf_own_names;
  absl::Span<const TensorName> hf_names;
  bool hf_conv1d;         // matrices stored [in, out] (GPT-2's Conv1D)
  bool hf_fused;          // q|k|v and gate|up stored fused (Phi-3)
  bool hf_norm_plus_one;  // RMSNorm weights stored as w - 1 (Gemma)
  bool hf_gpt2_vocab;     // vocab.json + merges.txt instead of tokenizer.json
  // RoBERTa's positions start at pad_token_id + 1: the rows before are
  // dropped and the context is that much shorter, as llama.cpp converts it.
  bool hf_position_offset;
};

absl::Span<const Family> Families();
// The family of a GGUF general.architecture / a config.json model_type,
// or null.
const Family* FindFamily(absl::string_view name);
const Family* FindHfFamily(absl::string_view model_type);
// "llama, gpt2, ..." / "gpt2, llama, ...", for errors.
std::string FamilyNames();
std::string HfModelTypes();

// The family's knobs set on `a` (norm, positions, MLP, biases, norms).
void SetFamilyKnobs(const Family& family, model::Architecture& a);

// How `family` names our tensor `name` in a GGUF file or a checkpoint:
// one name, or the names of its parts.
std::vector<std::string> GgufNames(const Family& family, const std::string& name);
std::vector<std::string> HfNames(const Family& family, const std::string& name);

}  // namespace smallmind::formats

#endif  // SMALLMIND_FORMATS_FAMILIES_H_
