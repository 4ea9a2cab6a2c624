// GGUF (llama.cpp) models of the `llama` and `gpt2` architectures into the
// .smm description: hyper-parameters from metadata, the tokenizer from
// tokenizer.ggml.*, tensors kept in their dtype (F32, F16, BF16, Q8_0,
// Q4_0), llama's q/k/v and gate/up fused by rows.
#ifndef SMALLMIND_TOOLS_CONVERT_GGUF_IMPORT_H_
#define SMALLMIND_TOOLS_CONVERT_GGUF_IMPORT_H_

#include <string>

#include "absl/status/statusor.h"
#include "tools/convert/converted.h"
#include "tools/convert/gguf.h"

namespace smallmind::convert {

// Reads and converts `path`. Errors on a malformed file (see GgufFile), an
// unsupported architecture or tensor type, or tensors that disagree with
// the metadata.
absl::StatusOr<ConvertedModel> ImportGguf(const std::string& path);

// The conversion of an already parsed file (whose bytes must outlive the
// result).
absl::StatusOr<ConvertedModel> ImportGguf(const GgufFile& file,
                                          const std::string& source);

}  // namespace smallmind::convert

#endif  // SMALLMIND_TOOLS_CONVERT_GGUF_IMPORT_H_
