// Generates text with SmallMind from a C++ program:
//   api_example MODEL.smm [BACKEND]
#include <cstdio>
#include <memory>
#include <string>

#include "api/smallmind.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: api_example MODEL.smm [BACKEND]\n");
    return 2;
  }
  for (const std::string& name : smallmind::ListBackends()) {
    std::printf("linked backend: %s\n", name.c_str());
  }

  smallmind::LoadOptions load;
  load.backend = argc > 2 ? argv[2] : "auto";
  absl::StatusOr<std::unique_ptr<smallmind::Model>> model =
      smallmind::Model::Load(argv[1], load);
  if (!model.ok()) {  // a missing or malformed file, an unknown backend, ...
    std::fprintf(stderr, "%s\n", model.status().ToString().c_str());
    return 1;
  }

  smallmind::SessionOptions session_options;
  session_options.threads = 2;
  absl::StatusOr<std::unique_ptr<smallmind::Session>> session =
      (*model)->NewSession(session_options);
  if (!session.ok()) {
    std::fprintf(stderr, "%s\n", session.status().ToString().c_str());
    return 1;
  }

  smallmind::GenerateOptions options;
  options.max_tokens = 32;
  options.sampler.temperature = 0.7f;
  options.sampler.seed = 42;
  options.stop = {"\n\n"};
  absl::StatusOr<smallmind::Stats> stats = (*session)->Generate(
      "ABC", options, [](absl::string_view text) {
        std::fwrite(text.data(), 1, text.size(), stdout);
        return true;  // false would stop generation here
      });
  if (!stats.ok()) {  // e.g. a prompt longer than the context
    std::fprintf(stderr, "%s\n", stats.status().ToString().c_str());
    return 1;
  }
  std::printf("\n%lld tokens, %.0f tok/s, stopped at %s\n",
              static_cast<long long>(stats->generated_tokens),
              stats->decode_tokens_per_second, stats->stop_reason.c_str());

  // JSON the schema allows, and each token's log probability.
  smallmind::GenerateOptions json;
  json.grammar = *smallmind::JsonSchemaToGrammar(R"({"enum": ["AB", "BA"]})");
  json.logprobs = 2;
  (*session)->Reset();
  stats = (*session)->Generate(
      "ABC", json,
      [](absl::string_view text) {
        std::fwrite(text.data(), 1, text.size(), stdout);
        return true;
      },
      [](const smallmind::TokenLogprobs& token) {
        std::printf(" [%.3f]", token.logprob);
      });
  if (!stats.ok()) {
    std::fprintf(stderr, "%s\n", stats.status().ToString().c_str());
    return 1;
  }
  std::printf("\n");
  return 0;
}
