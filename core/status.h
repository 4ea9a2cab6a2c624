// Status helpers over absl::Status / absl::StatusOr.
#ifndef SMALLMIND_CORE_STATUS_H_
#define SMALLMIND_CORE_STATUS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

#define SM_STATUS_CONCAT_INNER_(a, b) a##b
#define SM_STATUS_CONCAT_(a, b) SM_STATUS_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status) and returns it from the enclosing
// function if it is not OK.
#define SM_RETURN_IF_ERROR(expr)                \
  do {                                          \
    ::absl::Status sm_status_ = (expr);         \
    if (!sm_status_.ok()) return sm_status_;    \
  } while (0)

// `SM_ASSIGN_OR_RETURN(auto x, MakeX());` declares/assigns `x` from a
// StatusOr, or returns its error from the enclosing function.
#define SM_ASSIGN_OR_RETURN(lhs, expr)                                      \
  SM_ASSIGN_OR_RETURN_IMPL_(SM_STATUS_CONCAT_(sm_statusor_, __LINE__), lhs, \
                            expr)
#define SM_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return std::move(tmp).status();  \
  lhs = std::move(tmp).value()

namespace smallmind::core {

// `status` with "where: " before its message (same code), e.g. a file's
// path before what is wrong with it.
inline absl::Status Prefixed(const absl::Status& status, absl::string_view where) {
  return absl::Status(status.code(), absl::StrCat(where, ": ", status.message()));
}

}  // namespace smallmind::core

#endif  // SMALLMIND_CORE_STATUS_H_
