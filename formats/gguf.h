// A reader for GGUF (llama.cpp's model format, versions 2 and 3) that treats
// its input as hostile: every length, count, offset and size is checked
// against the bytes that are really there, with overflow checks, before it
// is used. Metadata values are typed; asking for a key as the wrong type is
// an error naming the key and both types.
#ifndef SMALLMIND_FORMATS_GGUF_H_
#define SMALLMIND_FORMATS_GGUF_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace smallmind::formats {

enum class GgufType : uint32_t {
  kUint8 = 0, kInt8 = 1, kUint16 = 2, kInt16 = 3, kUint32 = 4, kInt32 = 5,
  kFloat32 = 6, kBool = 7, kString = 8, kArray = 9, kUint64 = 10,
  kInt64 = 11, kFloat64 = 12,
};
absl::string_view GgufTypeName(GgufType type);

struct GgufValue {
  GgufType type = GgufType::kUint8;
  GgufType element_type = GgufType::kUint8;  // for arrays
  // Scalars: integers and bools in `integer`, floats in `real`, strings in
  // `text`. Arrays: numbers in `numbers` (as double), strings in `strings`.
  int64_t integer = 0;
  double real = 0;
  std::string text;
  std::vector<double> numbers;
  std::vector<std::string> strings;
};

struct GgufTensor {
  std::string name;
  std::vector<uint64_t> dims;  // ggml order: dims[0] is the row length
  uint32_t type = 0;           // ggml type id
  uint64_t offset = 0;         // from the start of the data section
  uint64_t size = 0;           // bytes (0 for types core/dtype.h lacks)
  absl::Span<const uint8_t> bytes;  // empty for unsized types
};

class GgufFile {
 public:
  // Parses `bytes` (which must outlive the GgufFile). Errors name the
  // problem and where it is.
  static absl::StatusOr<GgufFile> Parse(absl::Span<const uint8_t> bytes);

  uint32_t version() const { return version_; }
  const std::vector<GgufTensor>& tensors() const { return tensors_; }
  const GgufTensor* FindTensor(absl::string_view name) const;
  const std::map<std::string, GgufValue>& metadata() const { return kv_; }
  bool Has(absl::string_view key) const { return kv_.count(std::string(key)); }

  // Typed access; NotFound when absent, InvalidArgument on the wrong type
  // (or a negative or too-large integer).
  absl::StatusOr<uint64_t> GetUint(absl::string_view key) const;
  absl::StatusOr<double> GetFloat(absl::string_view key) const;
  absl::StatusOr<bool> GetBool(absl::string_view key) const;
  absl::StatusOr<std::string> GetString(absl::string_view key) const;
  absl::StatusOr<const std::vector<std::string>*> GetStrings(
      absl::string_view key) const;
  absl::StatusOr<const std::vector<double>*> GetNumbers(
      absl::string_view key) const;

 private:
  absl::StatusOr<const GgufValue*> Find(absl::string_view key) const;

  uint32_t version_ = 0;
  std::map<std::string, GgufValue> kv_;
  std::vector<GgufTensor> tensors_;
};

}  // namespace smallmind::formats

#endif  // SMALLMIND_FORMATS_GGUF_H_
