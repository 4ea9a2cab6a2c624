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

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "core/dtype.h"
#include "core/mapped_file.h"
#include "core/tensor.h"
#include "model/model.pb.h"
#include "model/model_data.h"

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

// Maps `path` read-only and validates it: everything in the header and the
// tensor table is checked before it returns, and errors name the problem
// (bad magic, an unsupported version, a description or tensor past the end
// of the file, overflowing or misaligned offsets, bad shapes, duplicate
// names). The tensors are views into the mapping, which the data keeps.
absl::StatusOr<std::unique_ptr<ModelData>> ReadModelFile(const std::string& path);

// The same for bytes the caller keeps alive as long as the data.
absl::StatusOr<std::unique_ptr<ModelData>> ParseModelFile(absl::Span<const uint8_t> bytes);

// Whether `bytes` begin as a .smm file does.
bool IsModelFile(absl::Span<const uint8_t> bytes);

}  // namespace smallmind::model

#endif  // SMALLMIND_MODEL_MODEL_FILE_H_
