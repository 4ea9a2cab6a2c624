#include "kernels/rope.h"

#include <cmath>
#include <thread>
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

// With `scaled`, each pair's frequency is divided by a factor of its own
// (Llama 3's scaling), from 1 to 8.
template <class Kernel, class Reference>
void Check(Kernel kernel, Reference ref, bool scaled = false) {
  for (const Geometry& g : kGeometries) {
    std::vector<float> factors;
    if (scaled) {
      for (size_t i = 0; i < g.rotary_dim / 2; ++i) factors.push_back(1.0f + 7.0f * i / g.rotary_dim);
    }
    auto table = RopeTable::Make(g.rotary_dim, 300, 10000.0, factors);
    ASSERT_TRUE(table.ok()) << table.status();
    for (size_t pos : {0, 1, 17, 299}) {
      const std::vector<float> x = RandomFloats(g.heads * g.head_dim, 41 + pos);
      std::vector<float> y = x;
      kernel(y.data(), g.heads, g.head_dim, *table, pos);
      for (size_t h = 0; h < g.heads; ++h) {
        const std::vector<double> expected =
            ref(x.data() + h * g.head_dim, g.head_dim, g.rotary_dim, 10000.0, pos,
                factors.empty() ? nullptr : factors.data());
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

TEST_P(RopeTest, FrequencyFactorsDivideEachPairsFrequency) {
  Check(RopePairwise, reference::RopePairwise, /*scaled=*/true);
  Check(RopeRotateHalf, reference::RopeRotateHalf, /*scaled=*/true);
}

TEST(RopeTableTest, RejectsBadParameters) {
  const float one[] = {1.0f}, negative[] = {1.0f, -2.0f};
  EXPECT_FALSE(RopeTable::Make(4, 10, 10000.0, one).ok());       // 1 factor, 2 pairs
  EXPECT_FALSE(RopeTable::Make(4, 10, 10000.0, negative).ok());
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

// Rows are computed when first read, a block at a time: a long context's
// table takes memory only as far as positions are used, and rows read from
// several threads at once are computed once, as the eager formula gives.
TEST(RopeTableTest, RowsAreFilledAsRead) {
  constexpr size_t kPositions = 131072, kDim = 128;
  auto table = RopeTable::Make(kDim, kPositions, 500000.0);
  ASSERT_TRUE(table.ok());
  const size_t whole = 2 * kPositions * (kDim / 2) * sizeof(float);
  EXPECT_LT(table->ResidentBytes(), whole / 64);
  const RopeTable copy = *table;  // copies share the rows
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&copy, t] {
      for (size_t pos = t; pos < 5000; pos += 7) copy.cos(pos);
    });
  }
  for (std::thread& r : readers) r.join();
  EXPECT_LT(table->ResidentBytes(), whole / 8);
  for (size_t pos : {size_t{0}, size_t{4999}, size_t{5000}, size_t{100000}, kPositions - 1}) {
    for (size_t i = 0; i < kDim / 2; i += 9) {
      const double angle = double(pos) * std::pow(500000.0, -2.0 * double(i) / double(kDim));
      EXPECT_EQ(table->cos(pos)[i], static_cast<float>(std::cos(angle))) << pos << " " << i;
      EXPECT_EQ(table->sin(pos)[i], static_cast<float>(std::sin(angle))) << pos << " " << i;
    }
  }
}

}  // namespace
}  // namespace smallmind::kernels
