#include "core/arena.h"

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "core/status.h"

namespace smallmind::core {

absl::StatusOr<Arena> Arena::Create(size_t capacity_bytes) {
  Arena arena;
  SM_ASSIGN_OR_RETURN(arena.buffer_, AlignedBuffer::Allocate(capacity_bytes));
  return arena;
}

absl::StatusOr<void*> Arena::Allocate(size_t bytes, size_t alignment) {
  if (alignment == 0 || (alignment & (alignment - 1)) != 0 ||
      alignment > kAlignment) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "arena alignment %d is not a power of two up to %d", alignment,
        kAlignment));
  }
  // The block itself is kAlignment-aligned, so aligning the offset suffices.
  const size_t start = (used_ + alignment - 1) & ~(alignment - 1);
  if (start > capacity() || bytes > capacity() - start) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "arena out of memory: %d bytes requested with %d of %d in use", bytes,
        used_, capacity()));
  }
  used_ = start + bytes;
  if (used_ > high_water_) high_water_ = used_;
  return buffer_.data() + start;
}

absl::Status Arena::Overflow(size_t count, size_t size) {
  return absl::ResourceExhaustedError(absl::StrFormat(
      "arena request of %d elements of %d bytes overflows", count, size));
}

}  // namespace smallmind::core
