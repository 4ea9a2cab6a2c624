#include "report/compare.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace smallmind::report {
namespace {

using ::testing::HasSubstr;

Metric M(std::vector<double> samples, bool higher_is_better = true) {
  Metric m;
  m.unit = "tok/s";
  m.higher_is_better = higher_is_better;
  m.samples = std::move(samples);
  return m;
}

TEST(CompareTest, KnownDeltasAreClassified) {
  const MetricSet base = {{"decode", M({100, 100, 100})},
                          {"prefill", M({200, 200, 200})},
                          {"latency_ms", M({10, 10, 10}, false)},
                          {"rss", M({50, 50, 50}, false)}};
  const MetricSet cur = {{"decode", M({90, 90, 90})},       // -10%: worse
                         {"prefill", M({230, 230, 230})},   // +15%: better
                         {"latency_ms", M({9, 9, 9}, false)},  // -10%: better
                         {"rss", M({51, 51, 51}, false)}};  // +2%: in threshold
  const Comparison c = Compare(base, cur, 5.0);
  ASSERT_EQ(c.metrics.size(), 4u);
  EXPECT_EQ(c.metrics[0].name, "decode");  // regressions first
  EXPECT_EQ(c.metrics[0].change, Change::kRegressed);
  EXPECT_NEAR(c.metrics[0].delta_percent, -10.0, 1e-9);
  auto find = [&](const std::string& name) {
    for (const MetricComparison& m : c.metrics) if (m.name == name) return m;
    return MetricComparison();
  };
  EXPECT_EQ(find("prefill").change, Change::kImproved);
  EXPECT_NEAR(find("prefill").delta_percent, 15.0, 1e-9);
  EXPECT_EQ(find("latency_ms").change, Change::kImproved);
  EXPECT_EQ(find("rss").change, Change::kUnchanged);
  EXPECT_EQ(c.verdict, "REGRESSED");
  EXPECT_TRUE(c.regressed());
}

TEST(CompareTest, VerdictsWithoutRegressions) {
  const MetricSet base = {{"a", M({100})}};
  EXPECT_EQ(Compare(base, {{"a", M({120})}}, 5).verdict, "IMPROVED");
  EXPECT_EQ(Compare(base, {{"a", M({103})}}, 5).verdict, "STABLE");
  EXPECT_EQ(Compare(base, {{"a", M({94})}}, 5).verdict, "REGRESSED");
  EXPECT_EQ(Compare(base, {{"a", M({94})}}, 10).verdict, "STABLE");
}

TEST(CompareTest, NoisyMetricsNeedAChangeBeyondTheirSpread) {
  // Medians 100 -> 88 (-12%), but the baseline ranged 85..115 (30% wide):
  // inside the noise, so Unchanged.
  const MetricSet noisy_base = {{"decode", M({85, 100, 115, 95, 105})}};
  const MetricSet noisy_cur = {{"decode", M({80, 88, 95, 86, 90})}};
  Comparison c = Compare(noisy_base, noisy_cur, 5.0);
  EXPECT_EQ(c.metrics[0].change, Change::kUnchanged);
  EXPECT_NEAR(c.metrics[0].band_percent, 30.0, 1e-9);
  EXPECT_EQ(c.verdict, "STABLE");
  // The same -12% from tight runs is a regression.
  c = Compare({{"decode", M({99, 100, 101})}}, {{"decode", M({87, 88, 89})}}, 5.0);
  EXPECT_EQ(c.metrics[0].change, Change::kRegressed);
  // The median resists one outlier.
  c = Compare({{"decode", M({100, 100, 100, 100, 100})}},
              {{"decode", M({101, 100, 2, 100, 99})}}, 5.0);
  EXPECT_NEAR(c.metrics[0].delta_percent, 0.0, 1e-9);
}

TEST(CompareTest, MissingAndNewMetricsAreListed) {
  const Comparison c = Compare({{"old", M({1})}, {"both", M({1})}},
                               {{"new", M({1})}, {"both", M({1})}}, 5);
  EXPECT_EQ(c.only_in_baseline, std::vector<std::string>{"old"});
  EXPECT_EQ(c.only_in_current, std::vector<std::string>{"new"});
  EXPECT_THAT(ComparisonMarkdown(c, 5), HasSubstr("Only in the baseline: old"));
}

TEST(CompareTest, ParsesProfileReports) {
  absl::StatusOr<MetricSet> m = ParseMetrics(R"({"metrics": {
      "decode_tokens_per_second": {"unit": "tok/s", "higher_is_better": true,
                                   "samples": [10, 12, 11]},
      "peak_rss_bytes": {"unit": "B", "higher_is_better": false, "samples": [5]}}})");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_DOUBLE_EQ(m->at("decode_tokens_per_second").Median(), 11);
  EXPECT_FALSE(m->at("peak_rss_bytes").higher_is_better);
  EXPECT_FALSE(ParseMetrics("[1, 2]").ok());
  EXPECT_FALSE(ParseMetrics("{\"metrics\": {\"x\": {\"samples\": []}}}").ok());
  EXPECT_THAT(ParseMetrics("{}").status().message(), HasSubstr("neither"));
}

TEST(CompareTest, ParsesGoogleBenchmarkRepetitions) {
  absl::StatusOr<MetricSet> m = ParseMetrics(R"({"context": {}, "benchmarks": [
      {"name": "BM_Add/10000", "run_name": "BM_Add/10000", "run_type": "iteration",
       "real_time": 1.5, "time_unit": "us"},
      {"name": "BM_Add/10000", "run_name": "BM_Add/10000", "run_type": "iteration",
       "real_time": 1.7, "time_unit": "us"},
      {"name": "BM_Add/10000_mean", "run_name": "BM_Add/10000", "run_type": "aggregate",
       "aggregate_name": "mean", "real_time": 1.6, "time_unit": "us"},
      {"name": "BM_Dot", "real_time": 900, "time_unit": "ns"}]})");
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->size(), 2u);
  EXPECT_EQ(m->at("BM_Add/10000").samples, (std::vector<double>{1500, 1700}));
  EXPECT_FALSE(m->at("BM_Dot").higher_is_better);
  // Slower benchmark times are regressions.
  const Comparison c = Compare(*m, {{"BM_Dot", [] {
                                       Metric x = M({1200}, false);
                                       x.unit = "ns";
                                       return x;
                                     }()}},
                               5);
  EXPECT_EQ(c.metrics[0].change, Change::kRegressed);
}

}  // namespace
}  // namespace smallmind::report
