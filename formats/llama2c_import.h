// llama2.c checkpoints (`run.c`'s version-0 .bin: a 7-int header, then F32
// weights) and their tokenizer.bin, into the .smm description: a llama
// architecture with pairwise RoPE (base 10000), RMSNorm (eps 1e-5), SwiGLU,
// and a SentencePiece vocabulary with <0xXX> byte tokens.
#ifndef SMALLMIND_FORMATS_LLAMA2C_IMPORT_H_
#define SMALLMIND_FORMATS_LLAMA2C_IMPORT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "formats/importing.h"
#include "model/model.pb.h"

namespace smallmind::formats {

// Errors on a header with impossible sizes, a file whose length does not
// match the header, or a tokenizer.bin that is truncated or of another
// vocabulary size.
absl::StatusOr<model::ModelData> ImportLlama2c(const std::string& checkpoint,
                                             const std::string& tokenizer);

// The same from bytes (`checkpoint` must outlive the result); `source` is
// what the provenance names.
absl::StatusOr<model::ModelData> ImportLlama2c(absl::Span<const uint8_t> checkpoint,
                                             absl::Span<const uint8_t> tokenizer,
                                             const std::string& source);

// tokenizer.bin: max_token_length, then per token a float score, an int32
// length and the bytes. Errors on truncation, lengths past the maximum, or
// bytes left over after `vocab` tokens.
absl::StatusOr<model::TokenizerSpec> ParseLlama2cTokenizer(
    absl::Span<const uint8_t> bytes, int64_t vocab);

}  // namespace smallmind::formats

#endif  // SMALLMIND_FORMATS_LLAMA2C_IMPORT_H_
