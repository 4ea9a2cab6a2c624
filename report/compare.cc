#include "report/compare.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"

namespace smallmind::report {
namespace {

using Json = nlohmann::json;

double Spread(const Metric& m) {
  const double median = m.Median();
  return median != 0 ? 100.0 * (m.Max() - m.Min()) / std::abs(median) : 0.0;
}

double ToNanoseconds(double value, const std::string& unit) {
  if (unit == "us") return value * 1e3;
  if (unit == "ms") return value * 1e6;
  if (unit == "s") return value * 1e9;
  return value;
}

}  // namespace

double Metric::Median() const {
  if (samples.empty()) return 0;
  std::vector<double> s = samples;
  std::sort(s.begin(), s.end());
  const size_t n = s.size();
  return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}
double Metric::Min() const {
  return samples.empty() ? 0 : *std::min_element(samples.begin(), samples.end());
}
double Metric::Max() const {
  return samples.empty() ? 0 : *std::max_element(samples.begin(), samples.end());
}

const char* ChangeName(Change change) {
  switch (change) {
    case Change::kImproved: return "Improved";
    case Change::kRegressed: return "Regressed";
    default: return "Unchanged";
  }
}

absl::StatusOr<MetricSet> ParseMetrics(absl::string_view text) {
  const Json j = Json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError("not a JSON object");
  }
  MetricSet out;
  if (j.contains("benchmarks") && j["benchmarks"].is_array()) {
    for (const Json& b : j["benchmarks"]) {
      if (!b.is_object() || !b.contains("name") || !b.contains("real_time")) continue;
      if (b.value("run_type", "iteration") != "iteration") continue;  // aggregates
      if (!b["name"].is_string() || !b["real_time"].is_number()) continue;
      // Repetitions share a run_name; plain runs only have a name.
      const std::string name = b.value("run_name", b["name"].get<std::string>());
      Metric& m = out[name];
      m.unit = "ns";
      m.higher_is_better = false;
      m.samples.push_back(ToNanoseconds(b["real_time"].get<double>(),
                                        b.value("time_unit", "ns")));
    }
    if (out.empty()) return absl::InvalidArgumentError("no benchmark runs");
    return out;
  }
  if (!j.contains("metrics") || !j["metrics"].is_object()) {
    return absl::InvalidArgumentError(
        "neither a smallmind profile report (\"metrics\") nor Google "
        "Benchmark output (\"benchmarks\")");
  }
  for (const auto& [name, value] : j["metrics"].items()) {
    if (!value.is_object() || !value.contains("samples") ||
        !value["samples"].is_array() || value["samples"].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("metric '", name, "' has no samples"));
    }
    Metric m;
    m.unit = value.value("unit", "");
    m.higher_is_better = value.value("higher_is_better", true);
    for (const Json& s : value["samples"]) {
      if (!s.is_number()) {
        return absl::InvalidArgumentError(
            absl::StrCat("metric '", name, "' has a non-numeric sample"));
      }
      m.samples.push_back(s.get<double>());
    }
    out[name] = std::move(m);
  }
  return out;
}

Comparison Compare(const MetricSet& baseline, const MetricSet& current,
                   double threshold_percent) {
  Comparison c;
  bool improved = false, regressed = false;
  for (const auto& [name, base] : baseline) {
    auto it = current.find(name);
    if (it == current.end()) {
      c.only_in_baseline.push_back(name);
      continue;
    }
    const Metric& cur = it->second;
    MetricComparison m;
    m.name = name;
    m.unit = base.unit;
    m.baseline = base.Median();
    m.current = cur.Median();
    m.baseline_min = base.Min();
    m.baseline_max = base.Max();
    m.current_min = cur.Min();
    m.current_max = cur.Max();
    m.delta_percent = m.baseline != 0 ? 100.0 * (m.current - m.baseline) / std::abs(m.baseline)
                                      : 0.0;
    m.band_percent = std::max({threshold_percent, Spread(base), Spread(cur)});
    if (std::abs(m.delta_percent) > m.band_percent) {
      const bool better = (m.delta_percent > 0) == base.higher_is_better;
      m.change = better ? Change::kImproved : Change::kRegressed;
      (better ? improved : regressed) = true;
    }
    c.metrics.push_back(m);
  }
  for (const auto& [name, metric] : current) {
    if (!baseline.count(name)) c.only_in_current.push_back(name);
  }
  std::stable_sort(c.metrics.begin(), c.metrics.end(),
                   [](const MetricComparison& a, const MetricComparison& b) {
                     const int ra = a.change == Change::kRegressed ? 0 : 1;
                     const int rb = b.change == Change::kRegressed ? 0 : 1;
                     if (ra != rb) return ra < rb;
                     return std::abs(a.delta_percent) > std::abs(b.delta_percent);
                   });
  c.verdict = regressed ? "REGRESSED" : improved ? "IMPROVED" : "STABLE";
  return c;
}

std::string ComparisonMarkdown(const Comparison& c, double threshold_percent) {
  std::string md = absl::StrFormat(
      "## Comparison with the baseline: %s\n\nThreshold %.1f%%, widened to "
      "each metric's run-to-run spread (max - min) when that is larger.\n\n"
      "| metric | baseline (min–max) | current (min–max) | delta | band | change |\n"
      "| --- | ---: | ---: | ---: | ---: | --- |\n",
      c.verdict, threshold_percent);
  for (const MetricComparison& m : c.metrics) {
    absl::StrAppendFormat(&md,
                          "| %s | %.4g %s (%.4g–%.4g) | %.4g %s (%.4g–%.4g) | %+.1f%% | "
                          "±%.1f%% | %s |\n",
                          m.name, m.baseline, m.unit, m.baseline_min, m.baseline_max,
                          m.current, m.unit, m.current_min, m.current_max,
                          m.delta_percent, m.band_percent, ChangeName(m.change));
  }
  int n = 0;
  for (const MetricComparison& m : c.metrics) {
    if (m.change != Change::kRegressed) continue;
    if (n++ == 0) md += "\n### Regressions, worst first\n\n";
    absl::StrAppendFormat(&md, "%d. %s: %+.1f%% (%.4g → %.4g %s)\n", n, m.name,
                          m.delta_percent, m.baseline, m.current, m.unit);
  }
  for (const std::string& name : c.only_in_baseline) {
    absl::StrAppendFormat(&md, "\nOnly in the baseline: %s", name);
  }
  for (const std::string& name : c.only_in_current) {
    absl::StrAppendFormat(&md, "\nNew in the current run: %s", name);
  }
  return md + "\n";
}

}  // namespace smallmind::report
