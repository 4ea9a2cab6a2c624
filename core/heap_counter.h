// How many heap allocations this process has made, when the binary links
// //core:counting_allocator (the smallmind command and the allocation tests
// do); -1 otherwise. Used to show that the decode loop allocates nothing.
#ifndef SMALLMIND_CORE_HEAP_COUNTER_H_
#define SMALLMIND_CORE_HEAP_COUNTER_H_

#include <atomic>
#include <cstdint>

namespace smallmind::core {

int64_t HeapAllocations();

// Called once by the counting allocator at static initialisation.
void InstallHeapCounter(const std::atomic<int64_t>* counter);

}  // namespace smallmind::core

#endif  // SMALLMIND_CORE_HEAP_COUNTER_H_
