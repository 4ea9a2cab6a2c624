// Baseline comparison for performance reports: each metric's change in %,
// classified as Improved, Unchanged or Regressed against a threshold that
// widens to the measured noise, and an overall verdict. Reads the JSON of
// `smallmind profile` and of Google Benchmark (--benchmark_format=json,
// with --benchmark_repetitions for noise).
#ifndef SMALLMIND_REPORT_COMPARE_H_
#define SMALLMIND_REPORT_COMPARE_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace smallmind::report {

struct Metric {
  std::string unit;
  bool higher_is_better = true;
  std::vector<double> samples;  // one per repeated run
  double Median() const;
  double Min() const;
  double Max() const;
};

// Metrics by name.
using MetricSet = std::map<std::string, Metric>;

// Parses a `smallmind profile` report ({"metrics": {name: {unit,
// higher_is_better, samples}}}) or Google Benchmark output ({"benchmarks":
// [...]}, real time, lower is better; repetitions become samples).
absl::StatusOr<MetricSet> ParseMetrics(absl::string_view json);

enum class Change { kImproved, kUnchanged, kRegressed };
const char* ChangeName(Change change);

struct MetricComparison {
  std::string name, unit;
  double baseline = 0, current = 0;          // medians
  double baseline_min = 0, baseline_max = 0;
  double current_min = 0, current_max = 0;
  double delta_percent = 0;                  // (current - baseline) / baseline
  double band_percent = 0;                   // what counted as noise
  Change change = Change::kUnchanged;
};

struct Comparison {
  std::vector<MetricComparison> metrics;  // regressions first, then by |delta|
  std::vector<std::string> only_in_baseline, only_in_current;
  std::string verdict;  // "REGRESSED", "IMPROVED" or "STABLE"
  bool regressed() const { return verdict == "REGRESSED"; }
};

// A metric changed when its median moved by more than the band: the
// threshold, or each side's spread (max - min, as a % of its median) if
// wider, so run-to-run noise is never called a change.
Comparison Compare(const MetricSet& baseline, const MetricSet& current,
                   double threshold_percent);

// A Markdown table with the verdict and the regressions listed first.
std::string ComparisonMarkdown(const Comparison& comparison,
                               double threshold_percent);

}  // namespace smallmind::report

#endif  // SMALLMIND_REPORT_COMPARE_H_
