// smallmind generate: stream text from a model, llama.cpp's flags.
#include <cstdio>
#include <string>

#include "absl/strings/str_format.h"
#include "core/file_util.h"
#include "runtime/loaded_model.h"
#include "runtime/session.h"
#include "tools/smallmind/commands.h"
#include "tools/smallmind/grammar_args.h"
#include "tools/smallmind/load_model.h"
#include "tools/smallmind/logprob_lines.h"

namespace smallmind::cli {
namespace {

struct GenerateArgs {
  ModelArgs model;
  std::string prompt;
  std::string file;
  bool display_prompt = true;
  runtime::SessionOptions session;
  runtime::GenerateOptions generate;
  GrammarArgs grammar;

  template <class Visitor>
  void VisitFields(Visitor&& v) {
    model.VisitFields(v);
    v(prompt, {"prompt", 'p', nullptr, "prompt text"});
    v(file, {"file", 'f', nullptr, "read the prompt from this file"});
    v(display_prompt, {"display-prompt", 0, nullptr, "echo the prompt before the text"});
    session.VisitFields(v);
    generate.VisitFields(v);
    grammar.VisitFields(v);
  }
};

int Run(const std::vector<std::string>& argv) {
  GenerateArgs args;
  Flags flags;
  flags.Add(args);
  std::vector<std::string> positional;
  if (int code; !ParseFlags(GenerateCommand(), flags, argv, &positional, &code)) return code;
  if (!positional.empty()) {
    return Fail("generate", absl::InvalidArgumentError(
                                "unexpected argument '" + positional[0] +
                                "'; the prompt goes in -p"));
  }
  if (absl::Status s = args.grammar.Apply(&args.generate); !s.ok()) return Fail("generate", s);
  std::string prompt = args.prompt;
  if (!args.file.empty()) {
    absl::StatusOr<std::string> text = core::ReadFileToString(args.file);
    if (!text.ok()) return Fail("generate", text.status());
    prompt = *std::move(text);
  }
  absl::StatusOr<runtime::LoadedModel> loaded =
      LoadModel(args.model);
  if (!loaded.ok()) return Fail("generate", loaded.status());
  absl::StatusOr<std::unique_ptr<runtime::Session>> session =
      runtime::Session::Create(*loaded->transformer, *loaded->tokenizer, args.session);
  if (!session.ok()) return Fail("generate", session.status());

  if (args.display_prompt) {
    std::fwrite(prompt.data(), 1, prompt.size(), stdout);
    std::fflush(stdout);
  }
  LogprobLines logprobs(*loaded->tokenizer);
  absl::StatusOr<runtime::GenerationStats> stats = (*session)->Generate(
      prompt, args.generate,
      [](absl::string_view text) {
        std::fwrite(text.data(), 1, text.size(), stdout);
        std::fflush(stdout);
        return true;
      },
      logprobs.Callback());
  absl::PrintF("\n");
  if (!stats.ok()) return Fail("generate", stats.status());
  logprobs.Print(args.generate.logprobs);

  const model::Model& model = *loaded->model;
  absl::FPrintF(
      stderr,
      "\nmodel:   %s (%s, %s params, %s, %s)\n"
      "backend: %s, %d thread(s), seed %d\n"
      "load:    %.1f ms\n"
      "prefill: %d tokens in %.2f ms (%.1f tok/s)\n"
      "decode:  %d tokens in %.2f ms (%.1f tok/s)\n"
      "ttft:    %.2f ms; stopped at %s\n"
      "memory:  KV cache %s, scratch %s high-water, peak RSS %s\n",
      loaded->path, model.arch().name(), HumanCount(model.num_parameters()),
      core::DTypeName(model.weight_dtype()),
      HumanBytes(model.data().size_bytes()), loaded->backend->name(),
      args.session.threads, stats->seed, loaded->load_seconds * 1e3,
      stats->prompt_tokens, stats->prefill_seconds * 1e3,
      stats->prefill_tokens_per_second(), stats->decode_steps,
      stats->decode_seconds * 1e3, stats->decode_tokens_per_second(),
      stats->ttft_seconds * 1e3, runtime::StopReasonName(stats->stop_reason),
      HumanBytes(stats->kv_cache_bytes), HumanBytes(stats->arena_high_water),
      HumanBytes(PeakRssBytes()));
  return 0;
}

}  // namespace

Command GenerateCommand() {
  return {"generate", "smallmind generate -m MODEL.smm -p PROMPT [-n N] [flags]",
          "stream text from a model; stats go to stderr", Run};
}

}  // namespace smallmind::cli
