// The backend registry. Backends register themselves at static
// initialisation (their cc_library has alwayslink = True), so linking a
// backend's target is what plugs it in.
//
// Names are case-insensitive. "auto" picks the registered backend with the
// highest score that supports the weight dtype.
// Thread-safe: registration happens before main; lookups only read.
#ifndef SMALLMIND_BACKENDS_REGISTRY_H_
#define SMALLMIND_BACKENDS_REGISTRY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "backends/backend.h"
#include "core/dtype.h"

namespace smallmind::backends {

// The environment variable consulted when no backend is named.
inline constexpr char kBackendEnvVar[] = "SMALLMIND_BACKEND";

class Registry {
 public:
  // Adds a backend; `score` ranks it for "auto" (higher is preferred).
  // Returns true so it can initialise a static.
  static bool Register(std::unique_ptr<Backend> backend, int score);

  // Registered names, in descending score order.
  static std::vector<std::string> List();

  // The backend called `name` (any case), or "auto" resolved for `dtype`.
  // Errors: an unknown name (the message lists the registered names), or a
  // backend that does not support `dtype`.
  static absl::StatusOr<const Backend*> Get(absl::string_view name,
                                            core::DType dtype);

  // Get() with the name taken from `name` if non-empty, else from
  // $SMALLMIND_BACKEND if set, else "auto".
  static absl::StatusOr<const Backend*> Select(absl::string_view name,
                                               core::DType dtype);
};

}  // namespace smallmind::backends

// Registers `Type` (default-constructible) with `score` at static init.
#define SMALLMIND_REGISTER_BACKEND(Type, score)                             \
  static const bool smallmind_backend_registered_##Type =                  \
      ::smallmind::backends::Registry::Register(std::make_unique<Type>(),  \
                                                score)

#endif  // SMALLMIND_BACKENDS_REGISTRY_H_
