#include "model/model_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <utility>

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

absl::StatusOr<std::unique_ptr<ModelFile>> ModelFile::Open(
    const std::string& path) {
  std::unique_ptr<ModelFile> file(new ModelFile);
  SM_ASSIGN_OR_RETURN(file->mapping_, core::MappedFile::Open(path));
  file->bytes_ = file->mapping_.bytes();
  absl::Status status = file->Parse();
  if (!status.ok()) {
    return absl::Status(status.code(),
                        absl::StrCat(path, ": ", status.message()));
  }
  return file;
}

absl::StatusOr<std::unique_ptr<ModelFile>> ModelFile::FromBytes(
    absl::Span<const uint8_t> bytes) {
  std::unique_ptr<ModelFile> file(new ModelFile);
  file->bytes_ = bytes;
  SM_RETURN_IF_ERROR(file->Parse());
  return file;
}

absl::Status ModelFile::Parse() {
  const size_t size = bytes_.size();
  if (size < kModelFileHeaderBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("file is ", size, " bytes, shorter than the ",
                     kModelFileHeaderBytes, "-byte header"));
  }
  const uint8_t* p = bytes_.data();
  if (std::memcmp(p, kMagic, sizeof(kMagic)) != 0) {
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
  if (!description_.ParseFromArray(p + kModelFileHeaderBytes,
                                   static_cast<int>(description_length))) {
    return absl::InvalidArgumentError(
        "the description is not a valid ModelDescription protobuf");
  }
  data_start_ = AlignUp(kModelFileHeaderBytes + description_length);
  const uint64_t data_size = data_start_ <= size ? size - data_start_ : 0;
  for (int i = 0; i < description_.tensors_size(); ++i) {
    const TensorInfo& t = description_.tensors(i);
    if (t.name().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor table row ", i, " has no name"));
    }
    if (core::TraitsForFileId(t.dtype()) == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor '", t.name(), "': unknown dtype ", int{t.dtype()}));
    }
    SM_ASSIGN_OR_RETURN(
        size_t bytes,
        TensorBytes(t.name(), DTypeFromProto(t.dtype()), t.shape()));
    if (t.size() != bytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor '", t.name(), "': size ", t.size(), " does not match ",
          DTypeName(DTypeFromProto(t.dtype())), " ", core::DimsToString(t.shape()),
          " (", bytes, " bytes)"));
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
    if (!index_.emplace(t.name(), i).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("duplicate tensor name '", t.name(), "'"));
    }
  }
  return absl::OkStatus();
}

void ModelFile::Release(const void* data, size_t bytes) const {
  mapping_.Release(data, bytes);
}

absl::StatusOr<core::TensorView> ModelFile::Tensor(
    absl::string_view name) const {
  auto it = index_.find(name);
  if (it == index_.end()) {
    return absl::NotFoundError(
        absl::StrCat("the model has no tensor '", name, "'"));
  }
  const TensorInfo& t = description_.tensors(it->second);
  SM_ASSIGN_OR_RETURN(core::Shape shape, core::Shape::Make(t.shape()));
  // Weights are never written through; the mapping is read-only.
  void* data = const_cast<uint8_t*>(bytes_.data() + data_start_ + t.offset());
  return core::TensorView::Make(data, DTypeFromProto(t.dtype()), shape);
}

}  // namespace smallmind::model
