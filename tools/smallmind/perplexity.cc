// smallmind perplexity: llama-perplexity's measure of a model on a text,
// and the KL divergence of its predictions from a base model's.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "core/file_util.h"
#include "core/thread_pool.h"
#include "eval/kl_base.h"
#include "eval/perplexity.h"
#include "runtime/loaded_model.h"
#include "runtime/options.h"
#include "tools/smallmind/commands.h"
#include "tools/smallmind/load_model.h"

namespace smallmind::cli {
namespace {

struct PerplexityArgs {
  ModelArgs model;
  std::string file;
  int64_t chunks = -1;
  std::string kl_base;
  bool kl_divergence = false;
  runtime::SessionOptions session;

  PerplexityArgs() {
    session.context = 512;  // llama-perplexity's usual -c
    session.batch = 512;
  }

  template <class Visitor>
  void VisitFields(Visitor&& v) {
    model.VisitFields(v);
    v(file, {"file", 'f', nullptr, "the text to score"});
    v(chunks, {"chunks", 0, nullptr, "score at most this many chunks; -1: all"});
    v(kl_base, {"kl-divergence-base", 0, nullptr,
                "a file of base log-probabilities: written, or with --kl-divergence read"});
    v(kl_divergence, {"kl-divergence", 0, nullptr,
                      "compare with the --kl-divergence-base file instead of writing it"});
    session.VisitFields(v);
  }
};

// What --kl-divergence adds up over the scored tokens.
struct Divergence {
  eval::RunningMean kl, base_nll;
  double max_kl = 0;
  int64_t same_top = 0;
};

int Run(const std::vector<std::string>& argv) {
  PerplexityArgs args;
  Flags flags;
  flags.Add(args);
  std::vector<std::string> positional;
  if (int code; !ParseFlags(PerplexityCommand(), flags, argv, &positional, &code)) return code;
  auto fail = [](absl::Status s) { return Fail("perplexity", s); };
  if (!positional.empty()) {
    return fail(absl::InvalidArgumentError("unexpected argument '" + positional[0] +
                                           "'; the text goes in -f"));
  }
  if (args.file.empty()) return fail(absl::InvalidArgumentError("no text file given (-f)"));
  if (args.kl_divergence && args.kl_base.empty()) {
    return fail(absl::InvalidArgumentError("--kl-divergence needs --kl-divergence-base FILE"));
  }
  if (args.session.threads < 1) return fail(absl::InvalidArgumentError("--threads must be >= 1"));
  absl::StatusOr<runtime::KvTypes> kv_types =
      runtime::ParseKvTypes(args.session.cache_type_k, args.session.cache_type_v);
  if (!kv_types.ok()) return fail(kv_types.status());
  absl::StatusOr<std::string> text = core::ReadFileToString(args.file);
  if (!text.ok()) return fail(text.status());
  absl::StatusOr<runtime::LoadedModel> loaded = LoadModel(args.model);
  if (!loaded.ok()) return fail(loaded.status());
  const text::Tokenizer& tokenizer = *loaded->tokenizer;
  absl::StatusOr<std::vector<int32_t>> tokens = tokenizer.Encode(*text, false, false);
  if (!tokens.ok()) return fail(tokens.status());

  eval::PerplexityOptions options;
  options.context = args.session.context == 0 ? loaded->model->arch().context_length()
                                              : args.session.context;
  options.max_chunks = args.chunks;
  options.batch = args.session.batch;
  options.kv_types = *kv_types;
  const int64_t chunks = eval::ChunksOf(static_cast<int64_t>(tokens->size()), options);
  const uint32_t vocab = static_cast<uint32_t>(loaded->model->arch().vocab_size());
  const absl::Span<const int32_t> scored_text =
      absl::MakeConstSpan(*tokens).first(static_cast<size_t>(std::max<int64_t>(chunks, 0) *
                                                             options.context));

  std::optional<eval::KlBaseWriter> writer;
  std::optional<eval::KlBaseReader> reader;
  if (args.kl_divergence) {
    absl::StatusOr<eval::KlBaseReader> r = eval::KlBaseReader::Open(args.kl_base);
    if (!r.ok()) return fail(r.status());
    const eval::KlBaseHeader& h = r->header();
    if (h.vocab != vocab || h.context != options.context ||
        !std::equal(h.tokens.begin(), h.tokens.end(), scored_text.begin(), scored_text.end())) {
      return fail(absl::InvalidArgumentError(absl::StrFormat(
          "%s was scored on another text, vocabulary or context (%d chunks of %d, vocabulary "
          "%d; here %d of %d, vocabulary %d)",
          args.kl_base, h.chunks, h.context, h.vocab, chunks, options.context, vocab)));
    }
    reader = *std::move(r);
  } else if (!args.kl_base.empty() && chunks > 0) {
    absl::StatusOr<eval::KlBaseWriter> w = eval::KlBaseWriter::Create(
        args.kl_base, vocab, static_cast<uint32_t>(options.context),
        static_cast<uint32_t>(chunks), scored_text);
    if (!w.ok()) return fail(w.status());
    writer = *std::move(w);
  }

  absl::FPrintF(stderr, "perplexity: %d tokens, %d chunks of %d, KV cache %s/%s\n",
                tokens->size(), chunks, options.context, args.session.cache_type_k,
                args.session.cache_type_v);
  core::ThreadPool pool(args.session.threads, args.session.pin_threads);
  eval::RunningMean nll;
  Divergence d;
  std::vector<float> base(vocab);
  int64_t last_chunk = 0;
  const absl::Status scored = eval::ScoreText(
      *loaded->transformer, tokenizer.add_bos() ? tokenizer.bos_id() : std::nullopt, *tokens,
      options, pool,
      [&](int64_t chunk, absl::Span<const float> logprobs, int32_t next) -> absl::Status {
        if (chunk != last_chunk) {  // llama-perplexity's running estimate
          absl::FPrintF(stderr, "[%d]%.4f,", chunk, std::exp(nll.mean()));
          last_chunk = chunk;
        }
        nll.Add(-logprobs[next]);
        if (writer.has_value()) return writer->Append(logprobs);
        if (!reader.has_value()) return absl::OkStatus();
        if (absl::Status s = reader->Next(absl::MakeSpan(base)); !s.ok()) return s;
        double kl = 0;
        size_t top = 0, base_top = 0;
        for (size_t i = 0; i < base.size(); ++i) {
          kl += std::exp(static_cast<double>(base[i])) * (base[i] - logprobs[i]);
          if (logprobs[i] > logprobs[top]) top = i;
          if (base[i] > base[base_top]) base_top = i;
        }
        d.kl.Add(kl);
        d.max_kl = std::max(d.max_kl, kl);
        d.base_nll.Add(-base[next]);
        d.same_top += top == base_top;
        return absl::OkStatus();
      });
  if (!scored.ok()) return fail(scored);
  absl::FPrintF(stderr, "[%d]%.4f\n", chunks, std::exp(nll.mean()));
  if (writer.has_value()) {
    if (absl::Status s = writer->Close(); !s.ok()) return fail(s);
  }
  absl::PrintF("Final estimate: PPL = %.4f +/- %.5f\n", std::exp(nll.mean()),
               std::exp(nll.mean()) * nll.error());
  if (reader.has_value()) {
    absl::PrintF("Base PPL      = %.4f +/- %.5f\n", std::exp(d.base_nll.mean()),
                 std::exp(d.base_nll.mean()) * d.base_nll.error());
    absl::PrintF("Mean KLD      = %.6f +/- %.6f (max %.6f)\n", d.kl.mean(), d.kl.error(),
                 d.max_kl);
    absl::PrintF("Same top      = %.3f%% of %d tokens\n",
                 100.0 * static_cast<double>(d.same_top) / static_cast<double>(d.kl.count()),
                 d.kl.count());
  } else if (writer.has_value()) {
    absl::FPrintF(stderr, "perplexity: wrote the base log-probabilities to %s\n", args.kl_base);
  }
  return 0;
}

}  // namespace

Command PerplexityCommand() {
  return {"perplexity",
          "smallmind perplexity -m MODEL -f TEXT [-c 512] [--chunks N] "
          "[--kl-divergence-base FILE [--kl-divergence]] [-ctk TYPE -ctv TYPE]",
          "perplexity of a model on a text (llama-perplexity's method); KL divergence "
          "against a base model's saved log-probabilities",
          Run};
}

}  // namespace smallmind::cli
