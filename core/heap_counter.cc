#include "core/heap_counter.h"

namespace smallmind::core {
namespace {
std::atomic<const std::atomic<int64_t>*> installed{nullptr};
}  // namespace

int64_t HeapAllocations() {
  const std::atomic<int64_t>* counter = installed.load(std::memory_order_acquire);
  return counter == nullptr ? -1 : counter->load(std::memory_order_relaxed);
}

void InstallHeapCounter(const std::atomic<int64_t>* counter) {
  installed.store(counter, std::memory_order_release);
}

}  // namespace smallmind::core
