// smallmind embed: one text a line in, one JSON vector a line out (or, with
// --rerank QUERY, one relevance score per line), as llama-embedding does.
#include <cstdio>
#include <iostream>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "core/thread_pool.h"
#include "runtime/embedder.h"
#include "runtime/loaded_model.h"
#include "tools/smallmind/commands.h"
#include "tools/smallmind/load_model.h"

namespace smallmind::cli {
namespace {

struct EmbedArgs {
  ModelArgs model;
  std::string file;
  std::string pooling;
  int32_t normalize = 2;
  int64_t dimensions = 0;
  bool truncate = false;
  std::string rerank;
  int32_t threads = 1;
  int64_t batch = 2048;

  template <class Visitor>
  void VisitFields(Visitor&& v) {
    model.VisitFields(v);
    v(file, {"file", 'f', nullptr, "the texts, one a line (default: standard input)"});
    v(pooling, {"pooling", 0, nullptr, "mean, cls, last or rank (default: the model's)"});
    v(normalize, {"embd-normalize", 0, nullptr,
                  "2: to unit length (llama.cpp's default), -1: as pooled"});
    v(dimensions, {"dimensions", 0, nullptr, "keep the first N components (Matryoshka); 0: all"});
    v(truncate, {"truncate", 0, nullptr, "cut texts longer than the context instead of failing"});
    v(rerank, {"rerank", 0, nullptr,
               "score each line as a document for this query (cross-encoders)"});
    v(threads, {"threads", 't', nullptr, "threads, the calling thread included"});
    v(batch, {"batch-size", 'b', nullptr, "tokens per forward pass at most"});
  }
};

// Lines go to the model in groups, so output streams on a long input.
constexpr size_t kLinesPerGroup = 256;

int Run(const std::vector<std::string>& argv) {
  EmbedArgs args;
  Flags flags;
  flags.Add(args);
  std::vector<std::string> positional;
  if (int code; !ParseFlags(EmbedCommand(), flags, argv, &positional, &code)) return code;
  auto fail = [](absl::Status s) { return Fail("embed", s); };
  if (!positional.empty()) {
    return fail(absl::InvalidArgumentError("unexpected argument '" + positional[0] +
                                           "'; texts come one a line from -f or stdin"));
  }
  if (args.threads < 1) return fail(absl::InvalidArgumentError("--threads must be >= 1"));
  if (args.batch < 1) return fail(absl::InvalidArgumentError("--batch-size must be >= 1"));
  if (args.normalize != 2 && args.normalize != -1) {
    return fail(absl::InvalidArgumentError(absl::StrCat(
        "--embd-normalize ", args.normalize, " is not supported (2: unit length, -1: none)")));
  }
  runtime::EmbedOptions options;
  options.normalize = args.normalize == 2;
  options.dimensions = args.dimensions;
  options.truncate = args.truncate;
  options.pooling = args.pooling;
  if (!args.pooling.empty()) {
    if (absl::Status s = runtime::ParsePooling(args.pooling).status(); !s.ok()) return fail(s);
  }
  std::ifstream file;
  if (!args.file.empty()) {
    file.open(args.file);
    if (!file) return fail(absl::NotFoundError("cannot read " + args.file));
  }
  std::istream& in = args.file.empty() ? std::cin : file;
  absl::StatusOr<runtime::LoadedModel> loaded = LoadModel(args.model);
  if (!loaded.ok()) return fail(loaded.status());
  core::ThreadPool pool(args.threads);
  absl::StatusOr<std::unique_ptr<runtime::Embedder>> embedder =
      runtime::Embedder::Create(*loaded, pool, args.batch);
  if (!embedder.ok()) return fail(embedder.status());

  const absl::Time start = absl::Now();
  int64_t texts = 0, tokens = 0;
  std::vector<std::string> lines;
  auto flush = [&]() -> absl::Status {
    if (lines.empty()) return absl::OkStatus();
    if (!args.rerank.empty()) {
      absl::StatusOr<std::vector<float>> scores =
          (*embedder)->Rerank(args.rerank, lines, args.truncate);
      if (!scores.ok()) return scores.status();
      for (float score : *scores) absl::PrintF("%.7g\n", score);
    } else {
      std::vector<std::vector<int32_t>> inputs;
      for (const std::string& line : lines) {
        absl::StatusOr<std::vector<int32_t>> ids = (*embedder)->Tokenize(line);
        if (!ids.ok()) return ids.status();
        tokens += static_cast<int64_t>(ids->size());
        inputs.push_back(*std::move(ids));
      }
      absl::StatusOr<std::vector<std::vector<float>>> vectors = (*embedder)->Embed(inputs, options);
      if (!vectors.ok()) return vectors.status();
      std::string out;
      for (const std::vector<float>& v : *vectors) {
        out += '[';
        for (size_t i = 0; i < v.size(); ++i) absl::StrAppendFormat(&out, "%s%.7g", i ? "," : "", v[i]);
        out += "]\n";
      }
      std::fputs(out.c_str(), stdout);
    }
    std::fflush(stdout);
    texts += static_cast<int64_t>(lines.size());
    lines.clear();
    return absl::OkStatus();
  };
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (line.empty()) {
      return fail(absl::InvalidArgumentError(absl::StrCat("line ", number, " is empty")));
    }
    lines.push_back(line);
    if (lines.size() == kLinesPerGroup) {
      if (absl::Status s = flush(); !s.ok()) return fail(s);
    }
  }
  if (absl::Status s = flush(); !s.ok()) return fail(s);
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  absl::FPrintF(stderr, "embed: %d texts, %d tokens in %.3f s (%.1f texts/s)\n", texts, tokens,
                seconds, seconds > 0 ? texts / seconds : 0.0);
  return 0;
}

}  // namespace

Command EmbedCommand() {
  return {"embed",
          "smallmind embed -m MODEL [-f TEXTS] [--pooling mean|cls|last] [--dimensions N] "
          "[--embd-normalize 2|-1] [--truncate] [--rerank QUERY] [-t N] [-b TOKENS]",
          "embeddings of texts, one a line (one JSON vector a line out); rerank scores", Run};
}

}  // namespace smallmind::cli
