// Replaces every form of operator new and delete with malloc-based ones that
// count allocations (core::HeapAllocations()). Linking this library into a
// binary turns the count on; each delete frees what its new allocated (ASan
// checks the pairing).
#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

#include "core/heap_counter.h"

namespace {
std::atomic<int64_t> g_news{0};
[[maybe_unused]] const bool g_installed = [] {
  smallmind::core::InstallHeapCounter(&g_news);
  return true;
}();
void* Allocate(size_t n, size_t align) {
  g_news.fetch_add(1, std::memory_order_relaxed);
  n = n == 0 ? 1 : n;
  return align <= alignof(std::max_align_t)
             ? std::malloc(n)
             : std::aligned_alloc(align, (n + align - 1) / align * align);
}
void* AllocateOrThrow(size_t n, size_t align) {
  if (void* p = Allocate(n, align)) return p;
  throw std::bad_alloc();
}
}  // namespace

void* operator new(size_t n) { return AllocateOrThrow(n, 0); }
void* operator new[](size_t n) { return AllocateOrThrow(n, 0); }
void* operator new(size_t n, std::align_val_t a) {
  return AllocateOrThrow(n, static_cast<size_t>(a));
}
void* operator new[](size_t n, std::align_val_t a) {
  return AllocateOrThrow(n, static_cast<size_t>(a));
}
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  return Allocate(n, 0);
}
void* operator new[](size_t n, const std::nothrow_t&) noexcept {
  return Allocate(n, 0);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}

