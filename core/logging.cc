#include "core/logging.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "absl/strings/ascii.h"

namespace smallmind::core {
namespace {

LogSeverity ThresholdFromEnv() {
  const char* env = std::getenv("SMALLMIND_LOG");
  if (env == nullptr) return LogSeverity::kInfo;
  const std::string value = absl::AsciiStrToLower(env);
  if (value == "debug") return LogSeverity::kDebug;
  if (value == "warning") return LogSeverity::kWarning;
  if (value == "error") return LogSeverity::kError;
  return LogSeverity::kInfo;
}

std::atomic<int>& Threshold() {
  static std::atomic<int> threshold{static_cast<int>(ThresholdFromEnv())};
  return threshold;
}

char SeverityLetter(LogSeverity severity) {
  switch (severity) {
    case LogSeverity::kDebug:
      return 'D';
    case LogSeverity::kInfo:
      return 'I';
    case LogSeverity::kWarning:
      return 'W';
    case LogSeverity::kError:
      return 'E';
  }
  return '?';
}

const char* Basename(const char* path) {
  const char* slash = std::strrchr(path, '/');
  return slash == nullptr ? path : slash + 1;
}

}  // namespace

bool LogEnabled(LogSeverity severity) {
  return static_cast<int>(severity) >=
         Threshold().load(std::memory_order_relaxed);
}

void SetLogThreshold(LogSeverity severity) {
  Threshold().store(static_cast<int>(severity), std::memory_order_relaxed);
}

void LogMessage(LogSeverity severity, const char* file, int line,
                absl::string_view message) {
  // One write() per line keeps lines from concurrent threads whole.
  const std::string text = absl::StrFormat(
      "[%c %s:%d] %s\n", SeverityLetter(severity), Basename(file), line, message);
  ssize_t ignored = ::write(STDERR_FILENO, text.data(), text.size());
  (void)ignored;
}

void CheckFailed(const char* file, int line, const char* cond,
                 absl::string_view message) {
  LogMessage(LogSeverity::kError, file, line,
             absl::StrFormat("CHECK failed: %s %s", cond, message));
  std::abort();
}

}  // namespace smallmind::core
