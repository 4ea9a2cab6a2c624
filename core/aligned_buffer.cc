#include "core/aligned_buffer.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"

namespace smallmind::core {

namespace {

// Blocks from this size on are mapped: zero pages, committed when touched.
constexpr size_t kMapThreshold = size_t{1} << 20;
// x86-64's transparent huge page.
constexpr size_t kHugePage = size_t{2} << 20;

// `bytes` of fresh zero pages starting on a multiple of `alignment` (a power
// of two, at least the page size), or MAP_FAILED.
void* MapAligned(size_t bytes, size_t alignment) {
  const size_t span = bytes + alignment;
  void* p = ::mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return p;
  const uintptr_t begin = reinterpret_cast<uintptr_t>(p);
  const uintptr_t aligned = (begin + alignment - 1) & ~(alignment - 1);
  if (aligned > begin) ::munmap(p, aligned - begin);
  const uintptr_t end = aligned + bytes;
  if (begin + span > end) ::munmap(reinterpret_cast<void*>(end), begin + span - end);
  return reinterpret_cast<void*>(aligned);
}

}  // namespace

void AlignedBuffer::Free::operator()(uint8_t* p) const {
  if (mapped_bytes > 0) {
    ::munmap(p, mapped_bytes);
  } else {
    std::free(p);
  }
}

absl::StatusOr<AlignedBuffer> AlignedBuffer::Allocate(size_t bytes, Pages pages) {
  // Headroom for rounding up to pages and aligning to a huge page.
  if (bytes > std::numeric_limits<size_t>::max() - 2 * kHugePage) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("cannot allocate %d bytes", bytes));
  }
  // aligned_alloc wants a multiple of the alignment; allocate at least one
  // line so data() is never null.
  size_t rounded =
      bytes == 0 ? kAlignment : (bytes + kAlignment - 1) / kAlignment * kAlignment;
  AlignedBuffer buffer;
  buffer.size_ = bytes;
  if (rounded >= kMapThreshold) {
    const bool huge = pages == Pages::kHuge && rounded >= kHugePage;
    // Whole pages, so that MapAligned trims on page boundaries.
    const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    rounded = (rounded + page - 1) / page * page;
    void* p = huge ? MapAligned(rounded, kHugePage)
                   : ::mmap(nullptr, rounded, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      return absl::ResourceExhaustedError(
          absl::StrFormat("out of memory mapping %d bytes", bytes));
    }
    // Advice only: where THP is off, the block simply keeps small pages.
    if (huge) ::madvise(p, rounded, MADV_HUGEPAGE);
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

size_t AlignedBuffer::Discard(size_t offset, size_t bytes) {
  if (data_.get_deleter().mapped_bytes == 0 || offset >= size_) return 0;
  bytes = std::min(bytes, size_ - offset);
  const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t begin = reinterpret_cast<uintptr_t>(data_.get()) + offset;
  const uintptr_t first = (begin + page - 1) / page * page;
  const uintptr_t last = (begin + bytes) / page * page;
  if (last <= first) return 0;
  ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
  return last - first;
}

size_t AlignedBuffer::ResidentBytes() const {
  const size_t mapped = data_.get_deleter().mapped_bytes;
  if (mapped == 0) return size_;
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> in_memory((mapped + page - 1) / page);
  if (::mincore(data_.get(), mapped, in_memory.data()) != 0) return mapped;
  size_t pages = 0;
  for (unsigned char p : in_memory) pages += p & 1;
  return pages * page;
}

}  // namespace smallmind::core
