#include "kernels/quant.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "core/dtype.h"
#include "gtest/gtest.h"
#include "kernels/kernel_test_util.h"
#include "kernels/reference.h"

namespace smallmind::kernels {
namespace {

using core::BlockQ4_0;
using core::BlockQ8_0;

class QuantTest : public KernelTest {};
HWY_TARGET_INSTANTIATE_TEST_SUITE_P(QuantTest);

// Quantized rows must be whole blocks; the sweep's sizes rounded up to 32.
std::vector<size_t> BlockSizes() {
  std::vector<size_t> sizes;
  for (size_t n : kTestSizes) sizes.push_back((n + 31) / 32 * 32);
  return sizes;
}

// Inputs with a zero block, a block with one huge outlier, and ties at .5
// steps, besides random values.
std::vector<float> QuantInput(size_t n, uint32_t seed) {
  std::vector<float> x = RandomFloats(n, seed, -3.0f, 3.0f);
  if (n >= 64) {
    for (size_t i = 0; i < 32; ++i) x[i] = 0.0f;
    x[40] = 1000.0f;
  }
  if (n >= 96) {
    for (size_t i = 64; i < 96; ++i) x[i] = 0.5f * float(int(i) - 80);
  }
  return x;
}

// Quantization is exact arithmetic on the same float operations as the
// reference, so the blocks must match byte for byte.
TEST_P(QuantTest, QuantizeQ8_0MatchesReferenceBytes) {
  for (size_t n : BlockSizes()) {
    const std::vector<float> x = QuantInput(n, 61);
    std::vector<BlockQ8_0> got(n / 32), expected(n / 32);
    QuantizeQ8_0(x.data(), got.data(), n);
    reference::QuantizeQ8_0(x.data(), expected.data(), n);
    ASSERT_TRUE(got.empty() || std::memcmp(got.data(), expected.data(),
                                           got.size() * sizeof(BlockQ8_0)) == 0)
        << n;
  }
}

TEST_P(QuantTest, QuantizeQ4_0MatchesReferenceBytes) {
  for (size_t n : BlockSizes()) {
    const std::vector<float> x = QuantInput(n, 62);
    std::vector<BlockQ4_0> got(n / 32), expected(n / 32);
    QuantizeQ4_0(x.data(), got.data(), n);
    reference::QuantizeQ4_0(x.data(), expected.data(), n);
    ASSERT_TRUE(got.empty() || std::memcmp(got.data(), expected.data(),
                                           got.size() * sizeof(BlockQ4_0)) == 0)
        << n;
  }
}

// Round trips: the error per element is at most half a quantization step
// (Q8_0: d/2 = max/254; Q4_0: up to one step d = max/8, where +7.5..8 clips
// to 15), plus the f16 rounding of d (relative 2^-11) times |x| ≤ max.
TEST_P(QuantTest, DequantizeRoundTripsWithinHalfAStep) {
  for (size_t n : BlockSizes()) {
    const std::vector<float> x = RandomFloats(n, 63, -2.0f, 2.0f);
    std::vector<BlockQ8_0> q8(n / 32);
    std::vector<BlockQ4_0> q4(n / 32);
    QuantizeQ8_0(x.data(), q8.data(), n);
    QuantizeQ4_0(x.data(), q4.data(), n);
    std::vector<float> y8(n), y4(n), r8(n), r4(n);
    DequantizeQ8_0(q8.data(), y8.data(), n);
    DequantizeQ4_0(q4.data(), y4.data(), n);
    reference::DequantizeQ8_0(q8.data(), r8.data(), n);
    reference::DequantizeQ4_0(q4.data(), r4.data(), n);
    ASSERT_EQ(y8, r8);
    ASSERT_EQ(y4, r4);
    for (size_t i = 0; i < n; ++i) {
      const double f16 = 2.0 / 2048;
      ASSERT_NEAR(y8[i], x[i], 2.0 / 254 + f16);
      ASSERT_NEAR(y4[i], x[i], 2.0 / 8 + f16);
    }
  }
}

// Integer sums are exact; the float accumulation over blocks follows the
// dot-product tolerance, growing with √blocks and the magnitudes.
double BlockDotTolerance(const std::vector<float>& a, const std::vector<float>& b) {
  const double magnitude = reference::DotMagnitude(a.data(), b.data(), a.size());
  return 4.0 * std::sqrt(a.size() / 32.0 + 1.0) * 6e-8 * magnitude + 1e-6;
}

TEST_P(QuantTest, DotQ8_0MatchesReference) {
  for (size_t n : BlockSizes()) {
    std::vector<BlockQ8_0> a(n / 32), b(n / 32);
    QuantizeQ8_0(QuantInput(n, 64).data(), a.data(), n);
    QuantizeQ8_0(QuantInput(n, 65).data(), b.data(), n);
    std::vector<float> da(n), db(n);
    DequantizeQ8_0(a.data(), da.data(), n);
    DequantizeQ8_0(b.data(), db.data(), n);
    ASSERT_NEAR(DotQ8_0(a.data(), b.data(), n),
                reference::DotQ8_0(a.data(), b.data(), n), BlockDotTolerance(da, db))
        << n;
  }
}

TEST_P(QuantTest, DotQ4_0Q8_0MatchesReference) {
  for (size_t n : BlockSizes()) {
    std::vector<BlockQ4_0> w(n / 32);
    std::vector<BlockQ8_0> x(n / 32);
    QuantizeQ4_0(QuantInput(n, 66).data(), w.data(), n);
    QuantizeQ8_0(QuantInput(n, 67).data(), x.data(), n);
    std::vector<float> dw(n), dx(n);
    DequantizeQ4_0(w.data(), dw.data(), n);
    DequantizeQ8_0(x.data(), dx.data(), n);
    ASSERT_NEAR(DotQ4_0Q8_0(w.data(), x.data(), n),
                reference::DotQ4_0Q8_0(w.data(), x.data(), n),
                BlockDotTolerance(dw, dx))
        << n;
  }
}

}  // namespace
}  // namespace smallmind::kernels
