// A small logging helper: this Abseil (20220623) has no absl/log.
//
// `SM_LOG(kInfo, "loaded %d tensors", n);` writes one line to stderr when the
// severity is at or above the threshold (SMALLMIND_LOG=debug|info|warning|
// error, default info). `SM_CHECK(cond)` is for invariants the program itself
// guarantees; anything a user can get wrong returns an absl::Status instead.
#ifndef SMALLMIND_CORE_LOGGING_H_
#define SMALLMIND_CORE_LOGGING_H_

#include <string>

#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace smallmind::core {

enum class LogSeverity { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// True if messages of `severity` are currently written.
bool LogEnabled(LogSeverity severity);
// Overrides the threshold read from SMALLMIND_LOG.
void SetLogThreshold(LogSeverity severity);
// Writes "[I file:line] message\n" to stderr in one write.
void LogMessage(LogSeverity severity, const char* file, int line,
                absl::string_view message);
// Logs "CHECK failed" with the condition and aborts.
[[noreturn]] void CheckFailed(const char* file, int line, const char* cond,
                              absl::string_view message);

}  // namespace smallmind::core

#define SM_LOG(severity, ...)                                             \
  do {                                                                    \
    if (::smallmind::core::LogEnabled(                                    \
            ::smallmind::core::LogSeverity::severity)) {                  \
      ::smallmind::core::LogMessage(::smallmind::core::LogSeverity::severity, \
                                    __FILE__, __LINE__,                   \
                                    ::absl::StrFormat(__VA_ARGS__));      \
    }                                                                     \
  } while (0)

#define SM_CHECK(cond)                                                   \
  do {                                                                   \
    if (!(cond)) ::smallmind::core::CheckFailed(__FILE__, __LINE__, #cond, ""); \
  } while (0)

#endif  // SMALLMIND_CORE_LOGGING_H_
