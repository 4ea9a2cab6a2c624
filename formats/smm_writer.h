// Writing a model as a .smm file: `smallmind convert` is formats::Open, then
// this.
#ifndef SMALLMIND_FORMATS_SMM_WRITER_H_
#define SMALLMIND_FORMATS_SMM_WRITER_H_

#include <cstddef>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "core/dtype.h"
#include "model/model_data.h"

namespace smallmind::formats {

inline constexpr char kConverterVersion[] = "smallmind-convert 1";

// Called after each tensor is written: (done, total, name).
using Progress = std::function<void(size_t, size_t, absl::string_view)>;

// Writes `model` to `path` (q|k|v and gate|up fused into one tensor each
// where the model keeps them apart in one dtype), first re-quantizing
// every matmul weight to
// `quantize` when given (a K-quant falls back to a 32-element type for rows
// that are not whole super-blocks, as llama-quantize does: Q4_K to Q5_0,
// Q5_K to Q5_1, Q6_K to Q8_0, Q2_K/Q3_K to IQ4_NL), then loads the result
// back as a check.
absl::Status WriteSmm(const std::string& path, model::ModelData& model,
                      std::optional<core::DType> quantize, const Progress& progress);

}  // namespace smallmind::formats

#endif  // SMALLMIND_FORMATS_SMM_WRITER_H_
