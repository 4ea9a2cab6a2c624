#include "kernels/elementwise.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "core/half.h"
#include "gtest/gtest.h"
#include "kernels/kernel_test_util.h"

namespace smallmind::kernels {
namespace {

class ElementwiseTest : public KernelTest {};
HWY_TARGET_INSTANTIATE_TEST_SUITE_P(ElementwiseTest);

// Add, multiply and scale are single IEEE operations per element: the
// kernels must match scalar float exactly. Axpy may fuse the multiply-add,
// so it gets one rounding of slack.
TEST_P(ElementwiseTest, ArithmeticMatchesScalar) {
  for (size_t n : kTestSizes) {
    const std::vector<float> a = RandomFloats(n, 1), b = RandomFloats(n, 2);
    std::vector<float> out(n);
    Add(a.data(), b.data(), out.data(), n);
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(out[i], a[i] + b[i]) << n << " " << i;
    Multiply(a.data(), b.data(), out.data(), n);
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(out[i], a[i] * b[i]) << n << " " << i;
    out = b;
    AddInPlace(a.data(), out.data(), n);
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(out[i], b[i] + a[i]);
    out = a;
    Scale(0.37f, out.data(), n);
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(out[i], a[i] * 0.37f);
    out = b;
    Axpy(-1.5f, a.data(), out.data(), n);
    for (size_t i = 0; i < n; ++i) {
      const double expected = double(b[i]) - 1.5 * double(a[i]);
      ASSERT_NEAR(out[i], expected, 4e-7) << n << " " << i;
    }
  }
}

TEST_P(ElementwiseTest, BiasAddBroadcastsOverRows) {
  for (size_t n : kTestSizes) {
    if (n > 4096) continue;
    for (size_t m : {1, 3, 7}) {
      const std::vector<float> rows = RandomFloats(m * n, 3), bias = RandomFloats(n, 4);
      std::vector<float> out = rows;
      BiasAdd(bias.data(), out.data(), m, n);
      for (size_t r = 0; r < m; ++r) {
        for (size_t i = 0; i < n; ++i) {
          ASSERT_EQ(out[r * n + i], rows[r * n + i] + bias[i]);
        }
      }
    }
  }
}

// Random bit patterns (all exponents, subnormals, inf, NaN), plus the
// sizes sweep, against the scalar definitions in core/half.h.
std::vector<float> RandomBitFloats(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<float> v(n);
  for (float& x : v) x = core::BitsToFloat(rng());
  return v;
}

TEST_P(ElementwiseTest, F16ConversionMatchesScalarBitForBit) {
  for (size_t n : kTestSizes) {
    const std::vector<float> in = RandomBitFloats(n, 5);
    std::vector<uint16_t> half(n);
    F32ToF16(in.data(), half.data(), n);
    for (size_t i = 0; i < n; ++i) {
      ASSERT_EQ(half[i], core::F32ToF16(in[i])) << "f=" << in[i];
    }
  }
  std::vector<uint16_t> all(65536);
  for (uint32_t h = 0; h < 65536; ++h) all[h] = static_cast<uint16_t>(h);
  std::vector<float> back(all.size());
  F16ToF32(all.data(), back.data(), all.size());
  for (uint32_t h = 0; h < 65536; ++h) {
    ASSERT_EQ(core::FloatBits(back[h]), core::FloatBits(core::F16ToF32(all[h])))
        << "h=" << h;
  }
}

TEST_P(ElementwiseTest, BF16ConversionMatchesScalarBitForBit) {
  for (size_t n : kTestSizes) {
    const std::vector<float> in = RandomBitFloats(n, 6);
    std::vector<uint16_t> bf(n);
    F32ToBF16(in.data(), bf.data(), n);
    std::vector<float> back(n);
    BF16ToF32(bf.data(), back.data(), n);
    for (size_t i = 0; i < n; ++i) {
      ASSERT_EQ(bf[i], core::F32ToBF16(in[i])) << "f=" << in[i];
      ASSERT_EQ(core::FloatBits(back[i]), core::FloatBits(core::BF16ToF32(bf[i])));
    }
  }
}

TEST_P(ElementwiseTest, ConversionKeepsSpecialValues) {
  const float in[] = {std::numeric_limits<float>::quiet_NaN(),
                      std::numeric_limits<float>::infinity(), -0.0f, 65520.0f,
                      1e-8f};
  uint16_t h[5], b[5];
  float back[5];
  F32ToF16(in, h, 5);
  F16ToF32(h, back, 5);
  EXPECT_TRUE(std::isnan(back[0]));
  EXPECT_TRUE(std::isinf(back[1]));
  EXPECT_TRUE(std::signbit(back[2]));
  EXPECT_TRUE(std::isinf(back[3]));
  EXPECT_EQ(h[4], 0x0000);  // below half the smallest subnormal
  F32ToBF16(in, b, 5);
  BF16ToF32(b, back, 5);
  EXPECT_TRUE(std::isnan(back[0]));
  EXPECT_TRUE(std::isinf(back[1]));
}

}  // namespace
}  // namespace smallmind::kernels
