#include "kernels/attention.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/kernel_test_util.h"
#include "kernels/reference.h"

namespace smallmind::kernels {
namespace {

class AttentionTest : public KernelTest {};
HWY_TARGET_INSTANTIATE_TEST_SUITE_P(AttentionTest);

// Against a double-precision softmax(q·K·scale)·V; outputs are convex
// combinations of values in [-1, 1], so 2e-6 absolute covers float rounding
// of the dots, the exp and the sums.
TEST_P(AttentionTest, MatchesReference) {
  for (size_t head_dim : {1, 7, 16, 33, 48, 64, 128}) {
    for (size_t positions : {1, 2, 7, 17, 64, 300}) {
      const size_t stride = head_dim * 3 + 5;  // heads interleaved in a cache
      const std::vector<float> q = RandomFloats(head_dim, 41);
      const std::vector<float> k = RandomFloats(positions * stride, 42);
      const std::vector<float> v = RandomFloats(positions * stride, 43);
      const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
      std::vector<float> scores(positions), out(head_dim);
      AttendHead(q.data(), k.data(), v.data(), stride, positions, head_dim, scale,
                 scores.data(), out.data());
      std::vector<float> logits(positions);
      for (size_t p = 0; p < positions; ++p) {
        logits[p] = static_cast<float>(
            reference::Dot(q.data(), k.data() + p * stride, head_dim) * scale);
      }
      const std::vector<double> probs = reference::Softmax(logits.data(), positions);
      for (size_t i = 0; i < head_dim; ++i) {
        double expected = 0;
        for (size_t p = 0; p < positions; ++p) expected += probs[p] * v[p * stride + i];
        ASSERT_NEAR(out[i], expected, 2e-6)
            << "head_dim " << head_dim << " positions " << positions << " i " << i;
      }
      for (size_t p = 0; p < positions; ++p) ASSERT_NEAR(scores[p], probs[p], 1e-6);
    }
  }
}

TEST_P(AttentionTest, OnePositionReturnsItsValue) {
  const float q[3] = {1, 2, 3}, k[3] = {4, 5, 6}, v[3] = {0.5f, -2, 7};
  float scores[1], out[3];
  AttendHead(q, k, v, 3, 1, 3, 1.0f, scores, out);
  EXPECT_EQ(scores[0], 1.0f);
  EXPECT_EQ(out[0], 0.5f);
  EXPECT_EQ(out[2], 7.0f);
}

}  // namespace
}  // namespace smallmind::kernels
