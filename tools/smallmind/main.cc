// `smallmind <command> [flags]`: generate, bench, convert, inspect, init,
// train, profile.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "tools/smallmind/commands.h"

namespace smallmind::cli {
namespace {

std::vector<Command> Commands() {
  return {GenerateCommand(), BenchCommand(), ConvertCommand(),
          InspectCommand(),  InitCommand(),  TrainCommand(),
          ProfileCommand()};
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
  absl::SetProgramUsageMessage("smallmind <command> [flags]");
  if (argc < 2) {
    PrintCommands();
    return 1;
  }
  const std::string name = argv[1];
  if (name == "help" || name == "--help" || name == "-h") {
    if (argc > 2) {
      for (const Command& c : Commands()) {
        if (c.name == std::string(argv[2])) {
          PrintHelp(c);
          return 0;
        }
      }
    }
    PrintCommands();
    return 0;
  }
  for (const Command& c : Commands()) {
    if (c.name != name) continue;
    std::vector<std::pair<std::string, std::string>> repeated;
    absl::StatusOr<std::vector<std::string>> args = NormalizeArgs(
        c, std::vector<std::string>(argv + 2, argv + argc), {"stop"}, &repeated);
    if (!args.ok()) return Fail(name, args.status());
    for (const std::string& a : *args) {
      if (a == "--help") {
        PrintHelp(c);
        return 0;
      }
    }
    std::vector<char*> flat = {argv[0]};
    for (std::string& a : *args) flat.push_back(a.data());
    std::vector<char*> positional =
        absl::ParseCommandLine(static_cast<int>(flat.size()), flat.data());
    Args parsed;
    parsed.positional.assign(positional.begin() + 1, positional.end());
    parsed.repeated = std::move(repeated);
    return c.run(parsed);
  }
  std::fprintf(stderr,
               "smallmind: unknown command '%s'; run `smallmind help`\n",
               name.c_str());
  return 1;
}

}  // namespace
}  // namespace smallmind::cli

int main(int argc, char** argv) { return smallmind::cli::Main(argc, argv); }
