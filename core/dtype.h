// Element types of tensors, and the byte layout of the block-quantized ones.
//
// Q8_0 and Q4_0 are laid out exactly as GGML lays them out, so tensors from
// GGUF files are used in place:
//   Q8_0: 32 elements = f16 scale `d`, then 32 int8 `qs`; x[i] = d * qs[i].
//   Q4_0: 32 elements = f16 scale `d`, then 16 bytes; byte j holds element j
//         in its low nibble and element j + 16 in its high nibble;
//         x = d * (nibble - 8).
#ifndef SMALLMIND_CORE_DTYPE_H_
#define SMALLMIND_CORE_DTYPE_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace smallmind::core {

enum class DType : uint8_t { kF32, kF16, kBF16, kQ8_0, kQ4_0 };

inline constexpr DType kAllDTypes[] = {DType::kF32, DType::kF16, DType::kBF16,
                                       DType::kQ8_0, DType::kQ4_0};

// Elements per quantization block.
inline constexpr size_t kQuantBlock = 32;

struct BlockQ8_0 {
  uint16_t d;  // f16 bits
  int8_t qs[kQuantBlock];
};
static_assert(sizeof(BlockQ8_0) == 34, "GGML Q8_0 layout");

struct BlockQ4_0 {
  uint16_t d;  // f16 bits
  uint8_t qs[kQuantBlock / 2];
};
static_assert(sizeof(BlockQ4_0) == 18, "GGML Q4_0 layout");

// "f32", "f16", "bf16", "q8_0", "q4_0".
absl::string_view DTypeName(DType dtype);
// Parses a name as printed by DTypeName (case-insensitive).
absl::StatusOr<DType> DTypeFromName(absl::string_view name);

// Elements per block: 1 for the float types, 32 for the quantized ones.
size_t BlockElements(DType dtype);
// Bytes per block.
size_t BlockBytes(DType dtype);
bool IsQuantized(DType dtype);

// Bytes that `n` elements occupy. Errors if `n` is not a whole number of
// blocks or the byte count overflows.
absl::StatusOr<size_t> BytesFor(DType dtype, uint64_t n);

}  // namespace smallmind::core

#endif  // SMALLMIND_CORE_DTYPE_H_
