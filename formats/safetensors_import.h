// Hugging Face GPT-2 checkpoints: a directory holding model.safetensors,
// config.json, vocab.json and merges.txt, into the .smm description. GPT-2's
// Conv1D weights are stored [in, out] and are transposed here; F16 and BF16
// tensors keep their dtype.
#ifndef SMALLMIND_FORMATS_SAFETENSORS_IMPORT_H_
#define SMALLMIND_FORMATS_SAFETENSORS_IMPORT_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "formats/importing.h"

namespace smallmind::formats {

// The tensors of a .safetensors file (a u64 header length, a JSON header,
// then data), each checked to lie inside the file and to match its dtype
// and shape. `bytes` must outlive the result.
absl::StatusOr<std::map<std::string, SourceTensor>> ParseSafetensors(
    absl::Span<const uint8_t> bytes);

absl::StatusOr<model::ModelData> ImportHuggingFaceGpt2(
    const std::string& directory);

// config.json of a GPT-2 checkpoint (tied_output is left for the tensors to
// decide). Errors name the key.
absl::StatusOr<model::Architecture> ArchitectureFromHfConfig(
    absl::string_view config_json);

// vocab.json (token -> id) and merges.txt as a GPT-2 byte-level BPE
// vocabulary of `vocab_size` tokens.
absl::StatusOr<model::TokenizerSpec> TokenizerFromGpt2Files(
    absl::string_view vocab_json, absl::string_view merges, int64_t vocab_size);

}  // namespace smallmind::formats

#endif  // SMALLMIND_FORMATS_SAFETENSORS_IMPORT_H_
