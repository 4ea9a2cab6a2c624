#include "core/profiler.h"

#include <thread>

#include "gtest/gtest.h"

namespace smallmind::core {
namespace {

TEST(ProfilerTest, ScopesRecordOnlyWhenInstalled) {
  Profiler profiler(16);
  { SM_PROFILE_SCOPE(ProfileOp::kNorm, 0, 0, 0); }
  EXPECT_TRUE(profiler.Summarize().empty());
  {
    ScopedProfiler install(&profiler);
    EXPECT_EQ(CurrentProfiler(), &profiler);
    { SM_PROFILE_SCOPE(ProfileOp::kNorm, 0, 0, 1000); }
    { SM_PROFILE_SCOPE(ProfileOp::kNorm, 1, 0, 1000); }
    {
      SM_PROFILE_SCOPE(ProfileOp::kMatMulQkv, 1, 2e6, 0);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  EXPECT_EQ(CurrentProfiler(), nullptr);
  const std::vector<Profiler::OpStats> stats = profiler.Summarize();
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats[0].op, ProfileOp::kMatMulQkv);  // the longest first
  EXPECT_EQ(stats[0].count, 1);
  EXPECT_GE(stats[0].total_ms, 2.0);
  EXPECT_GT(stats[0].gflops, 0);
  EXPECT_LT(stats[0].gflops, 1.0);  // 2 MFLOP in >= 2 ms
  EXPECT_EQ(stats[1].count, 2);
  EXPECT_EQ(stats[1].gflops, 0);
  const std::vector<double> layers = profiler.LayerMilliseconds();
  ASSERT_EQ(layers.size(), 2u);
  EXPECT_GT(layers[1], layers[0]);
}

TEST(ProfilerTest, MedianAndOverflow) {
  Profiler profiler(3);
  for (int64_t ns : {1000, 3000, 2000, 5000}) {
    profiler.Record(ProfileOp::kSampling, -1, ns, 0, 0);
  }
  EXPECT_EQ(profiler.dropped(), 1);
  const std::vector<Profiler::OpStats> stats = profiler.Summarize();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_DOUBLE_EQ(stats[0].median_us, 2.0);
  EXPECT_DOUBLE_EQ(stats[0].mean_us, 2.0);
  EXPECT_TRUE(profiler.LayerMilliseconds().empty());
  profiler.Clear();
  EXPECT_TRUE(profiler.Summarize().empty());
  EXPECT_STREQ(ProfileOpName(ProfileOp::kMatMulLmHead), "matmul lm head");
}

}  // namespace
}  // namespace smallmind::core
