// Command-line flags made from option structs (core/field_info.h): every
// field a struct visits becomes a flag with its long and short names, is
// parsed from argv, and is listed in --help with its default. Flags follow
// llama.cpp's spelling: `-n 64`, `--n-predict 64`, `--n-predict=64`,
// `--n_predict 64`; booleans as `--flag`, `--no-flag` or `--flag=false`;
// list fields (std::vector<std::string>) take one value per occurrence.
#ifndef SMALLMIND_TOOLS_SMALLMIND_FLAGS_H_
#define SMALLMIND_TOOLS_SMALLMIND_FLAGS_H_

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "core/field_info.h"

namespace smallmind::cli {

class Flags {
 public:
  // Registers every field of `options`, which must outlive the Flags. The
  // fields' current values are the defaults --help shows.
  template <class Options>
  Flags& Add(Options& options) {
    options.VisitFields(*this);
    return *this;
  }

  // The visitor Add passes to VisitFields.
  template <class T>
  void operator()(T& field, const core::FieldInfo& info) {
    Register(Target(&field), info);
  }

  // Parses `args` (without the program and command names) into the
  // fields; returns the positional arguments. Errors name the flag and
  // the value. `--help` and `-h` set help_requested() instead.
  absl::StatusOr<std::vector<std::string>> Parse(const std::vector<std::string>& args);
  bool help_requested() const { return help_requested_; }

  // One line per flag: names, help and default.
  std::string Help() const;

 private:
  using Target = std::variant<bool*, int32_t*, int64_t*, uint64_t*, float*,
                              double*, std::string*, std::vector<std::string>*>;
  struct Flag {
    core::FieldInfo info;
    Target target;
    std::string default_value;
  };
  void Register(Target target, const core::FieldInfo& info);
  const Flag* Find(const std::string& name, bool is_long) const;

  std::vector<Flag> flags_;
  bool help_requested_ = false;
};

}  // namespace smallmind::cli

#endif  // SMALLMIND_TOOLS_SMALLMIND_FLAGS_H_
