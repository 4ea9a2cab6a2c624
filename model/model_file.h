// The SmallMind model file (`.smm`): a protobuf `ModelDescription` followed
// by tensor data at 64-byte-aligned offsets, so weights are used in place
// from an mmap.
//
//   offset 0   magic "SMMODEL\0"              8 bytes
//          8   format version (LE uint32)     4 bytes, = kModelFileVersion
//         12   reserved, zero                 4 bytes
//         16   description length (LE u64)    8 bytes
//         24   description (binary protobuf)
//              zero padding to a multiple of 64: start of the data section
//              tensor data; `TensorInfo.offset` counts from the data section
#ifndef SMALLMIND_MODEL_MODEL_FILE_H_
#define SMALLMIND_MODEL_MODEL_FILE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "core/dtype.h"
#include "core/mapped_file.h"
#include "core/tensor.h"
#include "model/model.pb.h"

namespace smallmind::model {

inline constexpr char kModelFileExtension[] = ".smm";
inline constexpr uint32_t kModelFileVersion = 1;
inline constexpr size_t kModelFileHeaderBytes = 24;
inline constexpr size_t kTensorAlignment = 64;

// Between the file's `TensorDType` and core::DType (core::Traits' file_id).
core::DType DTypeFromProto(TensorDType dtype);  // caller checks validity
TensorDType DTypeToProto(core::DType dtype);

// One tensor for the writer: its bytes are read while writing, so they only
// need to live until `WriteModelFile` returns.
struct TensorSource {
  std::string name;
  core::DType dtype = core::DType::kF32;
  std::vector<int64_t> shape;
  absl::Span<const uint8_t> bytes;
};

// Writes `description` with its tensor table replaced by `tensors` (in
// order, each at the next aligned offset), then the tensor data. Errors if a
// tensor's byte count does not match its dtype and shape, or on I/O failure.
absl::Status WriteModelFile(const std::string& path,
                            ModelDescription description,
                            absl::Span<const TensorSource> tensors);

// The same bytes as `WriteModelFile`, in memory (tests corrupt them).
absl::StatusOr<std::string> SerializeModelFile(
    ModelDescription description, absl::Span<const TensorSource> tensors);

// A validated model file. Everything in the header and tensor table is
// checked before `Open` returns; tensors are then views into the mapping and
// are read-only. Immutable after construction, so thread-safe.
class ModelFile {
 public:
  // Maps `path` read-only and validates it. Errors name the problem: bad
  // magic, unsupported version, a description or tensor past the end of the
  // file, overflowing or misaligned offsets, bad shapes, duplicate names.
  static absl::StatusOr<std::unique_ptr<ModelFile>> Open(
      const std::string& path);

  // Validates bytes the caller keeps alive for the ModelFile's lifetime.
  static absl::StatusOr<std::unique_ptr<ModelFile>> FromBytes(
      absl::Span<const uint8_t> bytes);

  ModelFile(const ModelFile&) = delete;
  ModelFile& operator=(const ModelFile&) = delete;

  const ModelDescription& description() const { return description_; }
  size_t size_bytes() const { return bytes_.size(); }

  // The tensor called `name`, or NotFound.
  absl::StatusOr<core::TensorView> Tensor(absl::string_view name) const;
  bool HasTensor(absl::string_view name) const {
    return index_.contains(name);
  }

  // Drops the file's pages wholly inside [data, data + bytes) from memory
  // once a copy of them exists (see core::MappedFile::Release); a no-op for
  // FromBytes files.
  void Release(const void* data, size_t bytes) const;

 private:
  ModelFile() = default;
  absl::Status Parse();

  absl::Span<const uint8_t> bytes_;
  core::MappedFile mapping_;  // empty for FromBytes
  ModelDescription description_;
  size_t data_start_ = 0;
  absl::flat_hash_map<std::string, int> index_;  // name -> tensor table row
};

}  // namespace smallmind::model

#endif  // SMALLMIND_MODEL_MODEL_FILE_H_
