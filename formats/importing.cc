#include "formats/importing.h"

#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/shape.h"
#include "core/status.h"
#include "core/tensor.h"
#include "model/tensor_codec.h"

namespace smallmind::formats {

absl::StatusOr<std::vector<float>> DecodeSource(const SourceTensor& t) {
  SM_ASSIGN_OR_RETURN(core::Shape shape, core::Shape::Make(t.shape));
  SM_ASSIGN_OR_RETURN(size_t bytes, core::BytesFor(t.dtype, shape.num_elements()));
  if (bytes != t.bytes.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tensor '", t.name, "': ", t.bytes.size(), " bytes, but ",
        core::DTypeName(t.dtype), " ", core::DimsToString(t.shape), " needs ", bytes));
  }
  SM_ASSIGN_OR_RETURN(
      core::TensorView view,
      core::TensorView::Make(const_cast<uint8_t*>(t.bytes.data()), t.dtype,
                             shape));
  return model::DecodeAll(view);
}

absl::Status AddTensor(model::ModelData& model, const model::TensorSpec& spec,
                       absl::Span<const SourceTensor> parts) {
  if (parts.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("no source for tensor '", spec.name, "'"));
  }
  // The parts must stack to spec's shape: matrices by rows, vectors end to
  // end.
  const bool matrix_shape = spec.shape.size() == 2;
  int64_t rows = 0;
  for (const SourceTensor& p : parts) {
    const bool fits = matrix_shape
                          ? p.shape.size() == 2 && p.shape[1] == spec.shape[1]
                          : p.shape.size() == 1;
    if (!fits) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor '", p.name, "' has shape ", core::DimsToString(p.shape),
          ", which does not fit '", spec.name, "' ", core::DimsToString(spec.shape)));
    }
    rows += p.shape[0];
  }
  if (rows != spec.shape[0]) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tensor '", spec.name, "' needs ", core::DimsToString(spec.shape), " but ",
        parts.size() == 1 ? "its source " : "its sources stacked ",
        parts.size() == 1 ? core::DimsToString(parts[0].shape) : "",
        parts.size() == 1 ? " has " : "give ", rows,
        matrix_shape ? " rows" : " elements"));
  }

  model::ModelTensor out;
  out.name = spec.name;
  out.shape = spec.shape;
  bool same_dtype = true;
  for (const SourceTensor& p : parts) same_dtype &= p.dtype == parts[0].dtype;
  const bool keep =
      same_dtype && (spec.is_matrix || spec.lookup || parts[0].dtype == core::DType::kF32);
  if (keep) {
    out.dtype = parts[0].dtype;
    size_t total = 0;
    for (const SourceTensor& p : parts) total += p.bytes.size();
    SM_ASSIGN_OR_RETURN(core::Shape shape, core::Shape::Make(spec.shape));
    SM_ASSIGN_OR_RETURN(size_t needed, core::BytesFor(out.dtype, shape.num_elements()));
    if (total != needed) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor '", spec.name, "': its sources hold ", total, " bytes, ",
          core::DTypeName(out.dtype), " ", core::DimsToString(spec.shape), " needs ",
          needed));
    }
    // Kernels read F32 elements and F16 scales where they lie: a file that
    // puts them off their natural alignment (a safetensors header not
    // padded to 8 bytes) gets a copy.
    const size_t alignment = out.dtype == core::DType::kF32 ? 4 : 2;
    const bool aligned = reinterpret_cast<uintptr_t>(parts[0].bytes.data()) % alignment == 0;
    if (parts.size() == 1 && aligned) {
      out.bytes = parts[0].bytes;
    } else {
      out.owned.reserve(total);
      for (const SourceTensor& p : parts) {
        out.owned.insert(out.owned.end(), p.bytes.begin(), p.bytes.end());
      }
    }
  } else {
    out.dtype = core::DType::kF32;
    std::vector<float> values;
    for (const SourceTensor& p : parts) {
      SM_ASSIGN_OR_RETURN(std::vector<float> v, DecodeSource(p));
      values.insert(values.end(), v.begin(), v.end());
    }
    SM_ASSIGN_OR_RETURN(out.owned, model::EncodeF32(values, spec.shape.back(),
                                          core::DType::kF32));
  }
  if (!out.owned.empty()) out.bytes = out.owned;
  model.tensors.push_back(std::move(out));
  // Earlier tensors' `bytes` point into their own `owned` heap buffers,
  // which stay put when the vector of tensors grows.
  return absl::OkStatus();
}

void AddEndOfTurnIds(model::TokenizerSpec& spec) {
  constexpr const char* kEndOfTurnTexts[] = {"<|eot_id|>",    "<|eom_id|>",      "<|im_end|>",
                                             "<|end|>",       "<end_of_turn>",   "<|endoftext|>",
                                             "<|end_of_text|>"};
  auto add = [&](int32_t id) {
    for (int32_t have : spec.end_of_generation_ids()) {
      if (have == id) return;
    }
    spec.add_end_of_generation_ids(id);
  };
  if (spec.has_eos_id()) add(spec.eos_id());
  for (int id = 0; id < spec.tokens_size(); ++id) {
    if (id >= spec.token_types_size() || spec.token_types(id) != model::CONTROL) continue;
    for (const char* text : kEndOfTurnTexts) {
      if (spec.tokens(id) == text) add(id);
    }
  }
}

}  // namespace smallmind::formats
