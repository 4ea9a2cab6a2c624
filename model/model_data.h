// A model in memory, whatever file it came from: its description and the
// bytes of each tensor, viewed in place in the mapped file(s) where they can
// be used as they are (a .smm file, a GGUF file, safetensors), or held in
// buffers made on opening (fused, transposed, widened). Every reader in
// formats/ makes one; Model resolves its weights from it; the .smm writer
// saves it.
#ifndef SMALLMIND_MODEL_MODEL_DATA_H_
#define SMALLMIND_MODEL_MODEL_DATA_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "core/dtype.h"
#include "core/mapped_file.h"
#include "core/tensor.h"
#include "model/model.pb.h"

namespace smallmind::model {

struct ModelTensor {
  std::string name;
  core::DType dtype = core::DType::kF32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> owned;       // when the bytes were made on opening
  absl::Span<const uint8_t> bytes;  // into `owned` or one of `sources`
};

struct ModelData {
  // The architecture, tokenizer, provenance and metadata; a .smm file's
  // tensor table too, which nothing after reading relies on.
  ModelDescription description;
  // In the order the architecture expects them (ExpectedTensors).
  std::vector<ModelTensor> tensors;
  // The mapped files `bytes` may point into, kept open with the data.
  std::vector<core::MappedFile> sources;

  // The tensor called `name`, or null.
  const ModelTensor* Find(absl::string_view name) const;
  // A view of it (read-only in fact: weights are never written through).
  absl::StatusOr<core::TensorView> View(absl::string_view name) const;
  // Elements of every tensor, whatever their dtype, and their bytes.
  int64_t num_parameters() const;
  size_t size_bytes() const;
  // Copies [data, data + bytes) of a tensor into `out`, from the file with
  // a read where the bytes are a mapped file's (so scattered lookups do not
  // map pages into the process), else from memory.
  void Copy(const void* data, size_t bytes, void* out) const;
  // Gives back the pages of a mapped file wholly inside [data, data +
  // bytes) once a copy of them exists (see core::MappedFile::Release);
  // bytes outside every source are left alone.
  void Release(const void* data, size_t bytes) const;
};

}  // namespace smallmind::model

#endif  // SMALLMIND_MODEL_MODEL_DATA_H_
