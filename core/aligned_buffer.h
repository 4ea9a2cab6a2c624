// An owned, zero-initialised block of memory aligned to kAlignment bytes.
// Large blocks come straight from the kernel as zero pages that take memory
// only once written, so a KV cache or arena sized for the whole context
// costs only what is used.
#ifndef SMALLMIND_CORE_ALIGNED_BUFFER_H_
#define SMALLMIND_CORE_ALIGNED_BUFFER_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"

namespace smallmind::core {

// Cache-line and AVX-512 vector alignment.
inline constexpr size_t kAlignment = 64;

class AlignedBuffer {
 public:
  AlignedBuffer() = default;

  enum class Pages {
    kSmall,
    // For large blocks written once and then streamed (packed weights): the
    // mapping starts on a 2 MiB boundary and asks for transparent huge pages,
    // so reading it walks one TLB entry per 2 MiB instead of per 4 KiB.
    // Not for blocks used sparingly: a touched huge page takes all 2 MiB.
    kHuge,
  };

  // Errors (never aborts) when the allocation fails or the rounded size
  // overflows.
  static absl::StatusOr<AlignedBuffer> Allocate(size_t bytes, Pages pages = Pages::kSmall);

  uint8_t* data() { return data_.get(); }
  const uint8_t* data() const { return data_.get(); }
  size_t size() const { return size_; }

  // Gives the whole pages inside [offset, offset + bytes) back to the
  // system: they read as zeros when touched again. Blocks on the C heap
  // (under a MiB) keep theirs. Returns the bytes given back.
  size_t Discard(size_t offset, size_t bytes);
  // Bytes of the block's pages in memory now (mincore); a heap block's
  // size().
  size_t ResidentBytes() const;

 private:
  struct Free {
    Free() : mapped_bytes(0) {}
    explicit Free(size_t mapped) : mapped_bytes(mapped) {}
    void operator()(uint8_t* p) const;
    size_t mapped_bytes;  // an mmap's length; 0 for the C heap
  };
  std::unique_ptr<uint8_t, Free> data_;
  size_t size_ = 0;
};

}  // namespace smallmind::core

#endif  // SMALLMIND_CORE_ALIGNED_BUFFER_H_
