// What the `smallmind` subcommands share: the command table entry, flag
// parsing with per-command help (flags.h), errors, and number formatting.
// Models are loaded with runtime::LoadedModel.
#ifndef SMALLMIND_TOOLS_SMALLMIND_CLI_H_
#define SMALLMIND_TOOLS_SMALLMIND_CLI_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/options.h"
#include "tools/smallmind/flags.h"

namespace smallmind::cli {

// -m MODEL and --backend, as every command that runs one model takes them.
struct ModelArgs {
  std::string path;
  runtime::LoadOptions load;

  template <class Visitor>
  void VisitFields(Visitor&& v) {
    v(path, {"model", 'm', nullptr,
             "the model: a .smm or GGUF file, a Hugging Face directory, a llama2.c .bin"});
    load.VisitFields(v);
  }
};

struct Command {
  const char* name;
  const char* usage;    // e.g. "smallmind generate -m MODEL -p PROMPT"
  const char* summary;  // one line for `smallmind help`
  // Runs the command on the arguments after its name; returns the exit code.
  int (*run)(const std::vector<std::string>& args);
};

// What every command's run starts with: parses `args` into `flags`. True
// with the positional arguments in `positional`; false with `exit_code`
// set after printing the help (0) or the error (1).
bool ParseFlags(const Command& command, Flags& flags,
                const std::vector<std::string>& args,
                std::vector<std::string>* positional, int* exit_code);

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
