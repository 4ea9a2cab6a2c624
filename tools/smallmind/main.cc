// `smallmind <command> [flags]`: generate, chat, serve, embed, bench, convert, inspect,
// init, train, profile, perplexity.
#include <cstdio>
#include <string>
#include <vector>

#include "tools/smallmind/commands.h"

namespace smallmind::cli {
namespace {

std::vector<Command> Commands() {
  return {GenerateCommand(), ChatCommand(),  ServeCommand(),   EmbedCommand(),
          BenchCommand(),    ConvertCommand(), InspectCommand(), InitCommand(),
          TrainCommand(),    ProfileCommand(), PerplexityCommand()};
}

void PrintCommands() {
  std::printf(
      "smallmind: run small transformer language models on the CPU\n\n"
      "usage: smallmind <command> [flags]\n\ncommands:\n");
  for (const Command& c : Commands()) {
    std::printf("  %-10s %s\n", c.name, c.summary);
  }
  std::printf("  %-10s %s\n", "help", "this list; `smallmind <command> --help` "
              "for a command's flags");
}

int Main(int argc, char** argv) {
  if (argc < 2) {
    PrintCommands();
    return 1;
  }
  const std::string name = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  if (name == "help" || name == "--help" || name == "-h") {
    for (const Command& c : Commands()) {
      if (!args.empty() && args[0] == c.name) return c.run({"--help"});
    }
    PrintCommands();
    return 0;
  }
  for (const Command& c : Commands()) {
    if (c.name == name) return c.run(args);
  }
  std::fprintf(stderr, "smallmind: unknown command '%s'; run `smallmind help`\n",
               name.c_str());
  return 1;
}

}  // namespace
}  // namespace smallmind::cli

int main(int argc, char** argv) { return smallmind::cli::Main(argc, argv); }
