// smallmind profile: generation with per-op timing, as JSON, Markdown and an
// SVG chart; and --compare, which classifies each metric of two reports as
// Improved, Unchanged or Regressed and exits non-zero on a regression.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/file_util.h"
#include "core/profiler.h"
#include "report/compare.h"
#include "report/svg.h"
#include "runtime/session.h"
#include "runtime/loaded_model.h"
#include "tools/smallmind/commands.h"

ABSL_FLAG(std::string, profile_prompt, "Once upon a time",
          "prompt to prefill");
ABSL_FLAG(int, profile_tokens, 0,
          "tokens to generate; 0: as many as the context holds");
ABSL_FLAG(int, profile_repetitions, 5,
          "runs; metrics report the median and the min-max range");
ABSL_FLAG(std::string, out_dir, "",
          "write profile.json, profile.md and profile.svg here");
ABSL_FLAG(bool, compare, false,
          "compare two reports: smallmind profile --compare BASE.json CUR.json");
ABSL_FLAG(double, threshold, 5.0,
          "--compare: % change below which a metric is Unchanged");
ABSL_FLAG(int, regression_exit_code, 1,
          "--compare: exit code when any metric regressed");

namespace smallmind::cli {
namespace {

using Clock = std::chrono::steady_clock;

int RunCompare(const Args& args) {
  if (args.positional.size() != 2) {
    return Fail("profile", absl::InvalidArgumentError(
                               "--compare takes BASELINE.json CURRENT.json"));
  }
  report::MetricSet sets[2];
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<std::string> text = core::ReadFileToString(args.positional[i]);
    if (!text.ok()) return Fail("profile", text.status());
    absl::StatusOr<report::MetricSet> m = report::ParseMetrics(*text);
    if (!m.ok()) {
      return Fail("profile", absl::InvalidArgumentError(absl::StrCat(
                                 args.positional[i], ": ", m.status().message())));
    }
    sets[i] = std::move(*m);
  }
  const double threshold = absl::GetFlag(FLAGS_threshold);
  const report::Comparison c = report::Compare(sets[0], sets[1], threshold);
  absl::PrintF("%s", report::ComparisonMarkdown(c, threshold));
  return c.regressed() ? absl::GetFlag(FLAGS_regression_exit_code) : 0;
}

struct MetricSamples {
  std::string name, unit;
  bool higher_is_better;
  std::vector<double> samples;
};

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n == 0 ? 0 : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int RunProfile(const Args& args) {
  if (!args.positional.empty()) {
    return Fail("profile", absl::InvalidArgumentError(
                               "unexpected argument " + args.positional[0]));
  }
  const int reps = absl::GetFlag(FLAGS_profile_repetitions);
  if (reps < 1) return Fail("profile", absl::InvalidArgumentError("-r must be >= 1"));
  absl::StatusOr<runtime::LoadedModel> loaded = runtime::LoadedModel::Load(
      absl::GetFlag(FLAGS_model), absl::GetFlag(FLAGS_backend));
  if (!loaded.ok()) return Fail("profile", loaded.status());
  const std::string prompt = absl::GetFlag(FLAGS_profile_prompt);
  const int threads = absl::GetFlag(FLAGS_threads);

  std::vector<MetricSamples> metrics = {
      {"decode_tokens_per_second", "tok/s", true, {}},
      {"prefill_tokens_per_second", "tok/s", true, {}},
      {"time_to_first_token_ms", "ms", false, {}},
      {"load_ms", "ms", false, {loaded->load_seconds * 1e3}},
  };
  core::Profiler profiler;
  std::vector<std::vector<core::Profiler::OpStats>> per_rep;
  std::vector<double> layer_ms;
  runtime::GenerationStats last;
  for (int rep = 0; rep < reps; ++rep) {
    runtime::SessionOptions session_options;
    session_options.threads = threads;
    absl::StatusOr<std::unique_ptr<runtime::Session>> session =
        runtime::Session::Create(*loaded->transformer, *loaded->tokenizer,
                                 session_options);
    if (!session.ok()) return Fail("profile", session.status());
    runtime::GenerateOptions options;
    options.sampler.seed = 1;
    options.context_shift = false;  // time plain decode steps only
    options.max_tokens = absl::GetFlag(FLAGS_profile_tokens);
    if (options.max_tokens <= 0) options.max_tokens = (*session)->context();
    profiler.Clear();
    absl::StatusOr<runtime::GenerationStats> stats;
    {
      core::ScopedProfiler install(&profiler);
      stats = (*session)->Generate(prompt, options,
                                   [](absl::string_view) { return true; });
    }
    if (!stats.ok()) return Fail("profile", stats.status());
    metrics[0].samples.push_back(stats->decode_tokens_per_second());
    metrics[1].samples.push_back(stats->prefill_tokens_per_second());
    metrics[2].samples.push_back(stats->ttft_seconds * 1e3);
    per_rep.push_back(profiler.Summarize());
    layer_ms = profiler.LayerMilliseconds();
    last = *stats;
  }
  metrics.push_back({"arena_high_water_bytes", "B", false,
                     {static_cast<double>(last.arena_high_water)}});
  metrics.push_back({"decode_heap_allocations", "", false,
                     {static_cast<double>(last.decode_heap_allocations)}});
  metrics.push_back({"peak_rss_bytes", "B", false, {static_cast<double>(PeakRssBytes())}});

  // Per-op figures: the median over runs of each run's totals.
  struct OpRow {
    std::string name;
    int64_t calls = 0;
    double total_ms = 0, mean_us = 0, median_us = 0, gflops = 0, gbps = 0;
  };
  std::vector<OpRow> ops;
  double ops_ms = 0;
  for (const core::Profiler::OpStats& s : per_rep.back()) {
    OpRow row;
    row.name = core::ProfileOpName(s.op);
    row.calls = s.count;
    std::vector<double> total, mean, median, gflops, gbps;
    for (const auto& rep : per_rep) {
      for (const core::Profiler::OpStats& r : rep) {
        if (r.op != s.op) continue;
        total.push_back(r.total_ms);
        mean.push_back(r.mean_us);
        median.push_back(r.median_us);
        gflops.push_back(r.gflops);
        gbps.push_back(r.gbps);
      }
    }
    row.total_ms = Median(total);
    row.mean_us = Median(mean);
    row.median_us = Median(median);
    row.gflops = Median(gflops);
    row.gbps = Median(gbps);
    metrics.push_back({absl::StrCat("op.", row.name, ".ms"), "ms", false, total});
    ops_ms += row.total_ms;
    ops.push_back(row);
  }
  std::sort(ops.begin(), ops.end(),
            [](const OpRow& a, const OpRow& b) { return a.total_ms > b.total_ms; });

  const runtime::Model& model = *loaded->model;
  const std::string title = absl::StrFormat(
      "%s (%s, %s params, %s) on %s, %d thread(s)", loaded->path,
      model.arch().name(), HumanCount(model.num_parameters()),
      core::DTypeName(model.weight_dtype()), loaded->backend->name(), threads);

  // Markdown: the seed report's sections.
  std::string md = absl::StrFormat(
      "# SmallMind profile\n\n%s; prompt of %d tokens, %d generated, %d runs.\n\n"
      "## Key metrics\n\n| metric | median | min–max |\n| --- | ---: | ---: |\n",
      title, last.prompt_tokens, last.generated_tokens, reps);
  for (const MetricSamples& m : metrics) {
    if (absl::StartsWith(m.name, "op.")) continue;
    const auto [lo, hi] = std::minmax_element(m.samples.begin(), m.samples.end());
    absl::StrAppendFormat(&md, "| %s | %.4g %s | %.4g–%.4g |\n", m.name,
                          Median(m.samples), m.unit, *lo, *hi);
  }
  absl::StrAppendFormat(&md,
                        "\n## Top ops\n\nTime per run (median of %d); attention is "
                        "one fused kernel, and softmax the CPU time of its softmax "
                        "step over all threads (a part of attention's time).\n\n"
                        "| op | share | calls | total ms | mean µs | median µs | "
                        "GFLOP/s | GB/s |\n| --- | ---: | ---: | ---: | ---: | ---: | "
                        "---: | ---: |\n",
                        reps);
  for (const OpRow& o : ops) {
    absl::StrAppendFormat(&md, "| %s | %.1f%% | %d | %.3f | %.2f | %.2f | %s | %s |\n",
                          o.name, ops_ms > 0 ? 100 * o.total_ms / ops_ms : 0, o.calls,
                          o.total_ms, o.mean_us, o.median_us,
                          o.gflops > 0 ? absl::StrFormat("%.2f", o.gflops) : "",
                          o.gbps > 0 ? absl::StrFormat("%.2f", o.gbps) : "");
  }
  md += "\n## Layers\n\n| layer | ms per run |\n| --- | ---: |\n";
  for (size_t l = 0; l < layer_ms.size(); ++l) {
    absl::StrAppendFormat(&md, "| %d | %.3f |\n", l, layer_ms[l]);
  }
  absl::StrAppendFormat(
      &md,
      "\n## Memory\n\n| what | size |\n| --- | ---: |\n| model file (mapped) | %s |\n"
      "| KV cache | %s |\n| scratch arena high-water | %s |\n| peak RSS | %s |\n"
      "| heap allocations during decode | %d |\n",
      HumanBytes(model.file().size_bytes()), HumanBytes(last.kv_cache_bytes),
      HumanBytes(last.arena_high_water), HumanBytes(PeakRssBytes()),
      last.decode_heap_allocations);
  absl::PrintF("%s", md);

  // JSON for machines: what --compare reads, plus the op table.
  std::string json = absl::StrFormat(
      "{\n  \"tool\": \"smallmind profile\",\n  \"model\": \"%s\",\n  \"backend\": "
      "\"%s\",\n  \"threads\": %d,\n  \"repetitions\": %d,\n  \"metrics\": {\n",
      loaded->path, loaded->backend->name(), threads, reps);
  for (size_t i = 0; i < metrics.size(); ++i) {
    const MetricSamples& m = metrics[i];
    absl::StrAppendFormat(
        &json, "    \"%s\": {\"unit\": \"%s\", \"higher_is_better\": %s, \"samples\": [%s]}%s\n",
        m.name, m.unit, m.higher_is_better ? "true" : "false",
        absl::StrJoin(m.samples, ", ",
                      [](std::string* o, double v) { absl::StrAppendFormat(o, "%.6g", v); }),
        i + 1 < metrics.size() ? "," : "");
  }
  json += "  },\n  \"ops\": [\n";
  for (size_t i = 0; i < ops.size(); ++i) {
    const OpRow& o = ops[i];
    absl::StrAppendFormat(&json,
                          "    {\"op\": \"%s\", \"calls\": %d, \"total_ms\": %.6g, "
                          "\"mean_us\": %.6g, \"median_us\": %.6g, \"gflops\": %.6g, "
                          "\"gbps\": %.6g}%s\n",
                          o.name, o.calls, o.total_ms, o.mean_us, o.median_us, o.gflops,
                          o.gbps, i + 1 < ops.size() ? "," : "");
  }
  json += "  ]\n}\n";

  const std::string dir = absl::GetFlag(FLAGS_out_dir);
  if (!dir.empty()) {
    std::vector<std::pair<std::string, double>> bars;
    for (const OpRow& o : ops) bars.push_back({o.name, o.total_ms});
    for (const auto& [name, text] :
         {std::pair<std::string, std::string>{"profile.json", json},
          {"profile.md", md},
          {"profile.svg", report::BarChartSvg("Time per op: " + title, "ms", bars)}}) {
      absl::Status s = core::WriteStringToFile(dir + "/" + name, text);
      if (!s.ok()) return Fail("profile", s);
    }
    absl::FPrintF(stderr, "wrote %s/profile.{json,md,svg}\n", dir);
  }
  return 0;
}

int Run(const Args& args) {
  return absl::GetFlag(FLAGS_compare) ? RunCompare(args) : RunProfile(args);
}

}  // namespace

Command ProfileCommand() {
  return {"profile",
          "smallmind profile -m MODEL.smm [-n N] [-t T] [-r 5] [--out-dir DIR]\n"
          "       smallmind profile --compare BASELINE.json CURRENT.json "
          "[--threshold 5]",
          "time generation per op (JSON, Markdown, SVG), or compare two reports",
          {{"m", "model", "model"},
           {"p", "prompt", "profile_prompt"},
           {"n", "n-predict", "profile_tokens"},
           {"t", "threads", "threads"},
           {nullptr, "backend", "backend"},
           {"r", "repetitions", "profile_repetitions"},
           {"o", "out-dir", "out_dir"},
           {nullptr, "compare", "compare"},
           {nullptr, "threshold", "threshold"},
           {nullptr, "regression-exit-code", "regression_exit_code"}},
          Run};
}

}  // namespace smallmind::cli
