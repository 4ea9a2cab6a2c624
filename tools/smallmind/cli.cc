#include "tools/smallmind/cli.h"

#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

ABSL_FLAG(std::string, model, "", "model file (.smm)");
ABSL_FLAG(std::string, backend, "",
          "matmul backend: a registered name or auto "
          "(default: $SMALLMIND_BACKEND, else auto)");
ABSL_FLAG(int, threads, 1, "threads, the calling thread included");

namespace smallmind::cli {

absl::StatusOr<std::vector<std::string>> NormalizeArgs(
    const Command& command, const std::vector<std::string>& argv,
    const std::vector<std::string>& repeated_flags,
    std::vector<std::pair<std::string, std::string>>* repeated) {
  std::vector<std::string> out;
  bool positional_only = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (positional_only || arg.size() < 2 || arg[0] != '-') {
      out.push_back(arg);
      continue;
    }
    if (arg == "--") {
      positional_only = true;
      out.push_back(arg);
      continue;
    }
    const bool is_long = arg[1] == '-';
    absl::string_view body = absl::string_view(arg).substr(is_long ? 2 : 1);
    std::string name(body.substr(0, body.find('=')));
    std::optional<std::string> value;
    if (body.find('=') != absl::string_view::npos) {
      value = std::string(body.substr(body.find('=') + 1));
    }
    if (name == "help" || name == "h") {
      out.push_back("--help");
      continue;
    }
    const FlagSpec* spec = nullptr;
    for (const FlagSpec& f : command.flags) {
      const bool match =
          is_long ? absl::StrReplaceAll(f.long_name, {{"_", "-"}}) ==
                        absl::StrReplaceAll(name, {{"_", "-"}})
                  : (f.short_name != nullptr && name == f.short_name);
      if (match) spec = &f;
    }
    if (spec == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown flag '", arg, "' for '", command.name,
          "'; see smallmind ", command.name, " --help"));
    }
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(spec->flag);
    const bool is_bool = flag != nullptr && flag->IsOfType<bool>();
    if (!value && !is_bool) {
      if (i + 1 >= argv.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("flag '", arg, "' needs a value"));
      }
      value = argv[++i];
    }
    if (std::find(repeated_flags.begin(), repeated_flags.end(), spec->flag) !=
        repeated_flags.end()) {
      repeated->emplace_back(spec->flag, *value);
      continue;
    }
    out.push_back(value ? absl::StrCat("--", spec->flag, "=", *value)
                        : absl::StrCat("--", spec->flag));
  }
  return out;
}

void PrintHelp(const Command& command) {
  std::printf("usage: %s\n\n%s\n\nflags:\n", command.usage, command.summary);
  for (const FlagSpec& f : command.flags) {
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(f.flag);
    const std::string names =
        f.short_name != nullptr
            ? absl::StrCat("-", f.short_name, ", --", f.long_name)
            : absl::StrCat("    --", f.long_name);
    std::printf("  %-24s %s", names.c_str(),
                flag != nullptr ? flag->Help().c_str() : "");
    if (flag != nullptr && !flag->DefaultValue().empty()) {
      std::printf(" (default: %s)", flag->DefaultValue().c_str());
    }
    std::printf("\n");
  }
}

int Fail(absl::string_view command, const absl::Status& status) {
  std::fprintf(stderr, "smallmind %.*s: error: %.*s\n",
               static_cast<int>(command.size()), command.data(),
               static_cast<int>(status.message().size()),
               status.message().data());
  return 1;
}

std::vector<std::string> SplitList(absl::string_view value) {
  return absl::StrSplit(value, ',', absl::SkipWhitespace());
}

absl::StatusOr<std::vector<int>> ParseIntList(absl::string_view flag,
                                              absl::string_view value) {
  std::vector<int> out;
  for (const std::string& item : SplitList(value)) {
    int v;
    if (!absl::SimpleAtoi(item, &v) || v < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--", flag, ": '", item, "' is not a non-negative integer"));
    }
    out.push_back(v);
  }
  if (out.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, " is empty"));
  }
  return out;
}

std::string HumanCount(double n) {
  if (n >= 1e9) return absl::StrFormat("%.2f B", n / 1e9);
  if (n >= 1e6) return absl::StrFormat("%.2f M", n / 1e6);
  if (n >= 1e3) return absl::StrFormat("%.2f K", n / 1e3);
  return absl::StrFormat("%.0f", n);
}

std::string HumanBytes(double bytes) {
  if (bytes >= 1 << 30) return absl::StrFormat("%.2f GiB", bytes / (1 << 30));
  if (bytes >= 1 << 20) return absl::StrFormat("%.2f MiB", bytes / (1 << 20));
  if (bytes >= 1 << 10) return absl::StrFormat("%.2f KiB", bytes / (1 << 10));
  return absl::StrFormat("%.0f B", bytes);
}

size_t PeakRssBytes() {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<size_t>(usage.ru_maxrss) * 1024;
}

}  // namespace smallmind::cli
