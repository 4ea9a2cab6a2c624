// smallmind chat: a multi-turn conversation in the terminal, rendered with
// the model's chat template. The session keeps its KV cache across turns:
// each turn resends the whole conversation and prefills only what the
// cache does not hold yet.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "runtime/session.h"
#include "text/chat_template.h"
#include "tools/smallmind/commands.h"
#include "tools/smallmind/grammar_args.h"
#include "tools/smallmind/load_model.h"
#include "tools/smallmind/logprob_lines.h"

namespace smallmind::cli {
namespace {

struct ChatArgs {
  ModelArgs model;
  std::string system;
  std::string chat_template;
  bool stats = false;
  runtime::SessionOptions session;
  runtime::GenerateOptions generate;
  GrammarArgs grammar;

  ChatArgs() { generate.max_tokens = 512; }

  template <class Visitor>
  void VisitFields(Visitor&& v) {
    model.VisitFields(v);
    v(system, {"system", 's', nullptr, "system prompt"});
    v(chat_template, {"chat-template", 0, nullptr,
                      "a built-in template (chatml, llama3, llama2, gemma, phi3, zephyr) or "
                      "Jinja text, instead of the model's"});
    v(stats, {"stats", 0, nullptr, "print each reply's token counts and speed"});
    session.VisitFields(v);
    generate.VisitFields(v);
    grammar.VisitFields(v);
  }
};

void PrintStats(const runtime::GenerationStats& s) {
  absl::FPrintF(stderr,
                "[prompt %d tokens (%d cached) at %.1f tok/s; reply %d tokens at %.1f tok/s; "
                "stopped at %s]\n",
                s.prompt_tokens, s.prompt_tokens_cached, s.prefill_tokens_per_second(),
                s.generated_tokens, s.decode_tokens_per_second(),
                runtime::StopReasonName(s.stop_reason));
}

int Run(const std::vector<std::string>& argv) {
  ChatArgs args;
  Flags flags;
  flags.Add(args);
  std::vector<std::string> positional;
  if (int code; !ParseFlags(ChatCommand(), flags, argv, &positional, &code)) return code;
  if (!positional.empty()) {
    return Fail("chat", absl::InvalidArgumentError("unexpected argument '" + positional[0] + "'"));
  }
  if (absl::Status s = args.grammar.Apply(&args.generate); !s.ok()) return Fail("chat", s);
  absl::StatusOr<runtime::LoadedModel> loaded = LoadModel(args.model);
  if (!loaded.ok()) return Fail("chat", loaded.status());
  const model::TokenizerSpec& spec = loaded->model->description().tokenizer();
  absl::StatusOr<text::ChatTemplate> chat_template =
      text::ChatTemplate::ForModel(spec, args.chat_template);
  if (!chat_template.ok()) return Fail("chat", chat_template.status());
  absl::StatusOr<std::unique_ptr<runtime::Session>> session =
      runtime::Session::Create(*loaded->transformer, *loaded->tokenizer, args.session);
  if (!session.ok()) return Fail("chat", session.status());

  std::vector<text::ChatMessage> messages;
  auto reset = [&] {
    messages.clear();
    if (!args.system.empty()) messages.push_back({"system", args.system});
    (*session)->Reset();
  };
  reset();
  absl::FPrintF(stderr,
                "chatting with %s; /reset starts over, /stats toggles stats, /exit or EOF "
                "ends\n",
                args.model.path);
  LogprobLines logprobs(*loaded->tokenizer);
  std::string line;
  while (true) {
    std::fputs("> ", stdout);
    std::fflush(stdout);
    if (!std::getline(std::cin, line)) break;
    const absl::string_view input = absl::StripAsciiWhitespace(line);
    if (input.empty()) continue;
    if (input == "/exit" || input == "/quit") break;
    if (input == "/reset") {
      reset();
      absl::FPrintF(stderr, "[conversation reset]\n");
      continue;
    }
    if (input == "/stats") {
      args.stats = !args.stats;
      continue;
    }
    messages.push_back({"user", std::string(input)});
    absl::StatusOr<std::string> prompt = chat_template->Render(messages, true);
    absl::StatusOr<std::vector<int32_t>> ids;
    if (prompt.ok()) ids = chat_template->Encode(*loaded->tokenizer, *prompt);
    if (!prompt.ok() || !ids.ok()) {
      messages.pop_back();
      absl::FPrintF(stderr, "error: %s\n", (!prompt.ok() ? prompt.status() : ids.status()).message());
      continue;
    }
    std::string reply;
    absl::StatusOr<runtime::GenerationStats> stats = (*session)->GenerateFrom(
        *ids, args.generate,
        [&](absl::string_view text) {
          reply.append(text.data(), text.size());
          std::fwrite(text.data(), 1, text.size(), stdout);
          std::fflush(stdout);
          return true;
        },
        logprobs.Callback());
    std::fputs("\n", stdout);
    logprobs.Print(args.generate.logprobs);
    if (!stats.ok()) {
      messages.pop_back();
      absl::FPrintF(stderr, "error: %s%s\n", stats.status().message(),
                    absl::IsOutOfRange(stats.status()) ? " (/reset to start over)" : "");
      continue;
    }
    messages.push_back({"assistant", reply});
    if (args.stats) PrintStats(*stats);
  }
  return 0;
}

}  // namespace

Command ChatCommand() {
  return {"chat", "smallmind chat -m MODEL [-s SYSTEM] [--chat-template NAME] [flags]",
          "talk to a model turn by turn with its chat template", Run};
}

}  // namespace smallmind::cli
