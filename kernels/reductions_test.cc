#include "kernels/reductions.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/kernel_test_util.h"
#include "kernels/reference.h"

namespace smallmind::kernels {
namespace {

class ReductionsTest : public KernelTest {};
HWY_TARGET_INSTANTIATE_TEST_SUITE_P(ReductionsTest);

// Float accumulation error grows like √n·ε times Σ|terms| for random
// inputs; 4√(n+1)·ε·Σ|terms| with float ε bounds it with room to spare.
double SumTolerance(double magnitude, size_t n) {
  return 4.0 * std::sqrt(double(n) + 1.0) * 6e-8 * magnitude + 1e-30;
}

TEST_P(ReductionsTest, DotMatchesReference) {
  for (size_t n : kTestSizes) {
    const std::vector<float> a = RandomFloats(n, 51), b = RandomFloats(n, 52);
    const double expected = reference::Dot(a.data(), b.data(), n);
    const double magnitude = reference::DotMagnitude(a.data(), b.data(), n);
    ASSERT_NEAR(Dot(a.data(), b.data(), n), expected, SumTolerance(magnitude, n))
        << "n=" << n;
  }
}

TEST_P(ReductionsTest, MaxAndArgMaxFindTheFirstMaximum) {
  EXPECT_EQ(Max(nullptr, 0), -std::numeric_limits<float>::infinity());
  EXPECT_EQ(ArgMax(nullptr, 0), 0u);
  for (size_t n : kTestSizes) {
    if (n == 0) continue;
    std::vector<float> x = RandomFloats(n, 54, -100, 100);
    const size_t first = n / 3, second = n - 1;
    x[second] = 500.0f;
    x[first] = 500.0f;  // a tie: the lower index wins
    EXPECT_EQ(Max(x.data(), n), 500.0f);
    EXPECT_EQ(ArgMax(x.data(), n), std::min(first, second)) << n;
  }
}

TEST_P(ReductionsTest, ArgMaxOfAllNegativeInfinity) {
  std::vector<float> x(9, -std::numeric_limits<float>::infinity());
  EXPECT_EQ(ArgMax(x.data(), x.size()), 0u);
}

// std::stable_sort by value descending is the reference order.
std::vector<int32_t> ReferenceTopK(const std::vector<float>& x, size_t k) {
  std::vector<int32_t> idx(x.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(),
                   [&](int32_t a, int32_t b) { return x[a] > x[b]; });
  idx.resize(std::min(k, x.size()));
  return idx;
}

TEST_P(ReductionsTest, TopKMatchesStableSort) {
  for (size_t n : kTestSizes) {
    std::vector<float> x = RandomFloats(n, 55, -10, 10);
    // Quantize to create ties.
    for (float& v : x) v = std::round(v * 4.0f) / 4.0f;
    for (size_t k : {size_t{1}, size_t{5}, size_t{40}, n + 3}) {
      if (k == 0) continue;
      std::vector<float> values(k);
      std::vector<int32_t> indices(k);
      const size_t got = TopK(x.data(), n, k, values.data(), indices.data());
      const std::vector<int32_t> expected = ReferenceTopK(x, k);
      ASSERT_EQ(got, expected.size());
      for (size_t i = 0; i < got; ++i) {
        ASSERT_EQ(indices[i], expected[i]) << "n=" << n << " k=" << k << " i=" << i;
        ASSERT_EQ(values[i], x[expected[i]]);
      }
    }
  }
}

TEST_P(ReductionsTest, TopKSkipsNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float x[] = {nan, 1.0f, nan, 3.0f, 2.0f};
  float values[3];
  int32_t indices[3];
  ASSERT_EQ(TopK(x, 5, 3, values, indices), 3u);
  EXPECT_EQ(indices[0], 3);
  EXPECT_EQ(indices[1], 4);
  EXPECT_EQ(indices[2], 1);
  EXPECT_EQ(TopK(x, 5, 0, values, indices), 0u);
}

}  // namespace
}  // namespace smallmind::kernels
