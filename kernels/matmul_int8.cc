// Dispatch unit for kernels/matmul_int8.h: per target, a table of group
// kernels in core::DType order; the packing, which is the same for every
// target, runs once.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/matmul_int8.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "kernels/matmul_int8-inl.h"
#include "kernels/matmul_int8.h"

#include <atomic>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#ifndef SMALLMIND_KERNELS_MATMUL_INT8_GROUP_FN_
#define SMALLMIND_KERNELS_MATMUL_INT8_GROUP_FN_
namespace smallmind::kernels {
using Int8GroupFn = void (*)(const uint8_t* group, const Int8Activations& x,
                             const float* bias, float* y, size_t ldy,
                             size_t out_rows);
}  // namespace smallmind::kernels
#endif

HWY_BEFORE_NAMESPACE();
namespace smallmind::kernels::HWY_NAMESPACE {

template <class Ops>
const Int8GroupFn* KernelsFor() {
  // In core::DType order: f32, f16, bf16, q8_0, q4_0.
  static constexpr Int8GroupFn kKernels[] = {
      nullptr, nullptr, nullptr, Int8GroupRows<Ops, /*kQ4=*/false>,
      Int8GroupRows<Ops, /*kQ4=*/true>};
  static_assert(std::size(kKernels) == core::kNumDTypes, "one entry per DType");
  return kKernels;
}

// `avx_vnni`: the CPU has AVX-VNNI and it is allowed; only the AVX2 target
// has a use for it (AVX3_DL has AVX512-VNNI).
const Int8GroupFn* Int8KernelsImpl(bool avx_vnni) {
#if HWY_TARGET == HWY_AVX2
  return avx_vnni ? KernelsFor<DotOpsAvx2<true>>() : KernelsFor<DotOpsAvx2<false>>();
#else
  (void)avx_vnni;
  return KernelsFor<DotOps>();
#endif
}

void QuantizeActivationsImpl(const float* x, size_t ldx, size_t first,
                             size_t count, const Int8Activations& out) {
  const size_t blocks = out.cols / kInt8Block;
  for (size_t i = first; i < first + count; ++i) {
    QuantizeActivationRow(x + i * ldx, out.cols, out.q + i * out.cols,
                          out.scale + i * blocks, out.sum + i * blocks);
  }
}

}  // namespace smallmind::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace smallmind::kernels {
namespace {

HWY_EXPORT(Int8KernelsImpl);
HWY_EXPORT(QuantizeActivationsImpl);

constexpr size_t kChunkBytes = kInt8GroupRows * 4;

size_t AlignUp64(size_t n) { return (n + 63) / 64 * 64; }

// How each dtype packs (see the header): 64-byte chunks per block, and how
// one GGML block of one row spreads over them. Every GGML block here starts
// with its f16 scale.
struct Int8Format {
  size_t chunks = 0;
  void (*pack_block)(const uint8_t* block, size_t row, uint8_t* quants) = nullptr;
};

void PackQ8_0Block(const uint8_t* block, size_t row, uint8_t* quants) {
  const auto* b = reinterpret_cast<const core::BlockQ8_0*>(block);
  for (size_t c = 0; c < 8; ++c) {
    for (size_t j = 0; j < 4; ++j) {
      quants[c * kChunkBytes + row * 4 + j] = static_cast<uint8_t>(b->qs[4 * c + j] + 128);
    }
  }
}

void PackQ4_0Block(const uint8_t* block, size_t row, uint8_t* quants) {
  const auto* b = reinterpret_cast<const core::BlockQ4_0*>(block);
  for (size_t c = 0; c < 4; ++c) {
    std::memcpy(quants + c * kChunkBytes + row * 4, b->qs + 4 * c, 4);
  }
}

// In core::DType order.
constexpr Int8Format kFormats[] = {
    {}, {}, {}, {8, PackQ8_0Block}, {4, PackQ4_0Block},
};
static_assert(std::size(kFormats) == core::kNumDTypes, "one entry per DType");

const Int8Format& FormatOf(core::DType dtype) {
  return kFormats[static_cast<size_t>(dtype)];
}

bool CpuHasAvxVnni() {
#if defined(__x86_64__) || defined(__i386__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx)) return false;
  return (eax >> 4) & 1;
#else
  return false;
#endif
}

std::atomic<bool> avx_vnni_allowed{true};

}  // namespace

bool HasInt8MatMul(core::DType dtype) { return FormatOf(dtype).chunks > 0; }

size_t Int8GroupBytes(core::DType dtype, size_t cols) {
  const size_t blocks = cols / kInt8Block;
  return blocks * FormatOf(dtype).chunks * kChunkBytes +
         AlignUp64(blocks * kInt8GroupRows * sizeof(uint16_t));
}

size_t Int8PackedBytes(core::DType dtype, size_t rows, size_t cols) {
  const size_t groups = (rows + kInt8GroupRows - 1) / kInt8GroupRows;
  return groups * Int8GroupBytes(dtype, cols);
}

void PackInt8(core::DType dtype, const void* w, size_t row_stride, size_t rows,
              size_t cols, void* packed) {
  const Int8Format& format = FormatOf(dtype);
  const size_t blocks = cols / kInt8Block;
  const size_t block_bytes = core::BlockBytes(dtype);
  const size_t group_bytes = Int8GroupBytes(dtype, cols);
  const size_t groups = (rows + kInt8GroupRows - 1) / kInt8GroupRows;
  std::memset(packed, 0, groups * group_bytes);  // padding rows: zero
  for (size_t g = 0; g < groups; ++g) {
    uint8_t* quants = static_cast<uint8_t*>(packed) + g * group_bytes;
    uint8_t* scales = quants + blocks * format.chunks * kChunkBytes;
    for (size_t r = 0; r < kInt8GroupRows && g * kInt8GroupRows + r < rows; ++r) {
      const uint8_t* row = static_cast<const uint8_t*>(w) + (g * kInt8GroupRows + r) * row_stride;
      for (size_t b = 0; b < blocks; ++b) {
        const uint8_t* block = row + b * block_bytes;
        format.pack_block(block, r, quants + b * format.chunks * kChunkBytes);
        std::memcpy(scales + (b * kInt8GroupRows + r) * sizeof(uint16_t), block,
                    sizeof(uint16_t));
      }
    }
  }
}

size_t Int8ActivationBytes(size_t rows, size_t cols) {
  const size_t blocks = rows * (cols / kInt8Block);
  return AlignUp64(rows * cols) + AlignUp64(blocks * sizeof(float)) +
         AlignUp64(blocks * sizeof(int32_t));
}

Int8Activations Int8ActivationsAt(void* storage, size_t rows, size_t cols) {
  const size_t blocks = rows * (cols / kInt8Block);
  uint8_t* p = static_cast<uint8_t*>(storage);
  Int8Activations a;
  a.q = reinterpret_cast<int8_t*>(p);
  a.scale = reinterpret_cast<float*>(p + AlignUp64(rows * cols));
  a.sum = reinterpret_cast<int32_t*>(p + AlignUp64(rows * cols) +
                                     AlignUp64(blocks * sizeof(float)));
  a.rows = rows;
  a.cols = cols;
  return a;
}

void QuantizeActivations(const float* x, size_t ldx, size_t first, size_t count,
                         const Int8Activations& out) {
  HWY_DYNAMIC_DISPATCH(QuantizeActivationsImpl)(x, ldx, first, count, out);
}

void Int8MatMulGroup(core::DType dtype, const void* group,
                     const Int8Activations& x, const float* bias, float* y,
                     size_t ldy, size_t out_rows) {
  static const bool cpu_has_avx_vnni = CpuHasAvxVnni();
  const bool avx_vnni =
      cpu_has_avx_vnni && avx_vnni_allowed.load(std::memory_order_relaxed);
  HWY_DYNAMIC_DISPATCH(Int8KernelsImpl)(avx_vnni)[static_cast<size_t>(dtype)](
      static_cast<const uint8_t*>(group), x, bias, y, ldy, out_rows);
}

void SetAvxVnniAllowed(bool allowed) {
  avx_vnni_allowed.store(allowed, std::memory_order_relaxed);
}

}  // namespace smallmind::kernels
#endif  // HWY_ONCE
