#include "core/aligned_buffer.h"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"

namespace smallmind::core {

namespace {

// Blocks from this size on are mapped: zero pages, committed when touched.
constexpr size_t kMapThreshold = size_t{1} << 20;

}  // namespace

void AlignedBuffer::Free::operator()(uint8_t* p) const {
  if (mapped_bytes > 0) {
    ::munmap(p, mapped_bytes);
  } else {
    std::free(p);
  }
}

absl::StatusOr<AlignedBuffer> AlignedBuffer::Allocate(size_t bytes) {
  if (bytes > std::numeric_limits<size_t>::max() - kAlignment) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("cannot allocate %d bytes", bytes));
  }
  // aligned_alloc wants a multiple of the alignment; allocate at least one
  // line so data() is never null.
  const size_t rounded =
      bytes == 0 ? kAlignment : (bytes + kAlignment - 1) / kAlignment * kAlignment;
  AlignedBuffer buffer;
  buffer.size_ = bytes;
  if (rounded >= kMapThreshold) {
    void* p = ::mmap(nullptr, rounded, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      return absl::ResourceExhaustedError(
          absl::StrFormat("out of memory mapping %d bytes", bytes));
    }
    buffer.data_ = std::unique_ptr<uint8_t, Free>(static_cast<uint8_t*>(p), Free{rounded});
    return buffer;
  }
  void* p = std::aligned_alloc(kAlignment, rounded);
  if (p == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("out of memory allocating %d bytes", bytes));
  }
  std::memset(p, 0, rounded);
  buffer.data_.reset(static_cast<uint8_t*>(p));
  return buffer;
}

}  // namespace smallmind::core
