#include "kernels/activations.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/kernel_test_util.h"
#include "kernels/reference.h"

namespace smallmind::kernels {
namespace {

class ActivationsTest : public KernelTest {};
HWY_TARGET_INSTANTIATE_TEST_SUITE_P(ActivationsTest);

// Tolerance: ExpClamped is accurate to a few ulp and the division adds one
// rounding, so 2e-6 absolute plus 4e-6 relative to the result covers the
// float path.
double Tolerance(double expected) { return 2e-6 + 4e-6 * std::fabs(expected); }

template <class Kernel, class Reference>
void CheckUnary(Kernel kernel, Reference ref, float lo, float hi) {
  for (size_t n : kTestSizes) {
    const std::vector<float> x = RandomFloats(n, 11, lo, hi);
    std::vector<float> y(n);
    kernel(x.data(), y.data(), n);
    for (size_t i = 0; i < n; ++i) {
      const double expected = ref(x[i]);
      ASSERT_NEAR(y[i], expected, Tolerance(expected))
          << "n=" << n << " x=" << x[i];
    }
    // In place gives the same answer.
    std::vector<float> z = x;
    kernel(z.data(), z.data(), n);
    ASSERT_EQ(z, y);
  }
}

TEST_P(ActivationsTest, GeluTanh) {
  CheckUnary(GeluTanh, reference::GeluTanh, -10.0f, 10.0f);
}

TEST_P(ActivationsTest, GeluErf) {
  CheckUnary(GeluErf, reference::GeluErf, -12.0f, 12.0f);
  CheckUnary(GeluErf, reference::GeluErf, -1.0f, 1.0f);
  const float x[] = {-1e30f, -11.0f, 0.0f, 100.0f, 1e30f};
  float y[5];
  GeluErf(x, y, 5);
  EXPECT_EQ(y[0], 0.0f);
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_EQ(y[2], 0.0f);
  EXPECT_EQ(y[3], 100.0f);
  EXPECT_EQ(y[4], 1e30f);
}

TEST_P(ActivationsTest, SwiGlu) {
  for (size_t n : kTestSizes) {
    const std::vector<float> gate = RandomFloats(n, 12, -8, 8);
    const std::vector<float> up = RandomFloats(n, 13, -2, 2);
    std::vector<float> out(n);
    SwiGlu(gate.data(), up.data(), out.data(), n);
    for (size_t i = 0; i < n; ++i) {
      const double expected = reference::Silu(gate[i]) * up[i];
      ASSERT_NEAR(out[i], expected, 2 * Tolerance(expected));
    }
  }
}

TEST_P(ActivationsTest, GeGlu) {
  for (size_t n : kTestSizes) {
    const std::vector<float> gate = RandomFloats(n, 14, -8, 8);
    const std::vector<float> up = RandomFloats(n, 15, -2, 2);
    std::vector<float> out(n);
    GeGlu(gate.data(), up.data(), out.data(), n);
    for (size_t i = 0; i < n; ++i) {
      const double expected = reference::GeluTanh(gate[i]) * up[i];
      ASSERT_NEAR(out[i], expected, 2 * Tolerance(expected));
    }
  }
}

TEST_P(ActivationsTest, ExtremeInputsStayFinite) {
  const float x[] = {-1e30f, -100.0f, 0.0f, 100.0f, 1e30f};
  float y[5];
  GeluTanh(x, y, 5);
  EXPECT_EQ(y[0], 0.0f);
  EXPECT_NEAR(y[1], 0.0f, 1e-30);
  EXPECT_EQ(y[2], 0.0f);
  EXPECT_EQ(y[3], 100.0f);
  EXPECT_EQ(y[4], 1e30f);
  // SwiGLU with up = 1 is SiLU: silu(x) = x·sigmoid(x).
  const float ones[] = {1.0f, 1.0f, 1.0f, 1.0f, 1.0f};
  SwiGlu(x, ones, y, 5);
  EXPECT_EQ(y[0], 0.0f);
  EXPECT_NEAR(y[1], 0.0f, 1e-30);
  EXPECT_EQ(y[2], 0.0f);
  EXPECT_EQ(y[3], 100.0f);
  EXPECT_EQ(y[4], 1e30f);
}


}  // namespace
}  // namespace smallmind::kernels
