#include "report/summary.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/file_util.h"
#include "nlohmann/json.hpp"
#include "report/svg.h"

namespace smallmind::report {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

void AddPrefixed(const std::string& prefix, const MetricSet& from, MetricSet* to) {
  for (const auto& [name, metric] : from) (*to)[prefix + "/" + name] = metric;
}

// gate.json: {"workloads": {name: {"instructions": N, "ops": {op: N}}}}.
absl::StatusOr<MetricSet> ParseGate(const std::string& text) {
  const Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("workloads") ||
      !j["workloads"].is_object()) {
    return absl::InvalidArgumentError("gate.json has no \"workloads\" object");
  }
  MetricSet out;
  for (const auto& [name, w] : j["workloads"].items()) {
    if (!w.is_object() || !w.contains("instructions") || !w["instructions"].is_number()) {
      return absl::InvalidArgumentError(absl::StrCat("gate.json: workload '", name,
                                                     "' has no instruction count"));
    }
    out["gate/" + name] = {"instr", false, {w["instructions"].get<double>()}};
    if (w.contains("ops") && w["ops"].is_object()) {
      for (const auto& [op, n] : w["ops"].items()) {
        if (n.is_number()) out["gate/" + name + "/" + op] = {"instr", false, {n.get<double>()}};
      }
    }
  }
  return out;
}

// The change as a user feels it, in %, better positive: a speed-up for
// rates, and for times and sizes how many times more fits in the same
// budget (a time halved is +100%, as throughput doubled would be).
double Gain(const MetricComparison& m, const MetricSet& baseline) {
  auto it = baseline.find(m.name);
  const bool higher = it == baseline.end() || it->second.higher_is_better;
  if (m.baseline == 0 || m.current == 0) return higher ? m.delta_percent : -m.delta_percent;
  return 100.0 * (higher ? m.current / m.baseline - 1 : m.baseline / m.current - 1);
}

std::string Value(double v, const std::string& unit) {
  if (unit == "B") {
    return v >= (1 << 20) ? absl::StrFormat("%.1f MiB", v / (1 << 20))
                          : absl::StrFormat("%.0f B", v);
  }
  if (unit == "ns") return v >= 1e6 ? absl::StrFormat("%.3g ms", v / 1e6) : absl::StrFormat("%.4g µs", v / 1e3);
  if (unit == "instr") return absl::StrFormat("%.4g M instr", v / 1e6);
  return absl::StrFormat("%.4g%s%s", v, unit.empty() ? "" : " ", unit);
}

const MetricComparison* Find(const Comparison& c, const std::string& name) {
  for (const MetricComparison& m : c.metrics) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

// "a → b (+x%)" for one metric, converted by `scale` (e.g. tok/s to
// ms/token), or "—".
std::string Cell(const Comparison& c, const std::string& name, const std::string& unit,
                 double (*convert)(double) = nullptr) {
  const MetricComparison* m = Find(c, name);
  if (m == nullptr) return "—";
  double b = m->baseline, v = m->current;
  if (convert != nullptr) {
    b = convert(b);
    v = convert(v);
  }
  const double change = b != 0 ? 100.0 * (v - b) / std::abs(b) : 0;
  return absl::StrFormat("%s → %s (%+.1f%%)", Value(b, unit), Value(v, unit), change);
}

}  // namespace

absl::StatusOr<MetricSet> LoadRunDirectory(const std::string& dir) {
  std::error_code error;
  if (!fs::is_directory(dir, error)) {
    return absl::InvalidArgumentError(absl::StrCat(dir, " is not a directory"));
  }
  if (fs::exists(fs::path(dir) / "gate.json")) {
    absl::StatusOr<std::string> text = core::ReadFileToString((fs::path(dir) / "gate.json").string());
    if (!text.ok()) return text.status();
    return ParseGate(*text);
  }
  MetricSet out;
  std::vector<fs::path> entries;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, error)) entries.push_back(e.path());
  std::sort(entries.begin(), entries.end());
  for (const fs::path& p : entries) {
    fs::path file;
    std::string prefix;
    if (fs::is_directory(p) && fs::exists(p / "profile.json")) {
      file = p / "profile.json";
      prefix = p.filename().string();
    } else if (p.extension() == ".json") {
      file = p;
      prefix = p.stem().string();
    } else {
      continue;
    }
    absl::StatusOr<std::string> text = core::ReadFileToString(file.string());
    if (!text.ok()) return text.status();
    absl::StatusOr<MetricSet> metrics = ParseMetrics(*text);
    if (!metrics.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(file.string(), ": ", metrics.status().message()));
    }
    AddPrefixed(prefix, *metrics, &out);
  }
  if (out.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        dir, " holds no reports (profile_suite.sh's <model>/profile.json and *.json, "
             "or perf_gate.sh's gate.json)"));
  }
  return out;
}

std::string ExecutiveSummaryMarkdown(const SummaryInput& in) {
  const Comparison c = Compare(in.baseline, in.current, in.threshold_percent);
  int improved = 0, regressed = 0;
  for (const MetricComparison& m : c.metrics) {
    improved += m.change == Change::kImproved;
    regressed += m.change == Change::kRegressed;
  }
  std::string md = absl::StrFormat(
      "# Performance report: %s → %s\n\n**Verdict: %s.** %d metrics improved, %d "
      "regressed, %d unchanged, of %d compared (a change counts when it exceeds "
      "%.3g%% and each side's run-to-run spread).\n",
      in.baseline_label, in.current_label, c.verdict, improved, regressed,
      static_cast<int>(c.metrics.size()) - improved - regressed,
      static_cast<int>(c.metrics.size()), in.threshold_percent);

  // Key metrics: one row per profiled model, or per gated decode.
  std::set<std::string> models, decodes;
  for (const MetricComparison& m : c.metrics) {
    const std::string model = m.name.substr(0, m.name.find('/'));
    if (absl::EndsWith(m.name, "/decode_tokens_per_second")) models.insert(model);
    if (absl::StartsWith(m.name, "gate/Decode") &&
        std::count(m.name.begin(), m.name.end(), '/') == 1) {
      decodes.insert(m.name);
    }
  }
  if (!models.empty()) {
    md += "\n## Key metrics\n\n| model | decode | ms per token | prefill | time to first "
          "token | peak memory | heap allocations in decode |\n| --- | --- | --- | --- | "
          "--- | --- | --- |\n";
    for (const std::string& model : models) {
      absl::StrAppendFormat(
          &md, "| %s | %s | %s | %s | %s | %s | %s |\n", model,
          Cell(c, model + "/decode_tokens_per_second", "tok/s"),
          Cell(c, model + "/decode_tokens_per_second", "ms",
               [](double tps) { return tps > 0 ? 1e3 / tps : 0.0; }),
          Cell(c, model + "/prefill_tokens_per_second", "tok/s"),
          Cell(c, model + "/time_to_first_token_ms", "ms"),
          Cell(c, model + "/peak_rss_bytes", "B"),
          Cell(c, model + "/decode_heap_allocations", ""));
    }
  }
  if (!decodes.empty()) {
    md += "\n## Key metrics\n\nInstructions of 32 decoded tokens (callgrind).\n\n"
          "| workload | instructions | per token |\n| --- | --- | --- |\n";
    for (const std::string& name : decodes) {
      absl::StrAppendFormat(&md, "| %s | %s | %s |\n", name.substr(5),
                            Cell(c, name, "instr"),
                            Cell(c, name, "instr", [](double n) { return n / 32; }));
    }
  }

  // Wins and regressions, by impact (the size of the change as users feel it).
  std::vector<const MetricComparison*> wins, losses;
  for (const MetricComparison& m : c.metrics) {
    if (m.change == Change::kImproved) wins.push_back(&m);
    if (m.change == Change::kRegressed) losses.push_back(&m);
  }
  auto by_impact = [&](const MetricComparison* a, const MetricComparison* b) {
    return std::abs(Gain(*a, in.baseline)) > std::abs(Gain(*b, in.baseline));
  };
  std::sort(wins.begin(), wins.end(), by_impact);
  std::sort(losses.begin(), losses.end(), by_impact);
  auto list = [&](const std::vector<const MetricComparison*>& items, size_t limit) {
    std::string out;
    for (size_t i = 0; i < items.size() && i < limit; ++i) {
      const MetricComparison& m = *items[i];
      absl::StrAppendFormat(&out, "%d. **%s**: %s → %s (%+.1f%%)\n", i + 1, m.name,
                            Value(m.baseline, m.unit), Value(m.current, m.unit),
                            m.delta_percent);
    }
    return out.empty() ? std::string("None.\n") : out;
  };
  md += "\n## Major wins\n\n" + list(wins, 10);
  md += "\n## Critical regressions\n\n" + list(losses, 100);
  if (!in.chart_file.empty()) {
    absl::StrAppendFormat(&md, "\n![Change per metric, better to the right](%s)\n",
                          in.chart_file);
  }
  md += "\n" + ComparisonMarkdown(c, in.threshold_percent);
  return md;
}

std::string ChangeChartSvg(const SummaryInput& in) {
  const Comparison c = Compare(in.baseline, in.current, in.threshold_percent);
  std::vector<std::pair<std::string, double>> bars;
  for (const MetricComparison& m : c.metrics) {
    if (m.change != Change::kUnchanged) bars.push_back({m.name, Gain(m, in.baseline)});
  }
  std::sort(bars.begin(), bars.end(),
            [](const auto& a, const auto& b) { return a.second > b.second; });
  return SignedBarChartSvg(
      absl::StrCat("Changed metrics, ", in.baseline_label, " → ", in.current_label,
                   " (better is right)"),
      "%", bars);
}

}  // namespace smallmind::report
