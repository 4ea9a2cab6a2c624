#include "kernels/norm.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/kernel_test_util.h"
#include "kernels/reference.h"

namespace smallmind::kernels {
namespace {

class NormTest : public KernelTest {};
HWY_TARGET_INSTANTIATE_TEST_SUITE_P(NormTest);

// Outputs are O(|w|·3); float sums over 1e5 elements keep ~1e-6 relative
// error in mean and variance, so 2e-5·(1 + |expected|) is ample.
double Tolerance(double expected) { return 2e-5 * (1.0 + std::fabs(expected)); }

TEST_P(NormTest, LayerNormMatchesReference) {
  for (size_t n : kTestSizes) {
    if (n == 0) continue;
    // An offset mean checks that the one-pass variance (sums of x - x[0])
    // does not cancel.
    const std::vector<float> x = RandomFloats(n, 31, 5.0f, 9.0f);
    const std::vector<float> w = RandomFloats(n, 32, 0.5f, 1.5f);
    const std::vector<float> b = RandomFloats(n, 33);
    std::vector<float> y(n);
    LayerNorm(x.data(), w.data(), b.data(), 1e-5f, y.data(), n);
    const std::vector<double> ref =
        reference::LayerNorm(x.data(), w.data(), b.data(), 1e-5, n);
    for (size_t i = 0; i < n; ++i) ASSERT_NEAR(y[i], ref[i], Tolerance(ref[i])) << n;
    std::vector<float> z = x;
    LayerNorm(z.data(), w.data(), b.data(), 1e-5f, z.data(), n);
    ASSERT_EQ(z, y);
  }
}

TEST_P(NormTest, LayerNormOfAFarOffsetRow) {
  for (size_t n : {size_t{7}, size_t{4096}, size_t{100003}}) {
    const std::vector<float> x = RandomFloats(n, 34, 999.0f, 1001.0f);
    const std::vector<float> w(n, 1.0f), b(n, 0.0f);
    std::vector<float> y(n);
    LayerNorm(x.data(), w.data(), b.data(), 1e-5f, y.data(), n);
    const std::vector<double> ref =
        reference::LayerNorm(x.data(), w.data(), b.data(), 1e-5, n);
    // The mean, rounded to float near 1000, is off by up to 3e-5: divided by
    // the stddev (0.58) that is 5e-5 on every output, whatever the variance.
    for (size_t i = 0; i < n; ++i) ASSERT_NEAR(y[i], ref[i], 1e-4) << n;
  }
}

TEST_P(NormTest, RmsNormMatchesReference) {
  for (size_t n : kTestSizes) {
    if (n == 0) continue;
    const std::vector<float> x = RandomFloats(n, 34, -3.0f, 3.0f);
    const std::vector<float> w = RandomFloats(n, 35, 0.5f, 1.5f);
    std::vector<float> y(n);
    RmsNorm(x.data(), w.data(), 1e-6f, y.data(), n);
    const std::vector<double> ref = reference::RmsNorm(x.data(), w.data(), 1e-6, n);
    for (size_t i = 0; i < n; ++i) ASSERT_NEAR(y[i], ref[i], Tolerance(ref[i])) << n;
  }
}

TEST_P(NormTest, ConstantRowNormalisesToBias) {
  std::vector<float> x(33, 4.0f), w(33, 2.0f), b(33, 0.25f), y(33);
  LayerNorm(x.data(), w.data(), b.data(), 1e-5f, y.data(), 33);
  for (float v : y) EXPECT_EQ(v, 0.25f);
  std::vector<float> zeros(33, 0.0f);
  RmsNorm(zeros.data(), w.data(), 1e-6f, y.data(), 33);
  for (float v : y) EXPECT_EQ(v, 0.0f);
}

}  // namespace
}  // namespace smallmind::kernels
