#include "report/summary.h"

#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace smallmind::report {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Dir(const std::string& name) {
  const std::string dir = std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
  std::filesystem::create_directories(dir + "/small");
  return dir;
}

void WriteProfileRun(const std::string& dir, double decode, double rss, double softmax_ns) {
  ASSERT_TRUE(core::WriteStringToFile(
                  dir + "/small/profile.json",
                  "{\"metrics\": {"
                  "\"decode_tokens_per_second\": {\"unit\": \"tok/s\", \"higher_is_better\": true,"
                  " \"samples\": [" + std::to_string(decode) + "]},"
                  "\"prefill_tokens_per_second\": {\"unit\": \"tok/s\", \"samples\": [1000]},"
                  "\"peak_rss_bytes\": {\"unit\": \"B\", \"higher_is_better\": false,"
                  " \"samples\": [" + std::to_string(rss) + "]}}}")
                  .ok());
  ASSERT_TRUE(core::WriteStringToFile(
                  dir + "/softmax.json",
                  "{\"benchmarks\": [{\"name\": \"BM_Softmax/2048\", \"run_type\": "
                  "\"iteration\", \"real_time\": " + std::to_string(softmax_ns) +
                  ", \"time_unit\": \"ns\"}]}")
                  .ok());
}

TEST(SummaryTest, RanksWinsAndRegressionsByImpact) {
  const std::string base = Dir("base"), cur = Dir("cur");
  WriteProfileRun(base, 100, 100 << 20, 2000);
  WriteProfileRun(cur, 150, 120 << 20, 1000);  // decode +50%, softmax 2x, RSS +20%
  SummaryInput in;
  in.baseline = *LoadRunDirectory(base);
  in.current = *LoadRunDirectory(cur);
  in.baseline_label = "old";
  in.current_label = "new";
  in.chart_file = "summary.svg";
  const std::string md = ExecutiveSummaryMarkdown(in);
  EXPECT_THAT(md, HasSubstr("# Performance report: old → new"));
  EXPECT_THAT(md, HasSubstr("**Verdict: REGRESSED.** 2 metrics improved, 1 regressed"));
  EXPECT_THAT(md, HasSubstr("| small | 100 tok/s → 150 tok/s (+50.0%) | 10 ms → 6.667 ms"));
  // Softmax halved its time (+100% as felt) outranks decode's +50%.
  EXPECT_THAT(md, HasSubstr("## Major wins\n\n1. **softmax/BM_Softmax/2048**"));
  EXPECT_THAT(md, HasSubstr("2. **small/decode_tokens_per_second**"));
  EXPECT_THAT(md, HasSubstr("## Critical regressions\n\n1. **small/peak_rss_bytes**: "
                            "100.0 MiB → 120.0 MiB (+20.0%)"));
  const std::string svg = ChangeChartSvg(in);
  EXPECT_THAT(svg, HasSubstr("<svg"));
  EXPECT_THAT(svg, HasSubstr("#d62728"));  // a regression's bar
  EXPECT_THAT(svg, Not(HasSubstr("prefill")));  // unchanged metrics are not drawn
}

TEST(SummaryTest, ReadsGateRunsAndRejectsEmptyDirectories) {
  const std::string base = Dir("gate_base"), cur = Dir("gate_cur");
  ASSERT_TRUE(core::WriteStringToFile(base + "/gate.json",
                                      "{\"workloads\": {\"Decode32_small-f32\": "
                                      "{\"instructions\": 3200000, \"ops\": {\"matmul\": 2000000}}}}")
                  .ok());
  ASSERT_TRUE(core::WriteStringToFile(cur + "/gate.json",
                                      "{\"workloads\": {\"Decode32_small-f32\": "
                                      "{\"instructions\": 3200000, \"ops\": {\"matmul\": 2000000}}}}")
                  .ok());
  SummaryInput in;
  in.baseline = *LoadRunDirectory(base);
  in.current = *LoadRunDirectory(cur);
  in.threshold_percent = 2;
  const std::string md = ExecutiveSummaryMarkdown(in);
  EXPECT_THAT(md, HasSubstr("**Verdict: STABLE.**"));
  EXPECT_THAT(md, HasSubstr("| Decode32_small-f32 | 3.2 M instr → 3.2 M instr (+0.0%) | "
                            "0.1 M instr → 0.1 M instr"));
  EXPECT_THAT(LoadRunDirectory(Dir("empty")).status().message(), HasSubstr("holds no reports"));
  EXPECT_FALSE(LoadRunDirectory("/no/such/dir").ok());
}

}  // namespace
}  // namespace smallmind::report
