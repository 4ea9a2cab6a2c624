#include "kernels/softmax.h"

#include <cmath>
#include <limits>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/kernel_test_util.h"
#include "kernels/reference.h"

namespace smallmind::kernels {
namespace {

class SoftmaxTest : public KernelTest {};
HWY_TARGET_INSTANTIATE_TEST_SUITE_P(SoftmaxTest);

constexpr float kInf = std::numeric_limits<float>::infinity();

// Each output is within 1e-6 absolute and 1e-5 relative of the double
// reference (Exp's few ulp plus the normalisation's rounding).
void ExpectMatchesReference(const std::vector<float>& x, const float* y, size_t n) {
  const std::vector<double> ref = reference::Softmax(x.data(), n);
  for (size_t i = 0; i < n; ++i) {
    ASSERT_NEAR(y[i], ref[i], 1e-6 + 1e-5 * ref[i]) << "n=" << n << " i=" << i;
  }
}

TEST_P(SoftmaxTest, MatchesReference) {
  for (size_t n : kTestSizes) {
    const std::vector<float> x = RandomFloats(n, 21, -30.0f, 30.0f);
    std::vector<float> y = x;
    Softmax(y.data(), n);
    ExpectMatchesReference(x, y.data(), n);
  }
}

TEST_P(SoftmaxTest, LengthOneIsOne) {
  float x = -123.0f;
  Softmax(&x, 1);
  EXPECT_EQ(x, 1.0f);
}

TEST_P(SoftmaxTest, NegativeInfinityGetsExactlyZero) {
  for (size_t n : kTestSizes) {
    if (n < 2) continue;
    std::vector<float> x = RandomFloats(n, 22, -5, 5);
    for (size_t i = 0; i < n; i += 3) x[i] = -kInf;
    std::vector<float> y = x;
    Softmax(y.data(), n);
    double sum = 0.0;
    for (size_t i = 0; i < n; ++i) {
      if (i % 3 == 0) {
        ASSERT_EQ(y[i], 0.0f);
      }
      sum += y[i];
    }
    EXPECT_NEAR(sum, 1.0, 1e-5);
    ExpectMatchesReference(x, y.data(), n);
  }
}

TEST_P(SoftmaxTest, AllNegativeInfinityGivesZeros) {
  std::vector<float> x(17, -kInf);
  Softmax(x.data(), x.size());
  for (float v : x) EXPECT_EQ(v, 0.0f);
}

TEST_P(SoftmaxTest, LargeLogitsDoNotOverflow) {
  std::vector<float> x = {1e30f, 1e30f, 0.0f};
  Softmax(x.data(), 3);
  EXPECT_FLOAT_EQ(x[0], 0.5f);
  EXPECT_FLOAT_EQ(x[1], 0.5f);
  EXPECT_EQ(x[2], 0.0f);
}

}  // namespace
}  // namespace smallmind::kernels
