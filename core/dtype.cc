#include "core/dtype.h"

#include <limits>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace smallmind::core {
namespace {

// In enum order. ggml ids from ggml.h's `ggml_type`; file ids are
// `TensorDType` in model/model.proto.
constexpr DTypeTraits kTraits[] = {
    {DType::kF32, "f32", 1, 4, 0, 1, false},
    {DType::kF16, "f16", 1, 2, 1, 2, false},
    {DType::kBF16, "bf16", 1, 2, 30, 3, false},
    {DType::kQ8_0, "q8_0", 32, sizeof(BlockQ8_0), 8, 4, true},
    {DType::kQ4_0, "q4_0", 32, sizeof(BlockQ4_0), 2, 5, true},
    {DType::kQ4_1, "q4_1", 32, 20, 3, 6, true},
    {DType::kQ5_0, "q5_0", 32, 22, 6, 7, true},
    {DType::kQ5_1, "q5_1", 32, 24, 7, 8, true},
    {DType::kIQ4_NL, "iq4_nl", 32, 18, 20, 9, true},
    {DType::kQ2_K, "q2_k", 256, 84, 10, 10, true},
    {DType::kQ3_K, "q3_k", 256, 110, 11, 11, true},
    {DType::kQ4_K, "q4_k", 256, 144, 12, 12, true},
    {DType::kQ5_K, "q5_k", 256, 176, 13, 13, true},
    {DType::kQ6_K, "q6_k", 256, 210, 14, 14, true},
};

constexpr bool InEnumOrder() {
  if (std::size(kTraits) != kNumDTypes) return false;
  for (size_t i = 0; i < std::size(kTraits); ++i) {
    if (static_cast<size_t>(kTraits[i].dtype) != i) return false;
    if (kMaxBlockElements % kTraits[i].block_elements != 0) return false;
  }
  return true;
}
static_assert(InEnumOrder(),
              "kTraits must list every DType in enum order, with blocks that "
              "divide kMaxBlockElements");

}  // namespace

absl::Span<const DTypeTraits> AllDTypes() { return kTraits; }

const DTypeTraits& Traits(DType dtype) {
  return kTraits[static_cast<size_t>(dtype)];
}

const DTypeTraits* TraitsForGgml(uint32_t ggml_type) {
  for (const DTypeTraits& t : kTraits) {
    if (t.ggml_type == ggml_type) return &t;
  }
  return nullptr;
}

const DTypeTraits* TraitsForFileId(uint32_t file_id) {
  for (const DTypeTraits& t : kTraits) {
    if (t.file_id == file_id) return &t;
  }
  return nullptr;
}

std::string DTypeNameList() {
  return absl::StrJoin(kTraits, ", ", [](std::string* out, const DTypeTraits& t) {
    out->append(t.name);
  });
}

absl::StatusOr<DType> DTypeFromName(absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  for (const DTypeTraits& t : kTraits) {
    if (t.name == lower) return t.dtype;
  }
  return absl::InvalidArgumentError(absl::StrFormat(
      "unknown dtype '%s' (expected one of %s)", name, DTypeNameList()));
}

absl::StatusOr<size_t> BytesFor(DType dtype, uint64_t n) {
  const DTypeTraits& t = Traits(dtype);
  if (n % t.block_elements != 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%d elements is not a whole number of %s blocks of %d",
                        n, t.name, t.block_elements));
  }
  const uint64_t blocks = n / t.block_elements;
  if (blocks > std::numeric_limits<size_t>::max() / t.block_bytes) {
    return absl::OutOfRangeError(absl::StrFormat(
        "%d elements of %s overflow a byte count", n, t.name));
  }
  return static_cast<size_t>(blocks * t.block_bytes);
}

}  // namespace smallmind::core
