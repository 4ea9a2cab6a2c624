#include "model/model_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/shape.h"
#include "core/status.h"

namespace smallmind::model {
namespace {

constexpr char kMagic[8] = {'S', 'M', 'M', 'O', 'D', 'E', 'L', '\0'};

size_t AlignUp(size_t n) {
  return (n + kTensorAlignment - 1) / kTensorAlignment * kTensorAlignment;
}

void PutLE(uint64_t v, int bytes, std::string* out) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}

uint64_t GetLE(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= uint64_t{p[i]} << (8 * i);
  return v;
}

// Checks a shape and returns the bytes a tensor of it holds.
absl::StatusOr<size_t> TensorBytes(absl::string_view name, core::DType dtype,
                                   absl::Span<const int64_t> shape) {
  if (shape.empty() || shape.size() > core::Shape::kMaxRank) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor '", name, "': rank ", shape.size(),
                     " is outside 1..", core::Shape::kMaxRank));
  }
  absl::StatusOr<core::Shape> s = core::Shape::Make(shape);
  if (!s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tensor '", name, "': bad shape ", core::DimsToString(shape), ": ",
        s.status().message()));
  }
  if (s->num_elements() == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tensor '", name, "': shape ", core::DimsToString(shape), " is empty"));
  }
  if (s->row_length() % core::BlockElements(dtype) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tensor '", name, "': shape ", core::DimsToString(shape), " has rows of ",
        s->row_length(), ", not a whole number of ", core::DTypeName(dtype),
        " blocks of ", core::BlockElements(dtype)));
  }
  absl::StatusOr<size_t> bytes = core::BytesFor(dtype, s->num_elements());
  if (!bytes.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor '", name, "': ", bytes.status().message()));
  }
  return *bytes;
}

using Sink = std::function<absl::Status(const void* data, size_t size)>;

// Fills the tensor table, then streams header, description and data.
absl::Status Emit(ModelDescription description,
                  absl::Span<const TensorSource> tensors, const Sink& sink) {
  description.clear_tensors();
  uint64_t offset = 0;
  for (const TensorSource& t : tensors) {
    SM_ASSIGN_OR_RETURN(size_t bytes, TensorBytes(t.name, t.dtype, t.shape));
    if (bytes != t.bytes.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor '", t.name, "': ", t.bytes.size(), " bytes given, ",
          core::DTypeName(t.dtype), " ", core::DimsToString(t.shape), " needs ",
          bytes));
    }
    TensorInfo* info = description.add_tensors();
    info->set_name(t.name);
    info->set_dtype(DTypeToProto(t.dtype));
    for (int64_t d : t.shape) info->add_shape(d);
    info->set_offset(offset);
    info->set_size(bytes);
    offset = AlignUp(offset + bytes);
  }
  std::string body;
  if (!description.SerializeToString(&body)) {
    return absl::InternalError("cannot serialise the model description");
  }
  std::string header(kMagic, sizeof(kMagic));
  PutLE(kModelFileVersion, 4, &header);
  PutLE(0, 4, &header);
  PutLE(body.size(), 8, &header);
  header += body;
  header.resize(AlignUp(header.size()), '\0');
  SM_RETURN_IF_ERROR(sink(header.data(), header.size()));
  static constexpr char kZeros[kTensorAlignment] = {};
  for (const TensorSource& t : tensors) {
    SM_RETURN_IF_ERROR(sink(t.bytes.data(), t.bytes.size()));
    const size_t pad = AlignUp(t.bytes.size()) - t.bytes.size();
    if (pad > 0) SM_RETURN_IF_ERROR(sink(kZeros, pad));
  }
  return absl::OkStatus();
}

}  // namespace

core::DType DTypeFromProto(TensorDType dtype) {
  const core::DTypeTraits* t = core::TraitsForFileId(dtype);
  return t != nullptr ? t->dtype : core::DType::kF32;
}

TensorDType DTypeToProto(core::DType dtype) {
  return static_cast<TensorDType>(core::Traits(dtype).file_id);
}

absl::Status WriteModelFile(const std::string& path,
                            ModelDescription description,
                            absl::Span<const TensorSource> tensors) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("cannot create ", path, ": ", std::strerror(errno)));
  }
  absl::Status status =
      Emit(std::move(description), tensors, [&](const void* data, size_t n) {
        if (std::fwrite(data, 1, n, f) != n) {
          return absl::DataLossError(
              absl::StrCat("writing ", path, ": ", std::strerror(errno)));
        }
        return absl::OkStatus();
      });
  if (std::fclose(f) != 0 && status.ok()) {
    status = absl::DataLossError(
        absl::StrCat("closing ", path, ": ", std::strerror(errno)));
  }
  if (!status.ok()) std::remove(path.c_str());
  return status;
}

absl::StatusOr<std::string> SerializeModelFile(
    ModelDescription description, absl::Span<const TensorSource> tensors) {
  std::string out;
  SM_RETURN_IF_ERROR(
      Emit(std::move(description), tensors, [&](const void* data, size_t n) {
        out.append(static_cast<const char*>(data), n);
        return absl::OkStatus();
      }));
  return out;
}

bool IsModelFile(absl::Span<const uint8_t> bytes) {
  return bytes.size() >= sizeof(kMagic) && std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) == 0;
}

absl::StatusOr<std::unique_ptr<ModelData>> ParseModelFile(absl::Span<const uint8_t> bytes) {
  const size_t size = bytes.size();
  if (size < kModelFileHeaderBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("file is ", size, " bytes, shorter than the ",
                     kModelFileHeaderBytes, "-byte header"));
  }
  const uint8_t* p = bytes.data();
  if (!IsModelFile(bytes)) {
    return absl::InvalidArgumentError(
        "bad magic: not a SmallMind model file (expected \"SMMODEL\")");
  }
  const uint32_t version = static_cast<uint32_t>(GetLE(p + 8, 4));
  if (version != kModelFileVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported model file version ", version,
                     " (this build reads version ", kModelFileVersion, ")"));
  }
  const uint64_t description_length = GetLE(p + 16, 8);
  if (description_length > size - kModelFileHeaderBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "description length ", description_length,
        " runs past the end of the file (", size, " bytes)"));
  }
  auto data = std::make_unique<ModelData>();
  ModelDescription& description = data->description;
  if (!description.ParseFromArray(p + kModelFileHeaderBytes,
                                  static_cast<int>(description_length))) {
    return absl::InvalidArgumentError(
        "the description is not a valid ModelDescription protobuf");
  }
  const size_t data_start = AlignUp(kModelFileHeaderBytes + description_length);
  const uint64_t data_size = data_start <= size ? size - data_start : 0;
  absl::flat_hash_set<std::string> names;
  for (int i = 0; i < description.tensors_size(); ++i) {
    const TensorInfo& t = description.tensors(i);
    if (t.name().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor table row ", i, " has no name"));
    }
    if (core::TraitsForFileId(t.dtype()) == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor '", t.name(), "': unknown dtype ", int{t.dtype()}));
    }
    SM_ASSIGN_OR_RETURN(
        size_t tensor_bytes,
        TensorBytes(t.name(), DTypeFromProto(t.dtype()), t.shape()));
    if (t.size() != tensor_bytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor '", t.name(), "': size ", t.size(), " does not match ",
          DTypeName(DTypeFromProto(t.dtype())), " ", core::DimsToString(t.shape()),
          " (", tensor_bytes, " bytes)"));
    }
    if (t.offset() % kTensorAlignment != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor '", t.name(), "': offset ", t.offset(),
                       " is not aligned to ", kTensorAlignment, " bytes"));
    }
    if (t.offset() > UINT64_MAX - t.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor '", t.name(), "': offset ", t.offset(),
                       " + size ", t.size(), " overflows"));
    }
    if (t.offset() + t.size() > data_size) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor '", t.name(), "': bytes ", t.offset(), "..",
          t.offset() + t.size(), " of the data section run past the end of "
          "the file (the data section holds ", data_size, " bytes)"));
    }
    if (!names.insert(t.name()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("duplicate tensor name '", t.name(), "'"));
    }
    ModelTensor& tensor = data->tensors.emplace_back();
    tensor.name = t.name();
    tensor.dtype = DTypeFromProto(t.dtype());
    tensor.shape.assign(t.shape().begin(), t.shape().end());
    tensor.bytes = bytes.subspan(data_start + t.offset(), t.size());
  }
  return data;
}

absl::StatusOr<std::unique_ptr<ModelData>> ReadModelFile(const std::string& path) {
  SM_ASSIGN_OR_RETURN(core::MappedFile mapping, core::MappedFile::Open(path));
  absl::StatusOr<std::unique_ptr<ModelData>> data = ParseModelFile(mapping.bytes());
  if (!data.ok()) {
    return core::Prefixed(data.status(), path);
  }
  (*data)->sources.push_back(std::move(mapping));
  return data;
}

}  // namespace smallmind::model
