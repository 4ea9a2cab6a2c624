// perf_report BASE_DIR CUR_DIR OUT_DIR [--threshold P] [--labels BASE,CUR]:
// the executive summary of two runs (report/summary.h) as OUT_DIR/summary.md
// and OUT_DIR/summary.svg. scripts/perf_report.sh runs it.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "core/file_util.h"
#include "report/summary.h"

int main(int argc, char** argv) {
  using namespace smallmind;
  std::vector<std::string> positional;
  report::SummaryInput in;
  std::vector<std::string> labels;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--threshold" && i + 1 < argc) {
      if (!absl::SimpleAtod(argv[++i], &in.threshold_percent)) {
        std::fprintf(stderr, "perf_report: --threshold takes a number\n");
        return 1;
      }
    } else if (arg == "--labels" && i + 1 < argc) {
      labels = absl::StrSplit(argv[++i], ',');
    } else {
      positional.push_back(arg);
    }
  }
  if (positional.size() != 3) {
    std::fprintf(stderr,
                 "usage: perf_report BASE_DIR CUR_DIR OUT_DIR [--threshold P] "
                 "[--labels BASE,CUR]\n");
    return 1;
  }
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<report::MetricSet> m = report::LoadRunDirectory(positional[i]);
    if (!m.ok()) {
      std::fprintf(stderr, "perf_report: %s\n", std::string(m.status().message()).c_str());
      return 1;
    }
    (i == 0 ? in.baseline : in.current) = *std::move(m);
  }
  in.baseline_label = labels.size() == 2 ? labels[0] : positional[0];
  in.current_label = labels.size() == 2 ? labels[1] : positional[1];
  in.chart_file = "summary.svg";
  std::error_code error;
  std::filesystem::create_directories(positional[2], error);
  for (const auto& [name, text] :
       {std::pair<std::string, std::string>{"summary.md", report::ExecutiveSummaryMarkdown(in)},
        {"summary.svg", report::ChangeChartSvg(in)}}) {
    const absl::Status s = core::WriteStringToFile(positional[2] + "/" + name, text);
    if (!s.ok()) {
      std::fprintf(stderr, "perf_report: %s\n", std::string(s.message()).c_str());
      return 1;
    }
  }
  std::printf("wrote %s/summary.md and summary.svg\n", positional[2].c_str());
  return 0;
}
