#include "model/model_data.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/shape.h"
#include "core/status.h"

namespace smallmind::model {

const ModelTensor* ModelData::Find(absl::string_view name) const {
  for (const ModelTensor& t : tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

absl::StatusOr<core::TensorView> ModelData::View(absl::string_view name) const {
  const ModelTensor* t = Find(name);
  if (t == nullptr) return absl::NotFoundError(absl::StrCat("the model has no tensor '", name, "'"));
  SM_ASSIGN_OR_RETURN(core::Shape shape, core::Shape::Make(t->shape));
  SM_ASSIGN_OR_RETURN(size_t bytes, core::BytesFor(t->dtype, shape.num_elements()));
  if (bytes != t->bytes.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tensor '", t->name, "' holds ", t->bytes.size(), " bytes; ", core::DTypeName(t->dtype),
        " ", core::DimsToString(t->shape), " needs ", bytes));
  }
  return core::TensorView::Make(const_cast<uint8_t*>(t->bytes.data()), t->dtype, shape);
}

int64_t ModelData::num_parameters() const {
  int64_t total = 0;
  for (const ModelTensor& t : tensors) {
    int64_t n = 1;
    for (int64_t d : t.shape) n *= d;
    total += n;
  }
  return total;
}

size_t ModelData::size_bytes() const {
  size_t total = 0;
  for (const ModelTensor& t : tensors) total += t.bytes.size();
  return total;
}

void ModelData::Copy(const void* data, size_t bytes, void* out) const {
  for (const core::MappedFile& source : sources) {
    if (source.ReadAt(data, bytes, out)) return;
  }
  std::memcpy(out, data, bytes);
}

void ModelData::Release(const void* data, size_t bytes) const {
  for (const core::MappedFile& source : sources) source.Release(data, bytes);
}

}  // namespace smallmind::model
