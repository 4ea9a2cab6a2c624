// smallmind bench: prompt-processing (pp) and text-generation (tg) speed,
// modelled on llama-bench. Synthetic token ids, no tokenizer or sampling:
// only forward passes are timed.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "backends/registry.h"
#include "core/arena.h"
#include "core/status.h"
#include "core/thread_pool.h"
#include "formats/open.h"
#include "model/model.h"
#include "runtime/options.h"
#include "runtime/transformer.h"
#include "tools/smallmind/commands.h"


namespace smallmind::cli {
namespace {

// llama-bench's flags; lists are comma-separated.
struct BenchArgs {
  std::string models;
  std::string n_prompt = "512";
  std::string n_gen = "128";
  std::string n_depth = "0";
  std::string threads = "1,2";
  std::string sequences = "1";
  std::string backends = "auto";
  std::string cache_type_k = runtime::SessionOptions{}.cache_type_k;
  std::string cache_type_v = runtime::SessionOptions{}.cache_type_v;
  int32_t repetitions = 5;
  std::string output = "md";

  template <class Visitor>
  void VisitFields(Visitor&& v) {
    v(models, {"model", 'm', nullptr, "model files, comma-separated"});
    v(n_prompt, {"n-prompt", 'p', nullptr, "prompt lengths to time (pp tests)"});
    v(n_gen, {"n-gen", 'n', nullptr, "tokens to generate (tg tests)"});
    v(n_depth, {"n-depth", 'd', nullptr,
                "tokens already in the cache when each test starts (prefilled untimed)"});
    v(threads, {"threads", 't', nullptr, "thread counts"});
    v(sequences, {"sequences", 'b', nullptr,
                  "sequences decoded together in tg tests (continuous batching's M)"});
    v(backends, {"backend", 0, nullptr, "backends, comma-separated"});
    v(cache_type_k, {"cache-type-k", 0, nullptr, "KV cache types of keys (-ctk)"});
    v(cache_type_v, {"cache-type-v", 0, nullptr, "KV cache types of values (-ctv)"});
    v(repetitions, {"repetitions", 'r', nullptr, "timed runs per test, after one warm-up run"});
    v(output, {"output", 'o', nullptr, "md (a table) or json"});
  }
};

struct Result {
  std::string model_path, model_type, backend, type_k, type_v;
  int64_t model_size = 0, n_params = 0;
  int threads = 0, n_prompt = 0, n_gen = 0, n_depth = 0, sequences = 1;
  std::vector<double> samples;  // tokens per second, one per run
  double Mean() const {
    double s = 0;
    for (double v : samples) s += v;
    return s / samples.size();
  }
  double Stddev() const {
    if (samples.size() < 2) return 0;
    const double m = Mean();
    double s = 0;
    for (double v : samples) s += (v - m) * (v - m);
    return std::sqrt(s / (samples.size() - 1));
  }
  std::string Test() const {
    std::string test = n_prompt > 0 ? absl::StrCat("pp", n_prompt) : absl::StrCat("tg", n_gen);
    if (n_prompt == 0 && sequences > 1) absl::StrAppend(&test, " x", sequences);
    if (n_depth > 0) absl::StrAppend(&test, " @ d", n_depth);
    return test;
  }
};

// Prompt tokens per forward pass when filling the depth (the CLI's batch).
constexpr int kDepthBatch = 256;

// Runs `depth` tokens into each cache, in passes of kDepthBatch.
absl::Status FillDepth(const runtime::Transformer& t, const std::vector<int32_t>& tokens,
                       std::vector<runtime::KvCache>& caches, core::Arena& arena,
                       core::ThreadPool& pool, std::vector<float>& logits) {
  for (runtime::KvCache& cache : caches) {
    for (size_t start = 0; start < tokens.size(); start += kDepthBatch) {
      const size_t count = std::min<size_t>(kDepthBatch, tokens.size() - start);
      SM_RETURN_IF_ERROR(t.Forward(absl::MakeConstSpan(tokens).subspan(start, count),
                                   static_cast<int64_t>(start), cache, arena, pool,
                                   logits.data(), false));
    }
  }
  return absl::OkStatus();
}

// Runs one pp or tg test once, after `depth` positions; returns tokens per
// second. A tg test of several sequences runs one token of each per
// forward pass, each sequence in its own cache, and counts every
// sequence's tokens.
absl::StatusOr<double> TimeOnce(const runtime::Transformer& t,
                                const std::vector<int32_t>& tokens, int64_t depth,
                                bool prompt, std::vector<runtime::KvCache>& caches,
                                core::Arena& arena, core::ThreadPool& pool,
                                std::vector<float>& logits) {
  const auto start = std::chrono::steady_clock::now();
  if (prompt) {
    absl::Status s = t.Forward(tokens, depth, caches[0], arena, pool, logits.data(), false);
    if (!s.ok()) return s;
  } else {
    std::vector<runtime::BatchRow> rows(caches.size());
    for (size_t i = 0; i < tokens.size(); ++i) {
      for (size_t b = 0; b < caches.size(); ++b) {
        rows[b] = {tokens[(i + b) % tokens.size()], depth + static_cast<int64_t>(i), &caches[b],
                   true};
      }
      absl::Status s = t.Forward(rows, arena, pool, logits.data());
      if (!s.ok()) return s;
    }
  }
  const double seconds = std::chrono::duration<double>(
                             std::chrono::steady_clock::now() - start)
                             .count();
  return tokens.size() * (prompt ? 1 : caches.size()) / seconds;
}

void PrintHeader() {
  absl::PrintF("| model | size | params | backend | threads | kv | test | t/s |\n");
  absl::PrintF("| --- | ---: | ---: | --- | ---: | --- | ---: | ---: |\n");
}

void PrintRow(const Result& r) {
  const std::string kv = r.type_k == r.type_v ? r.type_k : r.type_k + "/" + r.type_v;
  absl::PrintF("| %s | %s | %s | %s | %d | %s | %s | %.2f ± %.2f |\n",
              r.model_type, HumanBytes(r.model_size), HumanCount(r.n_params),
              r.backend, r.threads, kv, r.Test(), r.Mean(), r.Stddev());
  std::fflush(stdout);
}

std::string Json(const std::vector<Result>& results) {
  std::string out = "[\n";
  for (size_t i = 0; i < results.size(); ++i) {
    const Result& r = results[i];
    absl::StrAppendFormat(
        &out,
        "  {\"model_filename\": \"%s\", \"model_type\": \"%s\", "
        "\"model_size\": %d, \"model_n_params\": %d, \"backend\": \"%s\", "
        "\"n_threads\": %d, \"type_k\": \"%s\", \"type_v\": \"%s\", "
        "\"n_prompt\": %d, \"n_gen\": %d, \"n_depth\": %d, "
        "\"n_sequences\": %d, "
        "\"test\": \"%s\", \"avg_ts\": %.3f, \"stddev_ts\": %.3f, "
        "\"samples_ts\": [%s]}%s\n",
        r.model_path, r.model_type, r.model_size, r.n_params, r.backend,
        r.threads, r.type_k, r.type_v, r.n_prompt, r.n_gen, r.n_depth, r.sequences, r.Test(), r.Mean(), r.Stddev(),
        absl::StrJoin(r.samples, ", ",
                      [](std::string* o, double v) {
                        absl::StrAppendFormat(o, "%.3f", v);
                      }),
        i + 1 < results.size() ? "," : "");
  }
  return out + "]\n";
}

int Run(const std::vector<std::string>& argv) {
  BenchArgs args;
  Flags flags;
  flags.Add(args);
  std::vector<std::string> positional;
  if (int code; !ParseFlags(BenchCommand(), flags, argv, &positional, &code)) return code;
  std::vector<std::string> models = SplitList(args.models);
  models.insert(models.end(), positional.begin(), positional.end());
  if (models.empty()) {
    return Fail("bench", absl::InvalidArgumentError("no model; use -m MODEL.smm"));
  }
  absl::StatusOr<std::vector<int>> n_prompt =
      ParseIntList("n-prompt", args.n_prompt);
  absl::StatusOr<std::vector<int>> n_gen =
      ParseIntList("n-gen", args.n_gen);
  absl::StatusOr<std::vector<int>> threads =
      ParseIntList("threads", args.threads);
  absl::StatusOr<std::vector<int>> n_depth = ParseIntList("n-depth", args.n_depth);
  absl::StatusOr<std::vector<int>> sequences = ParseIntList("sequences", args.sequences);
  for (const auto* list : {&n_prompt, &n_gen, &n_depth, &threads, &sequences}) {
    if (!list->ok()) return Fail("bench", list->status());
  }
  const std::vector<std::string> backend_names = SplitList(args.backends);
  std::vector<runtime::KvTypes> kv_types;  // every key type with every value type
  for (const std::string& k : SplitList(args.cache_type_k)) {
    for (const std::string& v : SplitList(args.cache_type_v)) {
      absl::StatusOr<runtime::KvTypes> kv = runtime::ParseKvTypes(k, v);
      if (!kv.ok()) return Fail("bench", kv.status());
      kv_types.push_back(*kv);
    }
  }
  const int reps = args.repetitions;
  const std::string& output = args.output;
  if (output != "md" && output != "json") {
    return Fail("bench", absl::InvalidArgumentError(
                             "--output must be md or json, not " + output));
  }
  if (reps < 1) {
    return Fail("bench", absl::InvalidArgumentError("-r must be >= 1"));
  }

  std::vector<Result> results;
  if (output == "md") PrintHeader();
  for (const std::string& path : models) {
    absl::StatusOr<std::unique_ptr<model::Model>> model =
        formats::OpenModel(path);
    if (!model.ok()) return Fail("bench", model.status());
    const model::Architecture& arch = (*model)->arch();
    const core::DType dtype = (*model)->weight_dtype();
    // As llama-bench's, a test's depth, prompt and generation must fit the
    // context.
    const int max_prompt = *std::max_element(n_prompt->begin(), n_prompt->end());
    const int max_gen = *std::max_element(n_gen->begin(), n_gen->end());
    const int max_depth = *std::max_element(n_depth->begin(), n_depth->end());
    if (int64_t{max_prompt} + max_gen + max_depth > arch.context_length()) {
      const std::string depth =
          max_depth > 0 ? absl::StrFormat(" after a depth of %d", max_depth) : "";
      return Fail("bench", absl::InvalidArgumentError(absl::StrFormat(
                               "%s: a prompt of %d plus %d generated tokens%s does not "
                               "fit the model's context of %d; lower -p, -n or -d",
                               path, max_prompt, max_gen, depth, arch.context_length())));
    }
    std::mt19937 rng(1);
    for (const std::string& name : backend_names) {
      absl::StatusOr<const backends::Backend*> backend =
          backends::Registry::Get(name, dtype);
      if (!backend.ok()) return Fail("bench", backend.status());
      if (!(*backend)->Supports(dtype)) {
        absl::FPrintF(stderr, "bench: skipping %s: no %s support\n",
                     std::string((*backend)->name()).c_str(),
                     std::string(core::DTypeName(dtype)).c_str());
        continue;
      }
      absl::StatusOr<std::unique_ptr<runtime::Transformer>> t =
          runtime::Transformer::Create(**model, **backend);
      if (!t.ok()) return Fail("bench", t.status());
      for (int thread_count : *threads) {
        core::ThreadPool pool(std::max(thread_count, 1));
        struct Test {
          bool prompt;
          int n, sequences, depth;
          runtime::KvTypes kv;
        };
        std::vector<Test> tests;
        for (const runtime::KvTypes& kv : kv_types) {
          for (int d : *n_depth) {
            for (int n : *n_prompt) if (n > 0) tests.push_back({true, n, 1, d, kv});
            for (int n : *n_gen) {
              for (int b : *sequences) if (n > 0 && b > 0) tests.push_back({false, n, b, d, kv});
            }
          }
        }
        for (const auto& [prompt, n, seqs, depth, kv] : tests) {
          Result r;
          r.model_path = path;
          r.model_type = absl::StrCat(arch.name(), " ",
                                      HumanCount((*model)->num_parameters()),
                                      " ", core::DTypeName(dtype));
          r.model_size = (*model)->data().size_bytes();
          r.n_params = (*model)->num_parameters();
          r.backend = std::string((*backend)->name());
          r.threads = pool.num_threads();
          r.type_k = std::string(core::DTypeName(kv.keys));
          r.type_v = std::string(core::DTypeName(kv.values));
          (prompt ? r.n_prompt : r.n_gen) = n;
          r.n_depth = depth;
          r.sequences = seqs;
          std::vector<int32_t> tokens(n), depth_tokens(depth);
          for (int32_t& id : tokens) id = rng() % arch.vocab_size();
          for (int32_t& id : depth_tokens) id = rng() % arch.vocab_size();
          std::vector<runtime::KvCache> caches;
          for (int b = 0; b < seqs; ++b) {
            absl::StatusOr<runtime::KvCache> cache = runtime::KvCache::Create(arch, depth + n, kv);
            if (!cache.ok()) return Fail("bench", cache.status());
            caches.push_back(*std::move(cache));
          }
          const int rows = std::max(prompt ? n : seqs, std::min(depth, kDepthBatch));
          absl::StatusOr<core::Arena> arena = core::Arena::Create(
              (*t)->ScratchBytes(rows, pool.num_threads()));
          if (!arena.ok()) return Fail("bench", arena.status());
          std::vector<float> logits(static_cast<size_t>(arch.vocab_size()) * seqs);
          // Every run writes the same positions after the depth, which
          // stays as filled.
          if (absl::Status s = FillDepth(**t, depth_tokens, caches, *arena, pool, logits);
              !s.ok()) {
            return Fail("bench", s);
          }
          for (int rep = 0; rep <= reps; ++rep) {
            absl::StatusOr<double> tps =
                TimeOnce(**t, tokens, depth, prompt, caches, *arena, pool, logits);
            if (!tps.ok()) return Fail("bench", tps.status());
            if (rep > 0) r.samples.push_back(*tps);  // run 0 warms up
          }
          if (output == "md") PrintRow(r);
          results.push_back(std::move(r));
        }
      }
    }
  }
  if (output == "json") absl::PrintF("%s", Json(results).c_str());
  return 0;
}

}  // namespace

Command BenchCommand() {
  return {"bench",
          "smallmind bench -m MODEL[,...] [-p 64,512] [-n 128] [-d 0,4096] [-t 1,2] [-b 1,8] "
          "[--backend tiled,blas] [-r 5] [-o md|json]",
          "time prompt processing and generation, like llama-bench", Run};
}

}  // namespace smallmind::cli
