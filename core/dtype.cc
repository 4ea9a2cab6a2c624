#include "core/dtype.h"

#include <limits>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"

namespace smallmind::core {

absl::string_view DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return "f32";
    case DType::kF16:
      return "f16";
    case DType::kBF16:
      return "bf16";
    case DType::kQ8_0:
      return "q8_0";
    case DType::kQ4_0:
      return "q4_0";
  }
  return "invalid";
}

absl::StatusOr<DType> DTypeFromName(absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  for (DType dtype : kAllDTypes) {
    if (DTypeName(dtype) == lower) return dtype;
  }
  return absl::InvalidArgumentError(absl::StrFormat(
      "unknown dtype '%s' (expected f32, f16, bf16, q8_0 or q4_0)", name));
}

size_t BlockElements(DType dtype) { return IsQuantized(dtype) ? kQuantBlock : 1; }

size_t BlockBytes(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return 4;
    case DType::kF16:
    case DType::kBF16:
      return 2;
    case DType::kQ8_0:
      return sizeof(BlockQ8_0);
    case DType::kQ4_0:
      return sizeof(BlockQ4_0);
  }
  return 0;
}

bool IsQuantized(DType dtype) {
  return dtype == DType::kQ8_0 || dtype == DType::kQ4_0;
}

absl::StatusOr<size_t> BytesFor(DType dtype, uint64_t n) {
  const uint64_t block = BlockElements(dtype);
  if (n % block != 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%d elements is not a whole number of %s blocks of %d",
                        n, DTypeName(dtype), block));
  }
  const uint64_t blocks = n / block;
  const uint64_t per_block = BlockBytes(dtype);
  if (blocks > std::numeric_limits<size_t>::max() / per_block) {
    return absl::OutOfRangeError(absl::StrFormat(
        "%d elements of %s overflow a byte count", n, DTypeName(dtype)));
  }
  return static_cast<size_t>(blocks * per_block);
}

}  // namespace smallmind::core
