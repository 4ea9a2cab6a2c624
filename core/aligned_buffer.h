// An owned, zero-initialised block of memory aligned to kAlignment bytes.
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

  // Errors (never aborts) when the allocation fails or the rounded size
  // overflows.
  static absl::StatusOr<AlignedBuffer> Allocate(size_t bytes);

  uint8_t* data() { return data_.get(); }
  const uint8_t* data() const { return data_.get(); }
  size_t size() const { return size_; }

 private:
  struct Free {
    void operator()(uint8_t* p) const;
  };
  std::unique_ptr<uint8_t, Free> data_;
  size_t size_ = 0;
};

}  // namespace smallmind::core

#endif  // SMALLMIND_CORE_ALIGNED_BUFFER_H_
