// What the `smallmind` subcommands share: argument normalisation (llama.cpp's
// short and dashed flag names onto Abseil flags), per-command help, errors,
// and number formatting. Models are loaded with runtime::LoadedModel.
#ifndef SMALLMIND_TOOLS_SMALLMIND_CLI_H_
#define SMALLMIND_TOOLS_SMALLMIND_CLI_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

// Flags several commands share (generate, profile).
ABSL_DECLARE_FLAG(std::string, model);
ABSL_DECLARE_FLAG(std::string, backend);
ABSL_DECLARE_FLAG(int, threads);

namespace smallmind::cli {

// A flag as users type it, and the Abseil flag that holds it.
struct FlagSpec {
  const char* short_name;  // "m" for -m, or nullptr
  const char* long_name;   // "model" for --model; dashes allowed
  const char* flag;        // the ABSL_FLAG's name
};

// What a command receives once its flags are parsed into the ABSL_FLAGs.
struct Args {
  std::vector<std::string> positional;
  // Values of flags given more than once (e.g. --stop), in order.
  std::vector<std::pair<std::string, std::string>> repeated;
  std::vector<std::string> Values(absl::string_view flag) const {
    std::vector<std::string> out;
    for (const auto& [name, value] : repeated) {
      if (name == flag) out.push_back(value);
    }
    return out;
  }
};

struct Command {
  const char* name;
  const char* usage;    // e.g. "smallmind generate -m MODEL -p PROMPT"
  const char* summary;  // one line for `smallmind help`
  std::vector<FlagSpec> flags;
  int (*run)(const Args& args);
};

// Rewrites `argv` (after the command name) into Abseil's syntax: -m X and
// --n-predict=X become --model=X and --n_predict=X. Flags the command does
// not take are an error naming the command. `repeated` collects every value
// of flags that may be given more than once (e.g. --stop).
absl::StatusOr<std::vector<std::string>> NormalizeArgs(
    const Command& command, const std::vector<std::string>& argv,
    const std::vector<std::string>& repeated_flags,
    std::vector<std::pair<std::string, std::string>>* repeated);

// Prints the command's usage and flags, with help text and defaults.
void PrintHelp(const Command& command);

// Prints "smallmind <command>: error: <message>" to stderr; returns 1.
int Fail(absl::string_view command, const absl::Status& status);

// "1,2,4" -> {1, 2, 4}; errors name the flag.
absl::StatusOr<std::vector<int>> ParseIntList(absl::string_view flag,
                                              absl::string_view value);
std::vector<std::string> SplitList(absl::string_view value);

// 470528 -> "470.53 K"; 15191712 -> "15.19 M".
std::string HumanCount(double n);
// Bytes as "1.79 MiB".
std::string HumanBytes(double bytes);
// The process's peak resident set size, in bytes.
size_t PeakRssBytes();

}  // namespace smallmind::cli

#endif  // SMALLMIND_TOOLS_SMALLMIND_CLI_H_
