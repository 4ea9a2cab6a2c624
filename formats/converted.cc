#include "formats/converted.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/shape.h"
#include "core/status.h"
#include "core/tensor.h"
#include "model/model_file.h"
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

absl::Status AddTensor(ConvertedModel& model, const model::TensorSpec& spec,
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

  ConvertedTensor out;
  out.name = spec.name;
  out.shape = spec.shape;
  bool same_dtype = true;
  for (const SourceTensor& p : parts) same_dtype &= p.dtype == parts[0].dtype;
  const bool keep = same_dtype && (spec.is_matrix || parts[0].dtype == core::DType::kF32);
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
    if (parts.size() == 1) {
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

namespace {

// A K-quant for rows that are not whole super-blocks of 256: the 32-element
// type llama-quantize falls back to, so that a file quantizes as it would.
core::DType RowType(core::DType wanted, int64_t row_length) {
  if (row_length % static_cast<int64_t>(core::BlockElements(wanted)) == 0) return wanted;
  switch (wanted) {
    case core::DType::kQ2_K:
    case core::DType::kQ3_K:
      return core::DType::kIQ4_NL;
    case core::DType::kQ4_K:
      return core::DType::kQ5_0;
    case core::DType::kQ5_K:
      return core::DType::kQ5_1;
    case core::DType::kQ6_K:
      return core::DType::kQ8_0;
    default:
      return wanted;
  }
}

}  // namespace

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

absl::Status WriteConverted(const std::string& path, ConvertedModel& model,
                            std::optional<core::DType> quantize,
                            const Progress& progress) {
  const std::vector<model::TensorSpec> specs =
      model::ExpectedTensors(model.description.architecture());
  std::vector<model::TensorSource> sources;
  for (size_t i = 0; i < model.tensors.size(); ++i) {
    ConvertedTensor& t = model.tensors[i];
    const bool is_matrix = i < specs.size() && specs[i].name == t.name &&
                           specs[i].is_matrix;
    const core::DType target = quantize ? RowType(*quantize, t.shape.back()) : t.dtype;
    if (quantize && is_matrix && t.dtype != target) {
      SM_ASSIGN_OR_RETURN(std::vector<float> values,
                          DecodeSource({t.name, t.dtype, t.shape, t.bytes}));
      absl::StatusOr<std::vector<uint8_t>> bytes =
          model::EncodeF32(values, t.shape.back(), target);
      if (!bytes.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "cannot quantize '", t.name, "' to ", core::DTypeName(target),
            ": ", bytes.status().message()));
      }
      t.owned = std::move(*bytes);
      t.bytes = t.owned;
      t.dtype = target;
    }
    sources.push_back({t.name, t.dtype, t.shape, t.bytes});
    if (progress) progress(i + 1, model.tensors.size(), t.name);
  }
  model::Provenance* p = model.description.mutable_provenance();
  p->set_converter_version(kConverterVersion);
  SM_RETURN_IF_ERROR(model::WriteModelFile(path, model.description, sources));
  return model::Model::Load(path).status();
}

}  // namespace smallmind::formats
