// smallmind profile: generation with per-op timing, as JSON, Markdown and an
// SVG chart; and --compare, which classifies each metric of two reports as
// Improved, Unchanged or Regressed and exits non-zero on a regression.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/file_util.h"
#include "core/profiler.h"
#include "nlohmann/json.hpp"
#include "report/compare.h"
#include "report/svg.h"
#include "runtime/loaded_model.h"
#include "runtime/session.h"
#include "tools/smallmind/commands.h"
#include "tools/smallmind/load_model.h"

namespace smallmind::cli {
namespace {

struct ProfileArgs {
  ModelArgs model;
  std::string prompt = "Once upon a time";
  int32_t tokens = 0;
  int32_t repetitions = 5;
  std::string out_dir;
  bool compare = false;
  double threshold = 5.0;
  int32_t regression_exit_code = 1;
  runtime::SessionOptions session;

  template <class Visitor>
  void VisitFields(Visitor&& v) {
    model.VisitFields(v);
    v(prompt, {"prompt", 'p', nullptr, "prompt to prefill"});
    v(tokens, {"n-predict", 'n', nullptr, "tokens to generate; 0: as many as the context holds"});
    v(repetitions, {"repetitions", 'r', nullptr,
                    "runs; metrics report the median and the min-max range"});
    v(out_dir, {"out-dir", 'o', nullptr,
                "write profile.json, profile.md and profile.svg here (created if missing)"});
    session.VisitFields(v);
    v(compare, {"compare", 0, nullptr,
                "compare two reports: smallmind profile --compare BASE.json CUR.json"});
    v(threshold, {"threshold", 0, nullptr, "--compare: % change below which a metric is Unchanged"});
    v(regression_exit_code, {"regression-exit-code", 0, nullptr,
                             "--compare: exit code when any metric regressed"});
  }
};

int RunCompare(const ProfileArgs& args, const std::vector<std::string>& positional) {
  if (positional.size() != 2) {
    return Fail("profile", absl::InvalidArgumentError(
                               "--compare takes BASELINE.json CURRENT.json"));
  }
  report::MetricSet sets[2];
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<std::string> text = core::ReadFileToString(positional[i]);
    if (!text.ok()) return Fail("profile", text.status());
    absl::StatusOr<report::MetricSet> m = report::ParseMetrics(*text);
    if (!m.ok()) {
      return Fail("profile", absl::InvalidArgumentError(
                                 absl::StrCat(positional[i], ": ", m.status().message())));
    }
    sets[i] = std::move(*m);
  }
  const report::Comparison c = report::Compare(sets[0], sets[1], args.threshold);
  absl::PrintF("%s", report::ComparisonMarkdown(c, args.threshold));
  return c.regressed() ? args.regression_exit_code : 0;
}

// What the runs measured: whole-run metrics (one sample per run) and each
// run's per-op totals.
struct Runs {
  std::vector<report::Metric> metrics;
  std::vector<std::string> metric_names;
  std::vector<std::vector<core::Profiler::OpStats>> ops;  // per run
  std::vector<double> layer_ms;                           // the last run's
  runtime::GenerationStats last;
};

void AddMetric(Runs& runs, std::string name, std::string unit, bool higher_is_better,
               std::vector<double> samples) {
  runs.metric_names.push_back(std::move(name));
  runs.metrics.push_back({std::move(unit), higher_is_better, std::move(samples)});
}

absl::StatusOr<Runs> Measure(const ProfileArgs& args, const runtime::LoadedModel& loaded) {
  Runs runs;
  std::vector<double> decode, prefill, ttft;
  core::Profiler profiler;
  for (int rep = 0; rep < args.repetitions; ++rep) {
    absl::StatusOr<std::unique_ptr<runtime::Session>> session =
        runtime::Session::Create(*loaded.transformer, *loaded.tokenizer, args.session);
    if (!session.ok()) return session.status();
    runtime::GenerateOptions options;
    options.sampler.seed = 1;
    options.context_shift = false;  // time plain decode steps only
    options.max_tokens = args.tokens > 0 ? args.tokens : (*session)->context();
    profiler.Clear();
    absl::StatusOr<runtime::GenerationStats> stats;
    {
      core::ScopedProfiler install(&profiler);
      stats = (*session)->Generate(args.prompt, options,
                                   [](absl::string_view) { return true; });
    }
    if (!stats.ok()) return stats.status();
    decode.push_back(stats->decode_tokens_per_second());
    prefill.push_back(stats->prefill_tokens_per_second());
    ttft.push_back(stats->ttft_seconds * 1e3);
    runs.ops.push_back(profiler.Summarize());
    runs.layer_ms = profiler.LayerMilliseconds();
    runs.last = *stats;
  }
  AddMetric(runs, "decode_tokens_per_second", "tok/s", true, decode);
  AddMetric(runs, "prefill_tokens_per_second", "tok/s", true, prefill);
  AddMetric(runs, "time_to_first_token_ms", "ms", false, ttft);
  AddMetric(runs, "load_ms", "ms", false, {loaded.load_seconds * 1e3});
  AddMetric(runs, "arena_high_water_bytes", "B", false,
            {static_cast<double>(runs.last.arena_high_water)});
  AddMetric(runs, "decode_heap_allocations", "", false,
            {static_cast<double>(runs.last.decode_heap_allocations)});
  AddMetric(runs, "peak_rss_bytes", "B", false, {static_cast<double>(PeakRssBytes())});
  return runs;
}

// One op's row: the median over runs of each run's figures.
struct OpRow {
  std::string name;
  int64_t calls = 0;
  report::Metric total_ms{"ms", false, {}};
  double mean_us = 0, median_us = 0, gflops = 0, gbps = 0;
};

std::vector<OpRow> OpRows(const Runs& runs) {
  std::vector<OpRow> rows;
  for (const core::Profiler::OpStats& s : runs.ops.back()) {
    OpRow row;
    row.name = core::ProfileOpName(s.op);
    row.calls = s.count;
    report::Metric mean, median, gflops, gbps;
    for (const auto& run : runs.ops) {
      for (const core::Profiler::OpStats& r : run) {
        if (r.op != s.op) continue;
        row.total_ms.samples.push_back(r.total_ms);
        mean.samples.push_back(r.mean_us);
        median.samples.push_back(r.median_us);
        gflops.samples.push_back(r.gflops);
        gbps.samples.push_back(r.gbps);
      }
    }
    row.mean_us = mean.Median();
    row.median_us = median.Median();
    row.gflops = gflops.Median();
    row.gbps = gbps.Median();
    rows.push_back(std::move(row));
  }
  std::sort(rows.begin(), rows.end(), [](const OpRow& a, const OpRow& b) {
    return a.total_ms.Median() > b.total_ms.Median();
  });
  return rows;
}

std::string Markdown(const std::string& title, const ProfileArgs& args, const Runs& runs,
                     const std::vector<OpRow>& ops, const runtime::LoadedModel& loaded) {
  std::string md = absl::StrFormat(
      "# SmallMind profile\n\n%s; prompt of %d tokens, %d generated, %d runs.\n\n"
      "## Key metrics\n\n| metric | median | min–max |\n| --- | ---: | ---: |\n",
      title, runs.last.prompt_tokens, runs.last.generated_tokens, args.repetitions);
  for (size_t i = 0; i < runs.metrics.size(); ++i) {
    const report::Metric& m = runs.metrics[i];
    absl::StrAppendFormat(&md, "| %s | %.4g %s | %.4g–%.4g |\n", runs.metric_names[i],
                          m.Median(), m.unit, m.Min(), m.Max());
  }
  double ops_ms = 0;
  for (const OpRow& o : ops) ops_ms += o.total_ms.Median();
  absl::StrAppendFormat(&md,
                        "\n## Top ops\n\nTime per run (median of %d); attention is one "
                        "fused kernel (scores, softmax and the weighted sum).\n\n"
                        "| op | share | calls | total ms | mean µs | median µs | "
                        "GFLOP/s | GB/s |\n| --- | ---: | ---: | ---: | ---: | ---: | "
                        "---: | ---: |\n",
                        args.repetitions);
  for (const OpRow& o : ops) {
    absl::StrAppendFormat(&md, "| %s | %.1f%% | %d | %.3f | %.2f | %.2f | %s | %s |\n",
                          o.name, ops_ms > 0 ? 100 * o.total_ms.Median() / ops_ms : 0,
                          o.calls, o.total_ms.Median(), o.mean_us, o.median_us,
                          o.gflops > 0 ? absl::StrFormat("%.2f", o.gflops) : "",
                          o.gbps > 0 ? absl::StrFormat("%.2f", o.gbps) : "");
  }
  md += "\n## Layers\n\n| layer | ms per run |\n| --- | ---: |\n";
  for (size_t l = 0; l < runs.layer_ms.size(); ++l) {
    absl::StrAppendFormat(&md, "| %d | %.3f |\n", l, runs.layer_ms[l]);
  }
  absl::StrAppendFormat(
      &md,
      "\n## Memory\n\n| what | size |\n| --- | ---: |\n| model file (mapped) | %s |\n"
      "| KV cache | %s |\n| scratch arena high-water | %s |\n| peak RSS | %s |\n"
      "| heap allocations during decode | %d |\n",
      HumanBytes(loaded.model->data().size_bytes()), HumanBytes(runs.last.kv_cache_bytes),
      HumanBytes(runs.last.arena_high_water), HumanBytes(PeakRssBytes()),
      runs.last.decode_heap_allocations);
  return md;
}

// What --compare reads (report::ParseMetrics): every metric with its
// samples, each op's total as a metric too, and the op table.
std::string Json(const ProfileArgs& args, const Runs& runs, const std::vector<OpRow>& ops,
                 const runtime::LoadedModel& loaded) {
  nlohmann::json j;
  j["tool"] = "smallmind profile";
  j["model"] = loaded.path;
  j["backend"] = std::string(loaded.backend->name());
  j["threads"] = args.session.threads;
  j["repetitions"] = args.repetitions;
  auto& metrics = j["metrics"] = nlohmann::json::object();
  auto add = [&](const std::string& name, const report::Metric& m) {
    metrics[name] = {{"unit", m.unit},
                     {"higher_is_better", m.higher_is_better},
                     {"samples", m.samples}};
  };
  for (size_t i = 0; i < runs.metrics.size(); ++i) add(runs.metric_names[i], runs.metrics[i]);
  for (const OpRow& o : ops) add(absl::StrCat("op.", o.name, ".ms"), o.total_ms);
  auto& table = j["ops"] = nlohmann::json::array();
  for (const OpRow& o : ops) {
    table.push_back({{"op", o.name},
                     {"calls", o.calls},
                     {"total_ms", o.total_ms.Median()},
                     {"mean_us", o.mean_us},
                     {"median_us", o.median_us},
                     {"gflops", o.gflops},
                     {"gbps", o.gbps}});
  }
  return j.dump(2) + "\n";
}

absl::Status WriteReports(const std::string& dir, const std::string& title,
                          const std::vector<OpRow>& ops, const std::string& md,
                          const std::string& json) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot create ", dir, ": ", error.message()));
  }
  std::vector<std::pair<std::string, double>> bars;
  for (const OpRow& o : ops) bars.push_back({o.name, o.total_ms.Median()});
  for (const auto& [name, text] :
       {std::pair<std::string, std::string>{"profile.json", json},
        {"profile.md", md},
        {"profile.svg", report::BarChartSvg("Time per op: " + title, "ms", bars)}}) {
    absl::Status s = core::WriteStringToFile(dir + "/" + name, text);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

int RunProfile(const ProfileArgs& args, const std::vector<std::string>& positional) {
  if (!positional.empty()) {
    return Fail("profile", absl::InvalidArgumentError("unexpected argument " + positional[0]));
  }
  if (args.repetitions < 1) {
    return Fail("profile", absl::InvalidArgumentError("-r must be >= 1"));
  }
  absl::StatusOr<runtime::LoadedModel> loaded =
      LoadModel(args.model);
  if (!loaded.ok()) return Fail("profile", loaded.status());
  absl::StatusOr<Runs> runs = Measure(args, *loaded);
  if (!runs.ok()) return Fail("profile", runs.status());
  const std::vector<OpRow> ops = OpRows(*runs);
  const model::Model& model = *loaded->model;
  const std::string title = absl::StrFormat(
      "%s (%s, %s params, %s) on %s, %d thread(s)", loaded->path, model.arch().name(),
      HumanCount(model.num_parameters()), core::DTypeName(model.weight_dtype()),
      loaded->backend->name(), args.session.threads);
  const std::string md = Markdown(title, args, *runs, ops, *loaded);
  absl::PrintF("%s", md);
  if (!args.out_dir.empty()) {
    const absl::Status s =
        WriteReports(args.out_dir, title, ops, md, Json(args, *runs, ops, *loaded));
    if (!s.ok()) return Fail("profile", s);
    absl::FPrintF(stderr, "wrote %s/profile.{json,md,svg}\n", args.out_dir);
  }
  return 0;
}

int Run(const std::vector<std::string>& argv) {
  ProfileArgs args;
  Flags flags;
  flags.Add(args);
  std::vector<std::string> positional;
  if (int code; !ParseFlags(ProfileCommand(), flags, argv, &positional, &code)) return code;
  return args.compare ? RunCompare(args, positional) : RunProfile(args, positional);
}

}  // namespace

Command ProfileCommand() {
  return {"profile",
          "smallmind profile -m MODEL.smm [-n N] [-t T] [-r 5] [--out-dir DIR]\n"
          "       smallmind profile --compare BASELINE.json CURRENT.json "
          "[--threshold 5]",
          "time generation per op (JSON, Markdown, SVG), or compare two reports", Run};
}

}  // namespace smallmind::cli
