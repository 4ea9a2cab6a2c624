// What the importers share: tensors as a file holds them (SourceTensor) and
// how they become the tensors of model::ModelData, in place where their
// bytes can be used as they are.
#ifndef SMALLMIND_FORMATS_IMPORTING_H_
#define SMALLMIND_FORMATS_IMPORTING_H_

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
#include "model/model_data.h"

namespace smallmind::formats {

// A tensor as an importer found it: rows × cols (or a vector when cols is
// absent) of `dtype`.
struct SourceTensor {
  std::string name;  // for error messages
  core::DType dtype = core::DType::kF32;
  std::vector<int64_t> shape;
  absl::Span<const uint8_t> bytes;
};

// Appends the tensor `spec` made of `parts` stacked by rows (q|k|v,
// gate|up), checking their shapes add up to spec's. Parts of one dtype are
// concatenated as they are; mixed dtypes are widened to F32. Vectors (norms,
// biases) are always stored as F32.
absl::Status AddTensor(model::ModelData& model, const model::TensorSpec& spec,
                       absl::Span<const SourceTensor> parts);

// Adds to `spec`'s end-of-generation ids its EOS and the control tokens
// that end a turn in the supported families' vocabularies (<|eot_id|>,
// <|im_end|>, <end_of_turn>, <|end|>, ...), as llama.cpp treats them.
void AddEndOfTurnIds(model::TokenizerSpec& spec);

// F32 values of `t`, whatever its dtype.
absl::StatusOr<std::vector<float>> DecodeSource(const SourceTensor& t);

}  // namespace smallmind::formats

#endif  // SMALLMIND_FORMATS_IMPORTING_H_
