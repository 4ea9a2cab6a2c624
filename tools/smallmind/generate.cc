// smallmind generate: stream text from a model, llama.cpp's flags.
#include <chrono>
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "core/file_util.h"
#include "absl/strings/str_format.h"
#include "runtime/session.h"
#include "runtime/loaded_model.h"
#include "tools/smallmind/commands.h"

ABSL_FLAG(std::string, prompt, "", "prompt text");
ABSL_FLAG(std::string, file, "", "read the prompt from this file");
ABSL_FLAG(int, n_predict, 128, "tokens to generate");
ABSL_FLAG(int, ctx_size, 0, "context size in tokens; 0: the model's");
ABSL_FLAG(int, batch_size, 256, "prompt tokens per forward pass");
ABSL_FLAG(float, temp, 0.8f, "temperature; 0 is greedy");
ABSL_FLAG(int, top_k, 40, "top-k sampling; 0 is off");
ABSL_FLAG(float, top_p, 0.95f, "top-p sampling; 1.0 is off");
ABSL_FLAG(float, min_p, 0.05f, "min-p sampling; 0.0 is off");
ABSL_FLAG(float, repeat_penalty, 1.0f, "penalty for repeated tokens; 1.0 is off");
ABSL_FLAG(int, repeat_last_n, 64, "tokens the repeat penalty looks back over");
ABSL_FLAG(float, presence_penalty, 0.0f, "presence penalty; 0.0 is off");
ABSL_FLAG(float, frequency_penalty, 0.0f, "frequency penalty; 0.0 is off");
ABSL_FLAG(int64_t, seed, -1, "random seed; -1 picks one from the clock");
ABSL_FLAG(std::string, stop, "",
          "stop before this text; may be given more than once");
ABSL_FLAG(bool, no_display_prompt, false, "do not echo the prompt");
ABSL_FLAG(bool, truncate_prompt, false,
          "keep the tail of a prompt longer than the context instead of failing");
ABSL_FLAG(bool, no_context_shift, false,
          "stop when the context is full instead of keeping its last half");

namespace smallmind::cli {
namespace {

int Run(const Args& args) {
  if (!args.positional.empty()) {
    return Fail("generate", absl::InvalidArgumentError(
                                "unexpected argument '" + args.positional[0] +
                                "'; the prompt goes in -p"));
  }
  std::string prompt = absl::GetFlag(FLAGS_prompt);
  if (const std::string file = absl::GetFlag(FLAGS_file); !file.empty()) {
    absl::StatusOr<std::string> text = core::ReadFileToString(file);
    if (!text.ok()) return Fail("generate", text.status());
    prompt = *std::move(text);
  }
  absl::StatusOr<runtime::LoadedModel> loaded = runtime::LoadedModel::Load(
      absl::GetFlag(FLAGS_model), absl::GetFlag(FLAGS_backend));
  if (!loaded.ok()) return Fail("generate", loaded.status());

  runtime::SessionOptions session_options;
  session_options.threads = absl::GetFlag(FLAGS_threads);
  session_options.context = absl::GetFlag(FLAGS_ctx_size);
  session_options.batch = absl::GetFlag(FLAGS_batch_size);
  absl::StatusOr<std::unique_ptr<runtime::Session>> session =
      runtime::Session::Create(*loaded->transformer, *loaded->tokenizer,
                               session_options);
  if (!session.ok()) return Fail("generate", session.status());

  runtime::GenerateOptions options;
  options.max_tokens = absl::GetFlag(FLAGS_n_predict);
  options.stop = args.Values("stop");
  options.context_shift = !absl::GetFlag(FLAGS_no_context_shift);
  options.truncate_prompt = absl::GetFlag(FLAGS_truncate_prompt);
  runtime::SamplerOptions& s = options.sampler;
  s.temperature = absl::GetFlag(FLAGS_temp);
  s.top_k = absl::GetFlag(FLAGS_top_k);
  s.top_p = absl::GetFlag(FLAGS_top_p);
  s.min_p = absl::GetFlag(FLAGS_min_p);
  s.repeat_penalty = absl::GetFlag(FLAGS_repeat_penalty);
  s.repeat_last_n = absl::GetFlag(FLAGS_repeat_last_n);
  s.presence_penalty = absl::GetFlag(FLAGS_presence_penalty);
  s.frequency_penalty = absl::GetFlag(FLAGS_frequency_penalty);
  const int64_t seed = absl::GetFlag(FLAGS_seed);
  s.seed = seed >= 0 ? static_cast<uint64_t>(seed)
                     : static_cast<uint64_t>(
                           std::chrono::system_clock::now().time_since_epoch()
                               .count());

  if (!absl::GetFlag(FLAGS_no_display_prompt)) {
    std::fwrite(prompt.data(), 1, prompt.size(), stdout);
    std::fflush(stdout);
  }
  absl::StatusOr<runtime::GenerationStats> stats = (*session)->Generate(
      prompt, options, [](absl::string_view text) {
        std::fwrite(text.data(), 1, text.size(), stdout);
        std::fflush(stdout);
        return true;
      });
  absl::PrintF("\n");
  if (!stats.ok()) return Fail("generate", stats.status());

  const runtime::Model& model = *loaded->model;
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
      HumanBytes(model.file().size_bytes()), loaded->backend->name(),
      session_options.threads, s.seed,
      loaded->load_seconds * 1e3, stats->prompt_tokens,
      stats->prefill_seconds * 1e3, stats->prefill_tokens_per_second(),
      stats->decode_steps, stats->decode_seconds * 1e3,
      stats->decode_tokens_per_second(), stats->ttft_seconds * 1e3,
      runtime::StopReasonName(stats->stop_reason),
      HumanBytes(stats->kv_cache_bytes), HumanBytes(stats->arena_high_water),
      HumanBytes(PeakRssBytes()));
  return 0;
}

}  // namespace

Command GenerateCommand() {
  return {"generate",
          "smallmind generate -m MODEL.smm -p PROMPT [-n N] [flags]",
          "stream text from a model; stats go to stderr",
          {{"m", "model", "model"},
           {"p", "prompt", "prompt"},
           {"f", "file", "file"},
           {"n", "n-predict", "n_predict"},
           {"t", "threads", "threads"},
           {"c", "ctx-size", "ctx_size"},
           {"b", "batch-size", "batch_size"},
           {nullptr, "temp", "temp"},
           {nullptr, "top-k", "top_k"},
           {nullptr, "top-p", "top_p"},
           {nullptr, "min-p", "min_p"},
           {nullptr, "repeat-penalty", "repeat_penalty"},
           {nullptr, "repeat-last-n", "repeat_last_n"},
           {nullptr, "presence-penalty", "presence_penalty"},
           {nullptr, "frequency-penalty", "frequency_penalty"},
           {"s", "seed", "seed"},
           {nullptr, "backend", "backend"},
           {nullptr, "stop", "stop"},
           {nullptr, "no-display-prompt", "no_display_prompt"},
           {nullptr, "no-context-shift", "no_context_shift"},
           {nullptr, "truncate-prompt", "truncate_prompt"}},
          Run};
}

}  // namespace smallmind::cli
