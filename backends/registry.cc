#include "backends/registry.h"

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace smallmind::backends {
namespace {

struct Entry {
  std::unique_ptr<Backend> backend;
  int score;
};

// Function-local static: safe to use from other translation units' static
// initialisers, whatever the link order.
std::vector<Entry>& Entries() {
  static auto* entries = new std::vector<Entry>();
  return *entries;
}

}  // namespace

bool Registry::Register(std::unique_ptr<Backend> backend, int score) {
  std::vector<Entry>& entries = Entries();
  entries.push_back({std::move(backend), score});
  std::stable_sort(entries.begin(), entries.end(),
                   [](const Entry& a, const Entry& b) { return a.score > b.score; });
  return true;
}

std::vector<std::string> Registry::List() {
  std::vector<std::string> names;
  for (const Entry& e : Entries()) names.emplace_back(e.backend->name());
  return names;
}

absl::StatusOr<const Backend*> Registry::Get(absl::string_view name,
                                             core::DType dtype) {
  const std::string wanted = absl::AsciiStrToLower(name);
  if (wanted == "auto") {
    for (const Entry& e : Entries()) {
      if (e.backend->Supports(dtype)) return e.backend.get();
    }
    return absl::NotFoundError(absl::StrFormat(
        "no registered backend supports %s weights (registered: %s)",
        core::DTypeName(dtype), absl::StrJoin(List(), ", ")));
  }
  for (const Entry& e : Entries()) {
    if (e.backend->name() != wanted) continue;
    if (!e.backend->Supports(dtype)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "backend '%s' does not support %s weights", wanted,
          core::DTypeName(dtype)));
    }
    return e.backend.get();
  }
  return absl::NotFoundError(absl::StrFormat(
      "unknown backend '%s'; registered backends: %s (or auto)", name,
      absl::StrJoin(List(), ", ")));
}

absl::StatusOr<const Backend*> Registry::Select(absl::string_view name,
                                                core::DType dtype) {
  if (!name.empty()) return Get(name, dtype);
  const char* env = std::getenv(kBackendEnvVar);
  if (env != nullptr && *env != '\0') return Get(env, dtype);
  return Get("auto", dtype);
}

}  // namespace smallmind::backends
