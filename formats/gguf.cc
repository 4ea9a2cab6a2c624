#include "formats/gguf.h"

#include <cstring>
#include <limits>
#include <set>

#include "absl/strings/str_cat.h"
#include "core/dtype.h"
#include "core/status.h"

namespace smallmind::formats {
namespace {

// Bounds: far above any real model, far below what would exhaust memory.
constexpr uint64_t kMaxTensors = 1 << 20;
constexpr uint64_t kMaxKeys = 1 << 20;
constexpr uint32_t kMaxDims = 4;
constexpr uint64_t kMaxAlignment = 1 << 16;

// A cursor over the file: every read checks the bytes are there.
class Reader {
 public:
  explicit Reader(absl::Span<const uint8_t> bytes) : bytes_(bytes) {}
  size_t position() const { return pos_; }
  size_t remaining() const { return bytes_.size() - pos_; }

  template <typename T>
  absl::StatusOr<T> Read(absl::string_view what) {
    if (remaining() < sizeof(T)) return Truncated(what);
    T value;
    std::memcpy(&value, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }

  absl::StatusOr<std::string> ReadString(absl::string_view what) {
    SM_ASSIGN_OR_RETURN(uint64_t length, Read<uint64_t>(what));
    if (length > remaining()) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, ": string length ", length, " at byte ", pos_ - 8,
          " runs past the end of the file (", remaining(), " bytes left)"));
    }
    std::string s(reinterpret_cast<const char*>(bytes_.data() + pos_), length);
    pos_ += length;
    return s;
  }

  absl::Status Truncated(absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(
        "truncated file: ", what, " at byte ", pos_, " runs past the end (",
        bytes_.size(), " bytes)"));
  }

 private:
  absl::Span<const uint8_t> bytes_;
  size_t pos_ = 0;
};

// Bytes one element of a scalar type takes; 0 for strings and arrays.
size_t ScalarSize(GgufType type) {
  switch (type) {
    case GgufType::kUint8: case GgufType::kInt8: case GgufType::kBool: return 1;
    case GgufType::kUint16: case GgufType::kInt16: return 2;
    case GgufType::kUint32: case GgufType::kInt32: case GgufType::kFloat32:
      return 4;
    case GgufType::kUint64: case GgufType::kInt64: case GgufType::kFloat64:
      return 8;
    default: return 0;
  }
}

bool IsKnownType(uint32_t t) { return t <= 12; }
bool IsInteger(GgufType t) {
  return t == GgufType::kUint8 || t == GgufType::kInt8 ||
         t == GgufType::kUint16 || t == GgufType::kInt16 ||
         t == GgufType::kUint32 || t == GgufType::kInt32 ||
         t == GgufType::kUint64 || t == GgufType::kInt64;
}
bool IsFloat(GgufType t) {
  return t == GgufType::kFloat32 || t == GgufType::kFloat64;
}

// Reads one scalar of `type` as (integer, real).
absl::Status ReadScalar(Reader& r, GgufType type, absl::string_view what,
                        int64_t* integer, double* real) {
  switch (type) {
#define SM_CASE(enumerator, T)                                  \
  case GgufType::enumerator: {                                  \
    SM_ASSIGN_OR_RETURN(T v, r.Read<T>(what));                  \
    *integer = static_cast<int64_t>(v);                         \
    *real = static_cast<double>(v);                             \
    return absl::OkStatus();                                    \
  }
    SM_CASE(kUint8, uint8_t)
    SM_CASE(kInt8, int8_t)
    SM_CASE(kBool, uint8_t)
    SM_CASE(kUint16, uint16_t)
    SM_CASE(kInt16, int16_t)
    SM_CASE(kUint32, uint32_t)
    SM_CASE(kInt32, int32_t)
    SM_CASE(kInt64, int64_t)
    SM_CASE(kFloat32, float)
    SM_CASE(kFloat64, double)
#undef SM_CASE
    case GgufType::kUint64: {
      SM_ASSIGN_OR_RETURN(uint64_t v, r.Read<uint64_t>(what));
      // Values past INT64_MAX are kept saturated; GetUint rejects them.
      *integer = v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
                     ? -1
                     : static_cast<int64_t>(v);
      *real = static_cast<double>(v);
      return absl::OkStatus();
    }
    default:
      return absl::InternalError("not a scalar type");
  }
}

absl::StatusOr<GgufValue> ReadValue(Reader& r, const std::string& key) {
  GgufValue value;
  SM_ASSIGN_OR_RETURN(uint32_t type, r.Read<uint32_t>(key));
  if (!IsKnownType(type)) {
    return absl::InvalidArgumentError(
        absl::StrCat("key '", key, "': unknown value type ", type));
  }
  value.type = static_cast<GgufType>(type);
  if (value.type == GgufType::kString) {
    SM_ASSIGN_OR_RETURN(value.text, r.ReadString(key));
    return value;
  }
  if (value.type != GgufType::kArray) {
    SM_RETURN_IF_ERROR(
        ReadScalar(r, value.type, key, &value.integer, &value.real));
    return value;
  }
  SM_ASSIGN_OR_RETURN(uint32_t element, r.Read<uint32_t>(key));
  if (!IsKnownType(element) || element == static_cast<uint32_t>(GgufType::kArray)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "key '", key, "': arrays of type ", element, " are not supported"));
  }
  value.element_type = static_cast<GgufType>(element);
  SM_ASSIGN_OR_RETURN(uint64_t count, r.Read<uint64_t>(key));
  // Every element takes at least one byte (strings: eight), so a count
  // beyond what is left is a lie; check before reserving anything.
  const size_t min_size = value.element_type == GgufType::kString
                              ? 8
                              : ScalarSize(value.element_type);
  if (count > r.remaining() / min_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "key '", key, "': array of ", count, " elements runs past the end of "
        "the file (", r.remaining(), " bytes left)"));
  }
  if (value.element_type == GgufType::kString) {
    value.strings.reserve(count);
    for (uint64_t i = 0; i < count; ++i) {
      SM_ASSIGN_OR_RETURN(std::string s, r.ReadString(key));
      value.strings.push_back(std::move(s));
    }
  } else {
    value.numbers.reserve(count);
    for (uint64_t i = 0; i < count; ++i) {
      int64_t integer;
      double real;
      SM_RETURN_IF_ERROR(
          ReadScalar(r, value.element_type, key, &integer, &real));
      value.numbers.push_back(real);
    }
  }
  return value;
}

// Bytes of a tensor of `elements` elements; 0 for a ggml type core/dtype.h
// does not know (the importer names it), an error for rows that are not
// whole blocks.
absl::StatusOr<uint64_t> TensorBytes(const GgufTensor& t, uint64_t elements) {
  const core::DTypeTraits* traits = core::TraitsForGgml(t.type);
  if (traits == nullptr) return uint64_t{0};
  if (t.dims[0] % traits->block_elements != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tensor '", t.name, "': row length ", t.dims[0],
        " is not a whole number of blocks of ", traits->block_elements));
  }
  // elements < 2^62 and block_bytes <= 4 * block_elements: no overflow.
  return elements / traits->block_elements * traits->block_bytes;
}

}  // namespace

absl::string_view GgufTypeName(GgufType type) {
  static const char* const kNames[] = {
      "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
      "bool", "string", "array", "uint64", "int64", "float64"};
  const auto i = static_cast<uint32_t>(type);
  return i < 13 ? kNames[i] : "unknown";
}

absl::StatusOr<GgufFile> GgufFile::Parse(absl::Span<const uint8_t> bytes) {
  Reader r(bytes);
  GgufFile file;
  SM_ASSIGN_OR_RETURN(uint32_t magic, r.Read<uint32_t>("magic"));
  if (std::memcmp(&magic, "GGUF", 4) != 0) {
    return absl::InvalidArgumentError("bad magic: not a GGUF file");
  }
  SM_ASSIGN_OR_RETURN(file.version_, r.Read<uint32_t>("version"));
  if (file.version_ != 2 && file.version_ != 3) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unsupported GGUF version ", file.version_, " (this reads 2 and 3)"));
  }
  SM_ASSIGN_OR_RETURN(uint64_t n_tensors, r.Read<uint64_t>("tensor count"));
  SM_ASSIGN_OR_RETURN(uint64_t n_kv, r.Read<uint64_t>("metadata count"));
  if (n_tensors > kMaxTensors || n_kv > kMaxKeys) {
    return absl::InvalidArgumentError(absl::StrCat(
        "implausible counts: ", n_tensors, " tensors, ", n_kv,
        " metadata keys"));
  }
  for (uint64_t i = 0; i < n_kv; ++i) {
    SM_ASSIGN_OR_RETURN(std::string key, r.ReadString("metadata key"));
    SM_ASSIGN_OR_RETURN(GgufValue value, ReadValue(r, key));
    if (!file.kv_.emplace(key, std::move(value)).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("duplicate metadata key '", key, "'"));
    }
  }
  uint64_t alignment = 32;
  if (file.Has("general.alignment")) {
    SM_ASSIGN_OR_RETURN(alignment, file.GetUint("general.alignment"));
    if (alignment == 0 || alignment > kMaxAlignment ||
        (alignment & (alignment - 1)) != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "general.alignment is ", alignment, ", not a power of two up to ",
          kMaxAlignment));
    }
  }
  std::set<std::string> names;
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensor t;
    SM_ASSIGN_OR_RETURN(t.name, r.ReadString("tensor name"));
    SM_ASSIGN_OR_RETURN(uint32_t n_dims, r.Read<uint32_t>(t.name));
    if (n_dims == 0 || n_dims > kMaxDims) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor '", t.name, "': ", n_dims, " dimensions (1..", kMaxDims,
          " allowed)"));
    }
    uint64_t elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      SM_ASSIGN_OR_RETURN(uint64_t dim, r.Read<uint64_t>(t.name));
      if (dim == 0 || dim > (uint64_t{1} << 62) / elements) {
        return absl::InvalidArgumentError(absl::StrCat(
            "tensor '", t.name, "': dimension ", d, " is ", dim,
            (dim == 0 ? "" : ", so the element count overflows")));
      }
      elements *= dim;
      t.dims.push_back(dim);
    }
    SM_ASSIGN_OR_RETURN(t.type, r.Read<uint32_t>(t.name));
    SM_ASSIGN_OR_RETURN(t.offset, r.Read<uint64_t>(t.name));
    if (t.offset % alignment != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor '", t.name, "': offset ", t.offset, " is not aligned to ",
          alignment));
    }
    SM_ASSIGN_OR_RETURN(t.size, TensorBytes(t, elements));
    if (!names.insert(t.name).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("duplicate tensor name '", t.name, "'"));
    }
    file.tensors_.push_back(std::move(t));
  }
  const uint64_t data_start =
      (r.position() + alignment - 1) / alignment * alignment;
  const uint64_t data_size =
      data_start <= bytes.size() ? bytes.size() - data_start : 0;
  for (GgufTensor& t : file.tensors_) {
    if (t.offset > data_size || t.size > data_size - t.offset) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor '", t.name, "': bytes ", t.offset, "..+", t.size,
          " of the data section run past the end of the file (the data "
          "section holds ", data_size, " bytes)"));
    }
    if (t.size > 0) t.bytes = bytes.subspan(data_start + t.offset, t.size);
  }
  return file;
}

const GgufTensor* GgufFile::FindTensor(absl::string_view name) const {
  for (const GgufTensor& t : tensors_) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

absl::StatusOr<const GgufValue*> GgufFile::Find(absl::string_view key) const {
  auto it = kv_.find(std::string(key));
  if (it == kv_.end()) {
    return absl::NotFoundError(absl::StrCat("missing metadata key '", key, "'"));
  }
  return &it->second;
}

namespace {
absl::Status WrongType(absl::string_view key, const GgufValue& v,
                       absl::string_view expected) {
  std::string got(GgufTypeName(v.type));
  if (v.type == GgufType::kArray) {
    got = absl::StrCat("array of ", GgufTypeName(v.element_type));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "metadata key '", key, "' is ", got, ", expected ", expected));
}
}  // namespace

absl::StatusOr<uint64_t> GgufFile::GetUint(absl::string_view key) const {
  SM_ASSIGN_OR_RETURN(const GgufValue* v, Find(key));
  if (!IsInteger(v->type)) return WrongType(key, *v, "an integer");
  if (v->integer < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "metadata key '", key, "' is ", v->real, ", expected >= 0"));
  }
  return static_cast<uint64_t>(v->integer);
}

absl::StatusOr<double> GgufFile::GetFloat(absl::string_view key) const {
  SM_ASSIGN_OR_RETURN(const GgufValue* v, Find(key));
  if (!IsFloat(v->type) && !IsInteger(v->type)) {
    return WrongType(key, *v, "a number");
  }
  return v->real;
}

absl::StatusOr<bool> GgufFile::GetBool(absl::string_view key) const {
  SM_ASSIGN_OR_RETURN(const GgufValue* v, Find(key));
  if (v->type != GgufType::kBool) return WrongType(key, *v, "bool");
  return v->integer != 0;
}

absl::StatusOr<std::string> GgufFile::GetString(absl::string_view key) const {
  SM_ASSIGN_OR_RETURN(const GgufValue* v, Find(key));
  if (v->type != GgufType::kString) return WrongType(key, *v, "string");
  return v->text;
}

absl::StatusOr<const std::vector<std::string>*> GgufFile::GetStrings(
    absl::string_view key) const {
  SM_ASSIGN_OR_RETURN(const GgufValue* v, Find(key));
  if (v->type != GgufType::kArray || v->element_type != GgufType::kString) {
    return WrongType(key, *v, "array of string");
  }
  return &v->strings;
}

absl::StatusOr<const std::vector<double>*> GgufFile::GetNumbers(
    absl::string_view key) const {
  SM_ASSIGN_OR_RETURN(const GgufValue* v, Find(key));
  if (v->type != GgufType::kArray ||
      (!IsInteger(v->element_type) && !IsFloat(v->element_type) &&
       v->element_type != GgufType::kBool)) {
    return WrongType(key, *v, "array of numbers");
  }
  return &v->numbers;
}

}  // namespace smallmind::formats
