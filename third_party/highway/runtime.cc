// The run-time half of Highway 1.0.3, written here so that no binary links
// Debian's libhwy.so. That library's static initializer times itself with
// RDTSCP (hwy::platform::TimerResolution, for nanobenchmark), which every
// program linking it executes before main; valgrind refuses the
// instruction on hosts whose CPUID hides it (seen on a Zen 5 VM whose
// hypervisor runs RDTSCP but does not list it), so the instruction-count
// gate could not start there. Highway's headers stay Debian's; these are
// the functions they declare out of line that SmallMind's code reaches:
// target detection for dynamic dispatch, test overrides, aligned
// allocation and Abort. Nothing here reads a clock.
//
// Target detection follows what each target's code is compiled for
// (hwy/ops/set_macros-inl.h's HWY_TARGET_STR) and the operating system's
// saved register state (XGETBV), so a target is chosen only where every
// instruction its code may use is available.

#include <cpuid.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atomic>

#include "hwy/aligned_allocator.h"
#include "hwy/base.h"
#include "hwy/targets.h"

namespace hwy {
namespace {

#if HWY_ARCH_X86
struct CpuidRegs {
  uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};

CpuidRegs Cpuid(uint32_t leaf, uint32_t subleaf) {
  CpuidRegs r;
  __cpuid_count(leaf, subleaf, r.eax, r.ebx, r.ecx, r.edx);
  return r;
}

bool Bit(uint32_t reg, int bit) { return (reg >> bit) & 1; }

// XCR0: which register state the operating system saves on a context
// switch. AVX needs the SSE and AVX halves; AVX-512 also the mask
// registers and both halves of the upper ZMM state.
uint64_t Xcr0() {
  uint32_t lo, hi;
  asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return uint64_t{hi} << 32 | lo;
}

int64_t DetectTargets() {
  int64_t targets = HWY_SCALAR | HWY_EMU128;
  const uint32_t max_leaf = Cpuid(0, 0).eax;
  if (max_leaf < 1) return targets;
  const CpuidRegs l1 = Cpuid(1, 0);
  const CpuidRegs l7 = max_leaf >= 7 ? Cpuid(7, 0) : CpuidRegs();
  const uint32_t max_ext = Cpuid(0x80000000u, 0).eax;
  const CpuidRegs e1 = max_ext >= 0x80000001u ? Cpuid(0x80000001u, 0) : CpuidRegs();

  const bool ssse3 = Bit(l1.edx, 25) && Bit(l1.edx, 26) && Bit(l1.ecx, 0) && Bit(l1.ecx, 9);
  if (!ssse3) return targets;
  targets |= HWY_SSSE3;

  // SSE4.1, SSE4.2, PCLMULQDQ, AES.
  const bool sse4 = Bit(l1.ecx, 19) && Bit(l1.ecx, 20) && Bit(l1.ecx, 1) && Bit(l1.ecx, 25);
  if (!sse4) return targets;
  targets |= HWY_SSE4;

  const bool osxsave = Bit(l1.ecx, 27);
  const uint64_t xcr0 = osxsave ? Xcr0() : 0;
  // AVX, AVX2, BMI1, BMI2, FMA, F16C, LZCNT, MOVBE, and YMM state.
  const bool avx2 = osxsave && (xcr0 & 0x6) == 0x6 && Bit(l1.ecx, 28) && Bit(l7.ebx, 5) &&
                    Bit(l7.ebx, 3) && Bit(l7.ebx, 8) && Bit(l1.ecx, 12) && Bit(l1.ecx, 29) &&
                    Bit(e1.ecx, 5) && Bit(l1.ecx, 22);
  if (!avx2) return targets;
  targets |= HWY_AVX2;

  // AVX512F, VL, DQ, BW, and opmask + ZMM state.
  const bool avx3 = (xcr0 & 0xE0) == 0xE0 && Bit(l7.ebx, 16) && Bit(l7.ebx, 31) &&
                    Bit(l7.ebx, 17) && Bit(l7.ebx, 30);
  if (!avx3) return targets;
  targets |= HWY_AVX3;

  // AVX512-VNNI, VPCLMULQDQ, VBMI, VBMI2, VAES, BITALG, VPOPCNTDQ.
  const bool avx3_dl = Bit(l7.ecx, 11) && Bit(l7.ecx, 10) && Bit(l7.ecx, 1) && Bit(l7.ecx, 6) &&
                       Bit(l7.ecx, 9) && Bit(l7.ecx, 12) && Bit(l7.ecx, 14);
  if (avx3_dl) targets |= HWY_AVX3_DL;
  return targets;
}
#else
int64_t DetectTargets() { return HWY_STATIC_TARGET | HWY_SCALAR | HWY_EMU128; }
#endif

std::atomic<int64_t> disabled_targets{0};
std::atomic<int64_t> targets_for_test{0};

// Prefix of every aligned allocation: what FreeAlignedBytes and
// DeleteAlignedArray need back.
struct AllocationHeader {
  void* allocated;
  size_t payload_size;
};
constexpr size_t kAlignment = HWY_ALIGNMENT;
static_assert(sizeof(AllocationHeader) <= kAlignment, "the header fits before the payload");

AllocationHeader* HeaderOf(const void* payload) {
  return reinterpret_cast<AllocationHeader*>(
      reinterpret_cast<uintptr_t>(payload) - sizeof(AllocationHeader));
}

}  // namespace

int64_t SupportedTargets() {
  static const int64_t detected = DetectTargets();
  const int64_t for_test = targets_for_test.load(std::memory_order_relaxed);
  int64_t targets = (for_test != 0 ? for_test : detected) &
                    ~disabled_targets.load(std::memory_order_relaxed);
  if (targets == 0) targets = HWY_STATIC_TARGET;
  GetChosenTarget().Update(targets);
  return targets;
}

void DisableTargets(int64_t disabled) {
  disabled_targets.store(disabled, std::memory_order_relaxed);
  GetChosenTarget().DeInit();  // the next dispatch chooses again
}

void SetSupportedTargetsForTest(int64_t targets) {
  targets_for_test.store(targets, std::memory_order_relaxed);
  GetChosenTarget().DeInit();
}

ChosenTarget& GetChosenTarget() {
  static ChosenTarget chosen;
  return chosen;
}

void* AllocateAlignedBytes(size_t payload_size, AllocPtr alloc_ptr, void* opaque_ptr) {
  if (payload_size > SIZE_MAX - 2 * kAlignment) return nullptr;
  const size_t total = payload_size + 2 * kAlignment;
  void* allocated = alloc_ptr != nullptr ? alloc_ptr(opaque_ptr, total) : malloc(total);
  if (allocated == nullptr) return nullptr;
  // The payload starts on the first aligned address leaving room for the
  // header.
  const uintptr_t payload =
      (reinterpret_cast<uintptr_t>(allocated) + sizeof(AllocationHeader) + kAlignment - 1) &
      ~(uintptr_t{kAlignment} - 1);
  AllocationHeader* header = HeaderOf(reinterpret_cast<void*>(payload));
  header->allocated = allocated;
  header->payload_size = payload_size;
  return reinterpret_cast<void*>(payload);
}

void FreeAlignedBytes(const void* aligned_pointer, FreePtr free_ptr, void* opaque_ptr) {
  if (aligned_pointer == nullptr) return;
  void* allocated = HeaderOf(aligned_pointer)->allocated;
  if (free_ptr != nullptr) {
    free_ptr(opaque_ptr, allocated);
  } else {
    free(allocated);
  }
}

void AlignedDeleter::DeleteAlignedArray(void* aligned_pointer, FreePtr free_ptr,
                                        void* opaque_ptr, ArrayDeleter deleter) {
  if (aligned_pointer == nullptr) return;
  if (deleter != nullptr) deleter(aligned_pointer, HeaderOf(aligned_pointer)->payload_size);
  FreeAlignedBytes(aligned_pointer, free_ptr, opaque_ptr);
}

void Abort(const char* file, int line, const char* format, ...) {
  char message[800];
  va_list args;
  va_start(args, format);
  vsnprintf(message, sizeof(message), format, args);
  va_end(args);
  fprintf(stderr, "Abort at %s:%d: %s\n", file, line, message);
  fflush(stderr);
  abort();
}

}  // namespace hwy
