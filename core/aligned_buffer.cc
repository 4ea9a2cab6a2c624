#include "core/aligned_buffer.h"

#include <cstdlib>
#include <cstring>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"

namespace smallmind::core {

void AlignedBuffer::Free::operator()(uint8_t* p) const { std::free(p); }

absl::StatusOr<AlignedBuffer> AlignedBuffer::Allocate(size_t bytes) {
  if (bytes > std::numeric_limits<size_t>::max() - kAlignment) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("cannot allocate %d bytes", bytes));
  }
  // aligned_alloc wants a multiple of the alignment; allocate at least one
  // line so data() is never null.
  const size_t rounded =
      bytes == 0 ? kAlignment : (bytes + kAlignment - 1) / kAlignment * kAlignment;
  void* p = std::aligned_alloc(kAlignment, rounded);
  if (p == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("out of memory allocating %d bytes", bytes));
  }
  std::memset(p, 0, rounded);
  AlignedBuffer buffer;
  buffer.data_.reset(static_cast<uint8_t*>(p));
  buffer.size_ = bytes;
  return buffer;
}

}  // namespace smallmind::core
