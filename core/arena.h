// A bump allocator over one aligned block, so hot loops allocate nothing:
// size it once, `Allocate` scratch during a step, `Reset()` after it.
#ifndef SMALLMIND_CORE_ARENA_H_
#define SMALLMIND_CORE_ARENA_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "core/aligned_buffer.h"

namespace smallmind::core {

class Arena {
 public:
  Arena() = default;
  // Errors if the block cannot be allocated.
  static absl::StatusOr<Arena> Create(size_t capacity_bytes);

  // `bytes` of uninitialised memory aligned to `alignment` (a power of two
  // ≤ kAlignment). Errors, leaving the arena unchanged, when it would run
  // past the capacity; never aborts.
  absl::StatusOr<void*> Allocate(size_t bytes, size_t alignment = kAlignment);

  // `count` elements of T, aligned to kAlignment.
  template <typename T>
  absl::StatusOr<T*> AllocateArray(size_t count) {
    if (count > SIZE_MAX / sizeof(T)) return Overflow(count, sizeof(T));
    absl::StatusOr<void*> p = Allocate(count * sizeof(T));
    if (!p.ok()) return p.status();
    return static_cast<T*>(*p);
  }

  // Frees everything allocated since creation; the high-water mark remains.
  void Reset() { used_ = 0; }
  // Frees what was allocated since `used()` returned `mark`, so a callee can
  // take scratch and give it back. A mark above used() is ignored.
  void Rewind(size_t mark) {
    if (mark <= used_) used_ = mark;
  }

  size_t capacity() const { return buffer_.size(); }
  size_t used() const { return used_; }
  // The most bytes ever in use at once.
  size_t high_water() const { return high_water_; }

 private:
  static absl::Status Overflow(size_t count, size_t size);

  AlignedBuffer buffer_;
  size_t used_ = 0;
  size_t high_water_ = 0;
};

}  // namespace smallmind::core

#endif  // SMALLMIND_CORE_ARENA_H_
