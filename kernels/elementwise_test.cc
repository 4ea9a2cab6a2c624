#include "kernels/elementwise.h"

#include <cmath>
#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/kernel_test_util.h"

namespace smallmind::kernels {
namespace {

class ElementwiseTest : public KernelTest {};
HWY_TARGET_INSTANTIATE_TEST_SUITE_P(ElementwiseTest);

// Adds are single IEEE operations per element: the
// kernels must match scalar float exactly. Axpy may fuse the multiply-add,
// so it gets one rounding of slack.
TEST_P(ElementwiseTest, ArithmeticMatchesScalar) {
  for (size_t n : kTestSizes) {
    const std::vector<float> a = RandomFloats(n, 1), b = RandomFloats(n, 2);
    std::vector<float> out(n);
    Add(a.data(), b.data(), out.data(), n);
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(out[i], a[i] + b[i]) << n << " " << i;
    out = b;
    AddInPlace(a.data(), out.data(), n);
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(out[i], b[i] + a[i]);
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
      // Rows with a stride: the columns past n stay as they were.
      const size_t stride = n + 5;
      const std::vector<float> rows = RandomFloats(m * stride, 3), bias = RandomFloats(n, 4);
      std::vector<float> out = rows;
      BiasAdd(bias.data(), out.data(), m, n, stride);
      for (size_t r = 0; r < m; ++r) {
        for (size_t i = 0; i < stride; ++i) {
          ASSERT_EQ(out[r * stride + i], rows[r * stride + i] + (i < n ? bias[i] : 0.0f));
        }
      }
    }
  }
}

}  // namespace
}  // namespace smallmind::kernels
