// Hugging Face checkpoint directories into the .smm description: config.json
// (model_type gpt2, llama, qwen2, qwen3, gemma3_text / gemma3, phi3),
// model.safetensors or shards named by model.safetensors.index.json (F32,
// F16 or BF16, kept as they are), and the tokenizer files (tokenizer.json,
// tokenizer_config.json, generation_config.json; GPT-2's vocab.json and
// merges.txt).
//
// The checkpoints' conventions are taken into the one forward pass: RoPE in
// Hugging Face's rotate-half form, q/k/v and gate/up used in place as the
// separate tensors they are (Phi-3's fused ones as they are), Gemma's
// RMSNorm weights stored as w − 1 (1 is added), GPT-2's Conv1D weights
// transposed, Llama 3's rope_scaling turned into per-pair frequency
// divisors. Each family's keys and names are its row of formats/families.h. Features the forward pass lacks
// (LongRoPE, YaRN, soft-capping, mixtures of experts) are refused by name.
#ifndef SMALLMIND_FORMATS_HF_IMPORT_H_
#define SMALLMIND_FORMATS_HF_IMPORT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "formats/importing.h"

namespace smallmind::formats {

absl::StatusOr<model::ModelData> ImportHuggingFace(const std::string& directory);

// config.json alone, in its family's keys (formats/families.h). Errors name
// the key.
absl::StatusOr<model::Architecture> ArchitectureFromHfConfig(absl::string_view config_json);

// Llama 3's rope_scaling as Hugging Face computes it
// (_compute_llama3_parameters): each rotated pair's frequency divisor.
std::vector<float> Llama3RopeFactors(int rotary_dim, double base,
                                     const model::RopeScaling& scaling);

}  // namespace smallmind::formats

#endif  // SMALLMIND_FORMATS_HF_IMPORT_H_
