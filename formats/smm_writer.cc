#include "formats/smm_writer.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "formats/importing.h"
#include "model/model.h"
#include "model/model_file.h"
#include "model/tensor_codec.h"

namespace smallmind::formats {
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

// The parts a fused tensor is made of, when the data keeps them apart.
std::vector<std::string> PartNames(const std::string& fused) {
  const size_t dot = fused.find('.', 4);  // blk.N.
  if (dot == std::string::npos) return {fused};
  const std::string layer = fused.substr(0, dot + 1), role = fused.substr(dot + 1);
  if (role == "attn_qkv.weight" || role == "attn_qkv.bias") {
    const std::string kind = role.substr(role.find('.'));
    return {layer + "attn_q" + kind, layer + "attn_k" + kind, layer + "attn_v" + kind};
  }
  if (role == "ffn_gate_up.weight") return {layer + "ffn_gate.weight", layer + "ffn_up.weight"};
  return {fused};
}

// A .smm file keeps q|k|v and gate|up fused, one matmul each, where the
// parts share a dtype: what a model opened in place keeps apart (GGUF's
// llama family) is fused on writing, as the converter always did. `fused`
// views `data`'s bytes, so `data` must outlive it. Unchanged (false) when
// some layer's parts differ in dtype.
absl::StatusOr<bool> FuseProjections(const model::ModelData& data, model::ModelData& fused) {
  model::Architecture arch = data.description.architecture();
  if (!arch.split_projections()) return false;
  arch.set_split_projections(false);
  std::vector<std::pair<model::TensorSpec, std::vector<SourceTensor>>> plan;
  for (const model::TensorSpec& spec : model::ExpectedTensors(arch)) {
    std::vector<SourceTensor> parts;
    for (const std::string& name : PartNames(spec.name)) {
      const model::ModelTensor* t = data.Find(name);
      if (t == nullptr) return absl::InvalidArgumentError(absl::StrCat("missing tensor '", name, "'"));
      if (!parts.empty() && spec.is_matrix && t->dtype != parts[0].dtype) return false;
      parts.push_back({t->name, t->dtype, t->shape, t->bytes});
    }
    plan.emplace_back(spec, std::move(parts));
  }
  fused.description = data.description;
  *fused.description.mutable_architecture() = arch;
  for (const auto& [spec, parts] : plan) SM_RETURN_IF_ERROR(AddTensor(fused, spec, parts));
  return true;
}

}  // namespace

absl::Status WriteSmm(const std::string& path, model::ModelData& data,
                      std::optional<core::DType> quantize, const Progress& progress) {
  model::ModelData fused;
  SM_ASSIGN_OR_RETURN(bool did_fuse, FuseProjections(data, fused));
  model::ModelData& model = did_fuse ? fused : data;
  const std::vector<model::TensorSpec> specs =
      model::ExpectedTensors(model.description.architecture());
  std::vector<model::TensorSource> sources;
  for (size_t i = 0; i < model.tensors.size(); ++i) {
    model::ModelTensor& t = model.tensors[i];
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
  SM_ASSIGN_OR_RETURN(std::unique_ptr<model::ModelData> written, model::ReadModelFile(path));
  return model::Model::Create(std::move(written)).status();
}

}  // namespace smallmind::formats
