// GGUF (llama.cpp) models of the llama (Llama 1-3, SmolLM), gpt2, qwen2,
// qwen3, gemma3 and phi3 architectures into the .smm description:
// hyper-parameters from metadata, the tokenizer from tokenizer.ggml.* (with
// its pre-tokenizer, end-of-turn tokens and chat template), tensors kept in
// their dtype, q/k/v and gate/up fused by rows unless their dtypes differ.
// Features the forward pass lacks (soft-capping, LongRoPE, experts, YaRN)
// are refused by name.
#ifndef SMALLMIND_FORMATS_GGUF_IMPORT_H_
#define SMALLMIND_FORMATS_GGUF_IMPORT_H_

#include <string>

#include "absl/status/statusor.h"
#include "formats/gguf.h"
#include "formats/importing.h"

namespace smallmind::formats {

// Reads and converts `path`. Errors on a malformed file (see GgufFile), an
// unsupported architecture or tensor type, or tensors that disagree with
// the metadata.
absl::StatusOr<model::ModelData> ImportGguf(const std::string& path);

// The conversion of an already parsed file (whose bytes must outlive the
// result).
absl::StatusOr<model::ModelData> ImportGguf(const GgufFile& file,
                                          const std::string& source);

}  // namespace smallmind::formats

#endif  // SMALLMIND_FORMATS_GGUF_IMPORT_H_
