#include "kernels/matmul_int8.h"

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/dtype.h"
#include "gtest/gtest.h"
#include "hwy/aligned_allocator.h"
#include "kernels/convert.h"
#include "kernels/kernel_test_util.h"
#include "kernels/reference.h"

namespace smallmind::kernels {
namespace {

// Each test runs on every compiled target, and on AVX2 both with AVX-VNNI
// (where the CPU has it) and without.
class MatMulInt8Test : public KernelTest {
 protected:
  void TearDown() override {
    SetAvxVnniAllowed(true);
    KernelTest::TearDown();
  }
};
HWY_TARGET_INSTANTIATE_TEST_SUITE_P(MatMulInt8Test);

std::vector<core::DType> Int8DTypes() {
  std::vector<core::DType> out;
  for (const core::DTypeTraits& t : core::AllDTypes()) {
    if (HasInt8MatMul(t.dtype)) out.push_back(t.dtype);
  }
  return out;
}

// Byte offsets of each dtype's f16 fields within its block.
std::vector<size_t> HalfFields(core::DType dtype) {
  switch (dtype) {
    case core::DType::kQ4_1:
    case core::DType::kQ5_1:
    case core::DType::kQ4_K:
    case core::DType::kQ5_K:
      return {0, 2};
    case core::DType::kQ2_K:
      return {80, 82};
    case core::DType::kQ3_K:
      return {108};
    case core::DType::kQ6_K:
      return {208};
    default:
      return {0};
  }
}

// Random blocks whose f16 fields are 1 and whose integer scales are small
// enough that every sum stays an exactly representable integer.
std::vector<uint8_t> IntegerBlocks(core::DType dtype, size_t blocks, std::mt19937& rng) {
  const size_t bytes = core::BlockBytes(dtype);
  std::vector<uint8_t> w(blocks * bytes);
  for (size_t blk = 0; blk < blocks; ++blk) {
    uint8_t* b = w.data() + blk * bytes;
    for (size_t j = 0; j < bytes; ++j) b[j] = static_cast<uint8_t>(rng());
    if (dtype == core::DType::kQ6_K) {  // int8 scales in [-15, 15]
      for (size_t j = 192; j < 208; ++j) b[j] = static_cast<uint8_t>(int(rng() % 31) - 15);
    }
    const uint16_t one = 0x3C00;  // f16 1.0
    for (size_t at : HalfFields(dtype)) std::memcpy(b + at, &one, 2);
  }
  return w;
}

// Column counts: odd numbers of 32-blocks, and whole super-blocks for the
// K-quants.
std::vector<size_t> ColumnCounts(core::DType dtype, std::vector<size_t> small) {
  if (core::BlockElements(dtype) == 32) return small;
  return {256, 768};
}

struct Activations {
  hwy::AlignedFreeUniquePtr<uint8_t[]> storage;
  Int8Activations view;
};

Activations Quantize(const std::vector<float>& x, size_t rows, size_t cols) {
  Activations a;
  a.storage = hwy::AllocateAligned<uint8_t>(Int8ActivationBytes(rows, cols));
  a.view = Int8ActivationsAt(a.storage.get(), rows, cols);
  QuantizeActivations(x.data(), cols, 0, rows, a.view);
  return a;
}

// Runs every group of W over X into Y[rows × n] (stride n + 1, whose last
// column must stay untouched).
std::vector<float> MatMul(core::DType dtype, const std::vector<uint8_t>& w,
                          size_t n, size_t k, const Int8Activations& x,
                          const float* bias) {
  auto packed = hwy::AllocateAligned<uint8_t>(Int8PackedBytes(dtype, n, k));
  PackInt8(dtype, w.data(), k / core::BlockElements(dtype) * core::BlockBytes(dtype), n, k,
           packed.get());
  const size_t ldy = n + 1;
  std::vector<float> y(x.rows * ldy, -7.0f);
  for (size_t g = 0; g * kInt8GroupRows < n; ++g) {
    const size_t rows = std::min(kInt8GroupRows, n - g * kInt8GroupRows);
    Int8MatMulGroup(dtype, packed.get() + g * Int8GroupBytes(dtype, k), x,
                    bias ? bias + g * kInt8GroupRows : nullptr,
                    y.data() + g * kInt8GroupRows, ldy, rows);
  }
  for (size_t i = 0; i < x.rows; ++i) EXPECT_EQ(y[i * ldy + n], -7.0f);
  return y;
}

// Integer-valued inputs with unit scales make every float operation exact
// (sums stay below 2^24), so the kernels must agree with the integer
// reference exactly, whatever instruction computes the dots.
TEST_P(MatMulInt8Test, IntegerInputsGiveExactSums) {
  for (bool vnni : {true, false}) {
    SetAvxVnniAllowed(vnni);
    for (core::DType dtype : Int8DTypes()) {
      std::mt19937 rng(7);
      for (size_t m : {1, 3, 5, 8, 9, 17}) {
        for (size_t k : ColumnCounts(dtype, {32, 96, 512})) {
          for (size_t n : {1, 15, 16, 33}) {
            // Each block holds 127 (scale 1) and integers in [-127, 127].
            std::vector<float> x(m * k);
            for (size_t i = 0; i < x.size(); ++i) {
              x[i] = i % 32 == 5 ? 127.0f : float(int(rng() % 255) - 127);
            }
            const size_t block_bytes = core::BlockBytes(dtype);
            const std::vector<uint8_t> w =
                IntegerBlocks(dtype, n * k / core::BlockElements(dtype), rng);
            const Activations a = Quantize(x, m, k);
            const std::vector<float> y = MatMul(dtype, w, n, k, a.view, nullptr);
            for (size_t i = 0; i < m; ++i) {
              ASSERT_EQ(a.view.scale[i * k / 32], 1.0f);
              for (size_t j = 0; j < n; ++j) {
                double magnitude;
                const double expected = reference::Int8Dot(
                    dtype, w.data() + j * k / core::BlockElements(dtype) * block_bytes,
                    a.view.q + i * k,
                    a.view.scale + i * k / 32, k, &magnitude);
                ASSERT_EQ(y[i * (n + 1) + j], expected)
                    << core::DTypeName(dtype) << " vnni=" << vnni << " m=" << m
                    << " k=" << k << " n=" << n << " at " << i << "," << j;
              }
            }
          }
        }
      }
    }
  }
}

// Random weights and activations against the reference, with bias: the
// integer sums are exact; the float scaling and accumulation over blocks
// round, within a few ulps of Σ |block terms|.
TEST_P(MatMulInt8Test, RandomInputsMatchTheReference) {
  for (bool vnni : {true, false}) {
    SetAvxVnniAllowed(vnni);
    for (core::DType dtype : Int8DTypes()) {
      for (size_t m : {1, 2, 7, 8, 16, 33}) {
        for (size_t k : ColumnCounts(dtype, {32, 288, 800})) {
          for (size_t n : {1, 5, 16, 17, 64}) {
            const std::vector<float> x = RandomFloats(m * k, 11, -3.0f, 3.0f);
            const std::vector<float> wf = RandomFloats(n * k, 12);
            const std::vector<float> bias = RandomFloats(n, 13);
            std::vector<uint8_t> w(*core::BytesFor(dtype, n * k));
            EncodeRow(dtype, wf.data(), w.data(), n * k);
            const Activations a = Quantize(x, m, k);
            const std::vector<float> y = MatMul(dtype, w, n, k, a.view, bias.data());
            // The kernels' activation quantization matches the reference's.
            std::vector<int8_t> q(k);
            std::vector<float> scale(k / 32);
            std::vector<int32_t> sum(k / 16);
            for (size_t i = 0; i < m; ++i) {
              reference::QuantizeActivations(x.data() + i * k, k, q.data(), scale.data(),
                                             sum.data());
              ASSERT_EQ(std::memcmp(q.data(), a.view.q + i * k, k), 0);
              ASSERT_EQ(std::memcmp(scale.data(), a.view.scale + i * k / 32, k / 8), 0);
              ASSERT_EQ(std::memcmp(sum.data(), a.view.sum + i * k / 16, k / 4), 0);
              for (size_t j = 0; j < n; ++j) {
                double magnitude;
                const double expected =
                    bias[j] + reference::Int8Dot(dtype,
                                                 w.data() + j * k / core::BlockElements(dtype) *
                                                                core::BlockBytes(dtype),
                                                 q.data(), scale.data(), k, &magnitude);
                const double tolerance = (k / 32 + 4) * 1.2e-7 * (magnitude + std::fabs(bias[j]));
                ASSERT_NEAR(y[i * (n + 1) + j], expected, tolerance)
                    << core::DTypeName(dtype) << " vnni=" << vnni << " m=" << m
                    << " k=" << k << " n=" << n << " at " << i << "," << j;
              }
            }
          }
        }
      }
    }
  }
}

// Blocks of zeros quantize to scale 0 and contribute nothing; extreme
// weights (every bit clear, every bit set) stay exact.
TEST_P(MatMulInt8Test, ZeroBlocksAndExtremeWeights) {
  for (bool vnni : {true, false}) {
    SetAvxVnniAllowed(vnni);
    for (core::DType dtype : Int8DTypes()) {
      const size_t block = core::BlockElements(dtype), block_bytes = core::BlockBytes(dtype);
      const size_t k = std::max<size_t>(64, block), n = 16, row_blocks = k / block;
      std::vector<float> x(k, 0.0f);
      for (size_t j = 32; j < k; ++j) x[j] = j % 2 ? 127.0f : -127.0f;
      std::vector<uint8_t> w(n * row_blocks * block_bytes);
      for (size_t blk = 0; blk < n * row_blocks; ++blk) {
        uint8_t* b = w.data() + blk * block_bytes;
        std::memset(b, dtype == core::DType::kQ8_0 ? 0x80 : (blk % 2 ? 0xFF : 0x00), block_bytes);
        const uint16_t one = 0x3C00;
        for (size_t at : HalfFields(dtype)) std::memcpy(b + at, &one, 2);
      }
      const Activations a = Quantize(x, 1, k);
      EXPECT_EQ(a.view.scale[0], 0.0f);
      const std::vector<float> y = MatMul(dtype, w, n, k, a.view, nullptr);
      for (size_t j = 0; j < n; ++j) {
        double magnitude;
        EXPECT_EQ(y[j], reference::Int8Dot(dtype, w.data() + j * row_blocks * block_bytes,
                                           a.view.q, a.view.scale, k, &magnitude))
            << core::DTypeName(dtype) << " vnni=" << vnni << " row " << j;
      }
    }
  }
}

TEST(MatMulInt8LayoutTest, PackedMatricesAreAsLargeAsTheirBlocks) {
  // 16 GGML blocks per group-block, plus the scales' padding to 64 bytes.
  EXPECT_EQ(Int8GroupBytes(core::DType::kQ8_0, 64), 2 * 16 * 34u);
  EXPECT_EQ(Int8GroupBytes(core::DType::kQ4_0, 64), 2 * 16 * 18u);
  EXPECT_EQ(Int8GroupBytes(core::DType::kQ8_0, 32), 16 * 32 + 64u);
  EXPECT_EQ(Int8PackedBytes(core::DType::kQ4_0, 17, 64), 2 * Int8GroupBytes(core::DType::kQ4_0, 64));
  // Q4_K: 4 nibble chunks per 32 columns, f16 scales and mins.
  EXPECT_EQ(Int8GroupBytes(core::DType::kQ4_K, 256), 8 * 4 * 64 + 2 * 256u);
  // Q6_K: 6 chunks, a scale per 16 columns.
  EXPECT_EQ(Int8GroupBytes(core::DType::kQ6_K, 256), 8 * 6 * 64 + 512u);
  EXPECT_FALSE(HasInt8MatMul(core::DType::kF32));
  for (const core::DTypeTraits& t : core::AllDTypes()) {
    EXPECT_EQ(HasInt8MatMul(t.dtype), t.quantized) << t.name;
  }
}

}  // namespace
}  // namespace smallmind::kernels
