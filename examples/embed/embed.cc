// Loads a SmallMind model, lists the backends linked into this binary, and
// generates a few tokens with the backend named on the command line:
//   bazel run //:embed -- MODEL.smm [BACKEND] [PROMPT]
#include <cstdio>
#include <string>

#include "api/smallmind.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL.smm [BACKEND] [PROMPT]\n", argv[0]);
    return 2;
  }
  std::printf("backends:");
  for (const std::string& name : smallmind::ListBackends()) {
    std::printf(" %s", name.c_str());
  }
  std::printf("\n");

  smallmind::LoadOptions load;
  load.backend = argc > 2 ? argv[2] : "auto";
  absl::StatusOr<std::unique_ptr<smallmind::Model>> model =
      smallmind::Model::Load(argv[1], load);
  if (!model.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(model.status().message()).c_str());
    return 1;
  }
  std::printf("model: %s, %lld parameters, backend %s\n",
              (*model)->architecture().c_str(),
              static_cast<long long>((*model)->parameters()),
              (*model)->backend().c_str());

  absl::StatusOr<std::unique_ptr<smallmind::Session>> session =
      (*model)->NewSession();
  if (!session.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(session.status().message()).c_str());
    return 1;
  }
  smallmind::GenerateOptions options;
  options.max_tokens = 24;
  options.sampler.temperature = 0;  // greedy: the same text every run
  const std::string prompt = argc > 3 ? argv[3] : "The";
  std::printf("text: %s", prompt.c_str());
  absl::StatusOr<smallmind::Stats> stats = (*session)->Generate(
      prompt, options, [](absl::string_view text) {
        std::fwrite(text.data(), 1, text.size(), stdout);
        std::fflush(stdout);
        return true;
      });
  if (!stats.ok()) {
    std::fprintf(stderr, "\nerror: %s\n", std::string(stats.status().message()).c_str());
    return 1;
  }
  std::printf("\nstats: %lld tokens at %.0f tok/s (%s)\n",
              static_cast<long long>(stats->generated_tokens),
              stats->decode_tokens_per_second, stats->stop_reason.c_str());
  return 0;
}
