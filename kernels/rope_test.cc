#include "kernels/rope.h"

#include <vector>

#include "gtest/gtest.h"
#include "kernels/kernel_test_util.h"
#include "kernels/reference.h"

namespace smallmind::kernels {
namespace {

class RopeTest : public KernelTest {};
HWY_TARGET_INSTANTIATE_TEST_SUITE_P(RopeTest);

struct Geometry {
  size_t head_dim, rotary_dim, heads;
};

// Head sizes of real models (64, 128, stories15m's 48), odd pair counts,
// and partial rotation (rotary_dim < head_dim).
constexpr Geometry kGeometries[] = {
    {2, 2, 1}, {14, 14, 3}, {48, 48, 6}, {64, 64, 2},
    {128, 128, 4}, {64, 32, 2}, {34, 30, 5},
};

// cos/sin are rounded to float once per table entry, so each output is
// within a few float roundings of the double reference.
constexpr double kTolerance = 2e-6;

template <class Kernel, class Reference>
void Check(Kernel kernel, Reference ref) {
  for (const Geometry& g : kGeometries) {
    auto table = RopeTable::Make(g.rotary_dim, 300, 10000.0);
    ASSERT_TRUE(table.ok()) << table.status();
    for (size_t pos : {0, 1, 17, 299}) {
      const std::vector<float> x = RandomFloats(g.heads * g.head_dim, 41 + pos);
      std::vector<float> y = x;
      kernel(y.data(), g.heads, g.head_dim, *table, pos);
      for (size_t h = 0; h < g.heads; ++h) {
        const std::vector<double> expected =
            ref(x.data() + h * g.head_dim, g.head_dim, g.rotary_dim, 10000.0, pos);
        for (size_t i = 0; i < g.head_dim; ++i) {
          ASSERT_NEAR(y[h * g.head_dim + i], expected[i], kTolerance)
              << "head_dim=" << g.head_dim << " pos=" << pos << " i=" << i;
        }
      }
    }
  }
}

TEST_P(RopeTest, PairwiseMatchesReference) {
  Check(RopePairwise, reference::RopePairwise);
}

TEST_P(RopeTest, RotateHalfMatchesReference) {
  Check(RopeRotateHalf, reference::RopeRotateHalf);
}

TEST(RopeTableTest, RejectsBadParameters) {
  EXPECT_FALSE(RopeTable::Make(0, 10, 10000.0).ok());
  EXPECT_FALSE(RopeTable::Make(7, 10, 10000.0).ok());
  EXPECT_FALSE(RopeTable::Make(8, 0, 10000.0).ok());
  EXPECT_FALSE(RopeTable::Make(8, 10, 1.0).ok());
}

TEST(RopeTableTest, PositionZeroIsIdentity) {
  auto table = RopeTable::Make(8, 4, 10000.0);
  ASSERT_TRUE(table.ok());
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(table->cos(0)[i], 1.0f);
    EXPECT_EQ(table->sin(0)[i], 0.0f);
  }
}

}  // namespace
}  // namespace smallmind::kernels
