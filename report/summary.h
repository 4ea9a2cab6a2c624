// The executive summary of two performance runs, in the form of the review
// SmallMind was born from: a one-line verdict, the key metrics per model,
// the major wins and critical regressions ranked by impact, every change,
// and a chart of them. Generated from the runs' own files, never typed.
#ifndef SMALLMIND_REPORT_SUMMARY_H_
#define SMALLMIND_REPORT_SUMMARY_H_

#include <string>

#include "absl/status/statusor.h"
#include "report/compare.h"

namespace smallmind::report {

// Every metric of a run directory, each named "<report>/<metric>":
//  - scripts/profile_suite.sh's output: <model>/profile.json (smallmind
//    profile) and *.json (Google Benchmark);
//  - scripts/perf_gate.sh's output: gate.json (instructions per workload,
//    and per op).
// Errors when the directory holds neither.
absl::StatusOr<MetricSet> LoadRunDirectory(const std::string& dir);

struct SummaryInput {
  std::string baseline_label, current_label;  // e.g. commit hashes
  MetricSet baseline, current;
  double threshold_percent = 5.0;
  std::string chart_file;  // the SVG's name, linked from the Markdown
};

// The Markdown report.
std::string ExecutiveSummaryMarkdown(const SummaryInput& input);

// Each metric's change as a bar, improvements to the right in green and
// regressions to the left in red, largest first.
std::string ChangeChartSvg(const SummaryInput& input);

}  // namespace smallmind::report

#endif  // SMALLMIND_REPORT_SUMMARY_H_
