// Element types of tensors: one traits table (ggml's `type_traits`) that says
// how each dtype is laid out. Everything that sizes, names or identifies a
// dtype reads it; the kernels that convert and multiply each dtype sit in
// their own tables in kernels/ (convert.h, qgemm.h), keyed by the same enum.
//
// The block-quantized types are laid out exactly as GGML lays them out
// (ggml-common.h), so tensors from GGUF files are used in place:
//   Q8_0: 32 elements = f16 scale `d`, then 32 int8 `qs`; x[i] = d * qs[i].
//   Q4_0: 32 elements = f16 scale `d`, then 16 bytes; byte j holds element j
//         in its low nibble and element j + 16 in its high nibble;
//         x = d * (nibble - 8).
// The other types (Q4_1, Q5_0, Q5_1, IQ4_NL; the K-quants Q2_K..Q6_K on
// blocks of 256) are described, and unpacked, in kernels/quant_blocks.h.
#ifndef SMALLMIND_CORE_DTYPE_H_
#define SMALLMIND_CORE_DTYPE_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace smallmind::core {

enum class DType : uint8_t {
  kF32, kF16, kBF16, kQ8_0, kQ4_0,
  kQ4_1, kQ5_0, kQ5_1, kIQ4_NL, kQ2_K, kQ3_K, kQ4_K, kQ5_K, kQ6_K,
};
inline constexpr size_t kNumDTypes = 14;

struct DTypeTraits {
  DType dtype;
  const char* name;         // lower case: what flags and files say
  uint32_t block_elements;  // 1 for the float types
  uint32_t block_bytes;
  uint32_t ggml_type;       // GGUF's tensor type id
  uint32_t file_id;         // `TensorDType` in model/model.proto
  bool quantized;
};

// Every dtype, in enum order.
absl::Span<const DTypeTraits> AllDTypes();
const DTypeTraits& Traits(DType dtype);
// The dtype with GGUF type id `ggml_type`, or null.
const DTypeTraits* TraitsForGgml(uint32_t ggml_type);
// The dtype with .smm file id `file_id`, or null.
const DTypeTraits* TraitsForFileId(uint32_t file_id);

// The most elements any dtype's block has.
inline constexpr size_t kMaxBlockElements = 256;

// Elements per quantization block of Q8_0, Q4_0 and the other 32-element
// types; the K-quants' super-blocks hold kMaxBlockElements.
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

inline absl::string_view DTypeName(DType dtype) { return Traits(dtype).name; }
inline size_t BlockElements(DType dtype) { return Traits(dtype).block_elements; }
inline size_t BlockBytes(DType dtype) { return Traits(dtype).block_bytes; }
inline bool IsQuantized(DType dtype) { return Traits(dtype).quantized; }

// Parses a name as Traits().name has it (case-insensitive).
absl::StatusOr<DType> DTypeFromName(absl::string_view name);
// "f32, f16, bf16, q8_0, q4_0": for messages.
std::string DTypeNameList();

// Bytes that `n` elements occupy. Errors if `n` is not a whole number of
// blocks or the byte count overflows.
absl::StatusOr<size_t> BytesFor(DType dtype, uint64_t n);

}  // namespace smallmind::core

#endif  // SMALLMIND_CORE_DTYPE_H_
