// A model on its way into the .smm format: a description and the tensors the
// architecture expects, each either pointing into the (mapped) source file or
// holding bytes the converter produced (fused, transposed or widened). Every
// importer builds one of these; one writer re-quantizes and saves them.
#ifndef SMALLMIND_FORMATS_CONVERTED_H_
#define SMALLMIND_FORMATS_CONVERTED_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "core/dtype.h"
#include "core/mapped_file.h"
#include "model/model.h"
#include "model/model.pb.h"

namespace smallmind::formats {

inline constexpr char kConverterVersion[] = "smallmind-convert 1";

// A tensor as an importer found it: rows × cols (or a vector when cols is
// absent) of `dtype`.
struct SourceTensor {
  std::string name;  // for error messages
  core::DType dtype = core::DType::kF32;
  std::vector<int64_t> shape;
  absl::Span<const uint8_t> bytes;
};

struct ConvertedTensor {
  std::string name;
  core::DType dtype = core::DType::kF32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> owned;        // when the converter made the bytes
  absl::Span<const uint8_t> bytes;   // into `owned` or a source mapping
};

struct ConvertedModel {
  model::ModelDescription description;
  std::vector<ConvertedTensor> tensors;
  std::vector<core::MappedFile> sources;  // what `bytes` may point into
};

// Appends the tensor `spec` made of `parts` stacked by rows (q|k|v,
// gate|up), checking their shapes add up to spec's. Parts of one dtype are
// concatenated as they are; mixed dtypes are widened to F32. Vectors (norms,
// biases) are always stored as F32.
absl::Status AddTensor(ConvertedModel& model, const model::TensorSpec& spec,
                       absl::Span<const SourceTensor> parts);

// Adds to `spec`'s end-of-generation ids its EOS and the control tokens
// that end a turn in the supported families' vocabularies (<|eot_id|>,
// <|im_end|>, <end_of_turn>, <|end|>, ...), as llama.cpp treats them.
void AddEndOfTurnIds(model::TokenizerSpec& spec);

// F32 values of `t`, whatever its dtype.
absl::StatusOr<std::vector<float>> DecodeSource(const SourceTensor& t);

// Called after each tensor is written: (done, total, name).
using Progress = std::function<void(size_t, size_t, absl::string_view)>;

// Writes `model` to `path`, first re-quantizing every matmul weight to
// `quantize` when given (a K-quant falls back to a 32-element type for rows
// that are not whole super-blocks, as llama-quantize does: Q4_K to Q5_0,
// Q5_K to Q5_1, Q6_K to Q8_0, Q2_K/Q3_K to IQ4_NL), then loads the result
// back as a check.
absl::Status WriteConverted(const std::string& path, ConvertedModel& model,
                            std::optional<core::DType> quantize,
                            const Progress& progress);

}  // namespace smallmind::formats

#endif  // SMALLMIND_FORMATS_CONVERTED_H_
