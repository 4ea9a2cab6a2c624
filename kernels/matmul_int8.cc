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

#include "core/half.h"
#include "kernels/quant_blocks.h"

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
  //                      bits, signed bytes, subs, mins, bias
  using Bytes = Int8Form<8, true, 1, false, 0>;
  using Nibbles = Int8Form<4, false, 1, false, 8>;
  using NibblesMin = Int8Form<4, false, 1, true, 0>;
  using Fifth = Int8Form<5, false, 1, false, 16>;
  using FifthMin = Int8Form<5, false, 1, true, 0>;
  using Q2K = Int8Form<4, false, 2, true, 0>;
  using Q3K = Int8Form<4, false, 2, false, 4>;
  using Q6K = Int8Form<6, false, 2, false, 32>;
  // In core::DType order (the same forms as kForms below).
  static constexpr Int8GroupFn kKernels[] = {
      nullptr,
      nullptr,
      nullptr,
      Int8GroupRows<Ops, Bytes>,       // q8_0
      Int8GroupRows<Ops, Nibbles>,     // q4_0
      Int8GroupRows<Ops, NibblesMin>,  // q4_1
      Int8GroupRows<Ops, Fifth>,       // q5_0
      Int8GroupRows<Ops, FifthMin>,    // q5_1
      Int8GroupRows<Ops, Bytes>,       // iq4_nl
      Int8GroupRows<Ops, Q2K>,         // q2_k
      Int8GroupRows<Ops, Q3K>,         // q3_k
      Int8GroupRows<Ops, NibblesMin>,  // q4_k
      Int8GroupRows<Ops, FifthMin>,    // q5_k
      Int8GroupRows<Ops, Q6K>,         // q6_k
  };
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
                          out.scale + i * blocks, out.sum + 2 * i * blocks);
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

// How each dtype packs (see the header); the kernels' Int8Form says the same.
struct PackForm {
  int bits = 0;  // 0: no int8 kernel
  size_t subs = 1;
  bool mins = false;
  int bias = 0;  // u = v + bias
  size_t chunks() const { return bits == 8 ? 8 : static_cast<size_t>(bits); }
};

// In core::DType order.
constexpr PackForm kForms[] = {
    {},                  {},                  {},
    {8, 1, false, 128},  // q8_0
    {4, 1, false, 8},    // q4_0
    {4, 1, true, 0},     // q4_1
    {5, 1, false, 16},   // q5_0
    {5, 1, true, 0},     // q5_1
    {8, 1, false, 128},  // iq4_nl
    {4, 2, true, 0},     // q2_k
    {4, 2, false, 4},    // q3_k
    {4, 1, true, 0},     // q4_k
    {5, 1, true, 0},     // q5_k
    {6, 2, false, 32},   // q6_k
};
static_assert(std::size(kForms) == core::kNumDTypes, "one entry per DType");

const PackForm& FormOf(core::DType dtype) { return kForms[static_cast<size_t>(dtype)]; }

size_t ScaleBytes(const PackForm& form, size_t blocks) {
  return AlignUp64(blocks * form.subs * kInt8GroupRows * sizeof(uint16_t));
}

// Writes row `row`'s 32 unsigned values `u` of one block into its chunks.
void PackBlockQuants(const PackForm& form, const uint8_t* u, size_t row, uint8_t* quants) {
  uint8_t* at = quants + row * 4;
  if (form.bits == 8) {
    for (size_t c = 0; c < 8; ++c) std::memcpy(at + c * kChunkBytes, u + 4 * c, 4);
    return;
  }
  for (size_t c = 0; c < 4; ++c) {
    for (size_t j = 0; j < 4; ++j) {
      const uint8_t low = u[4 * c + j], high = u[16 + 4 * c + j];
      at[c * kChunkBytes + j] = static_cast<uint8_t>((low & 0xF) | ((high & 0xF) << 4));
      if (form.bits == 5) {
        at[4 * kChunkBytes + j] |= static_cast<uint8_t>(((low >> 4) << c) | ((high >> 4) << (4 + c)));
      } else if (form.bits == 6) {
        at[4 * kChunkBytes + j] |= static_cast<uint8_t>((low >> 4) << (2 * c));
        at[5 * kChunkBytes + j] |= static_cast<uint8_t>((high >> 4) << (2 * c));
      }
    }
  }
}

void PutF16(uint8_t* at, float x) {
  const uint16_t h = core::F32ToF16(x);
  std::memcpy(at, &h, sizeof(h));
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

bool HasInt8MatMul(core::DType dtype) { return FormOf(dtype).bits > 0; }

size_t Int8GroupBytes(core::DType dtype, size_t cols) {
  const PackForm& form = FormOf(dtype);
  const size_t blocks = cols / kInt8Block;
  return blocks * form.chunks() * kChunkBytes + (form.mins ? 2 : 1) * ScaleBytes(form, blocks);
}

size_t Int8PackedBytes(core::DType dtype, size_t rows, size_t cols) {
  const size_t groups = (rows + kInt8GroupRows - 1) / kInt8GroupRows;
  return groups * Int8GroupBytes(dtype, cols);
}

void PackInt8(core::DType dtype, const void* w, size_t row_stride, size_t rows,
              size_t cols, void* packed) {
  const PackForm& form = FormOf(dtype);
  const size_t blocks = cols / kInt8Block;
  const size_t dtype_block = core::BlockElements(dtype);
  const size_t group_bytes = Int8GroupBytes(dtype, cols);
  const size_t groups = (rows + kInt8GroupRows - 1) / kInt8GroupRows;
  std::memset(packed, 0, groups * group_bytes);  // padding rows: zero
  UnpackedBlock unpacked;
  uint8_t u[kInt8Block];
  for (size_t g = 0; g < groups; ++g) {
    uint8_t* quants = static_cast<uint8_t*>(packed) + g * group_bytes;
    uint8_t* scales = quants + blocks * form.chunks() * kChunkBytes;
    uint8_t* mins = scales + ScaleBytes(form, blocks);
    for (size_t r = 0; r < kInt8GroupRows && g * kInt8GroupRows + r < rows; ++r) {
      const uint8_t* row = static_cast<const uint8_t*>(w) + (g * kInt8GroupRows + r) * row_stride;
      for (size_t b = 0; b < blocks; ++b) {
        // Column of this block within the dtype's (maybe larger) block.
        const size_t in_block = b * kInt8Block % dtype_block;
        if (in_block == 0) {
          UnpackBlock(dtype, row + b * kInt8Block / dtype_block * core::BlockBytes(dtype),
                      &unpacked);
        }
        for (size_t j = 0; j < kInt8Block; ++j) {
          u[j] = static_cast<uint8_t>(unpacked.v[in_block + j] + form.bias);
        }
        PackBlockQuants(form, u, r, quants + b * form.chunks() * kChunkBytes);
        for (size_t s = 0; s < form.subs; ++s) {
          const size_t sub = in_block / kSubBlock + s;
          const size_t at = ((b * form.subs + s) * kInt8GroupRows + r) * sizeof(uint16_t);
          PutF16(scales + at, unpacked.scale[sub]);
          if (form.mins) PutF16(mins + at, unpacked.min[sub]);
        }
      }
    }
  }
}

size_t Int8ActivationBytes(size_t rows, size_t cols) {
  const size_t blocks = rows * (cols / kInt8Block);
  return AlignUp64(rows * cols) + AlignUp64(blocks * sizeof(float)) +
         AlignUp64(2 * blocks * sizeof(int32_t));
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
