#include "tools/smallmind/cli.h"

#include <sys/resource.h>

#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace smallmind::cli {

bool ParseFlags(const Command& command, Flags& flags,
                const std::vector<std::string>& args,
                std::vector<std::string>* positional, int* exit_code) {
  absl::StatusOr<std::vector<std::string>> parsed = flags.Parse(args);
  if (!parsed.ok()) {
    *exit_code = Fail(command.name, parsed.status());
    return false;
  }
  if (flags.help_requested()) {
    std::printf("usage: %s\n\n%s\n\nflags:\n%s", command.usage, command.summary,
                flags.Help().c_str());
    *exit_code = 0;
    return false;
  }
  *positional = *std::move(parsed);
  return true;
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
