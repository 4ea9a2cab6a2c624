#include "tools/smallmind/flags.h"

#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

namespace smallmind::cli {
namespace {

std::string Dashed(absl::string_view name) {
  return absl::StrReplaceAll(name, {{"_", "-"}});
}

absl::Status BadValue(absl::string_view flag, absl::string_view value,
                      absl::string_view expected) {
  return absl::InvalidArgumentError(absl::StrCat(
      "--", flag, ": '", value, "' is not ", expected));
}

// Parses `value` into whatever `target` points at.
struct Assign {
  absl::string_view flag, value;

  absl::Status operator()(bool* b) const {
    const std::string v = absl::AsciiStrToLower(value);
    if (v == "true" || v == "1" || v == "yes") {
      *b = true;
    } else if (v == "false" || v == "0" || v == "no") {
      *b = false;
    } else {
      return BadValue(flag, value, "true or false");
    }
    return absl::OkStatus();
  }
  template <class Int>
  absl::Status Integer(Int* out) const {
    Int v;
    if (!absl::SimpleAtoi(value, &v)) return BadValue(flag, value, "an integer in range");
    *out = v;
    return absl::OkStatus();
  }
  absl::Status operator()(int32_t* i) const { return Integer(i); }
  absl::Status operator()(int64_t* i) const { return Integer(i); }
  absl::Status operator()(uint64_t* i) const { return Integer(i); }
  absl::Status operator()(float* f) const {
    float v;
    if (!absl::SimpleAtof(value, &v) || !std::isfinite(v)) {
      return BadValue(flag, value, "a finite number");
    }
    *f = v;
    return absl::OkStatus();
  }
  absl::Status operator()(double* d) const {
    double v;
    if (!absl::SimpleAtod(value, &v) || !std::isfinite(v)) {
      return BadValue(flag, value, "a finite number");
    }
    *d = v;
    return absl::OkStatus();
  }
  absl::Status operator()(std::string* s) const {
    *s = std::string(value);
    return absl::OkStatus();
  }
  absl::Status operator()(std::vector<std::string>* list) const {
    list->emplace_back(value);
    return absl::OkStatus();
  }
};

// A field's current value as --help shows it; empty when there is nothing
// to show.
struct Show {
  std::string operator()(const bool* b) const { return *b ? "true" : "false"; }
  std::string operator()(const int32_t* i) const { return absl::StrCat(*i); }
  std::string operator()(const int64_t* i) const { return absl::StrCat(*i); }
  std::string operator()(const uint64_t* i) const { return absl::StrCat(*i); }
  std::string operator()(const float* f) const { return absl::StrCat(*f); }
  std::string operator()(const double* d) const { return absl::StrCat(*d); }
  std::string operator()(const std::string* s) const { return *s; }
  std::string operator()(const std::vector<std::string>* l) const {
    return absl::StrJoin(*l, ",");
  }
};

}  // namespace

void Flags::Register(Target target, const core::FieldInfo& info) {
  flags_.push_back({info, target, std::visit(Show{}, target)});
}

const Flags::Flag* Flags::Find(const std::string& name, bool is_long) const {
  // llama.cpp's short spellings of more than one letter: -ctk, not -c tk.
  static constexpr std::pair<const char*, const char*> kLlamaShort[] = {
      {"ctk", "cache-type-k"}, {"ctv", "cache-type-v"}, {"np", "parallel"},
      {"jf", "json-schema-file"}};
  if (!is_long && name.size() > 1) {
    for (const auto& [short_name, long_name] : kLlamaShort) {
      if (name == short_name) return Find(long_name, true);
    }
    return nullptr;
  }
  for (const Flag& f : flags_) {
    if (is_long ? Dashed(name) == f.info.flag
                : (f.info.short_flag != 0 && name.size() == 1 &&
                   name[0] == f.info.short_flag)) {
      return &f;
    }
  }
  return nullptr;
}

absl::StatusOr<std::vector<std::string>> Flags::Parse(
    const std::vector<std::string>& args) {
  std::vector<std::string> positional;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      positional.insert(positional.end(), args.begin() + i + 1, args.end());
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      positional.push_back(arg);
      continue;
    }
    const bool is_long = arg[1] == '-';
    const absl::string_view body = absl::string_view(arg).substr(is_long ? 2 : 1);
    const size_t equals = body.find('=');
    const std::string name(body.substr(0, equals));
    if (name == "help" || name == "h") {
      help_requested_ = true;
      continue;
    }
    const Flag* flag = Find(name, is_long);
    bool negated = false;
    if (flag == nullptr && is_long && absl::StartsWith(Dashed(name), "no-")) {
      flag = Find(name.substr(3), true);
      negated = flag != nullptr && std::holds_alternative<bool*>(flag->target);
      if (!negated) flag = nullptr;
    }
    if (flag == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag '", arg, "'; see --help"));
    }
    const bool is_bool = std::holds_alternative<bool*>(flag->target);
    std::string value;
    if (equals != absl::string_view::npos) {
      if (negated) {
        return absl::InvalidArgumentError(
            absl::StrCat("--no-", flag->info.flag, " takes no value"));
      }
      value = std::string(body.substr(equals + 1));
    } else if (is_bool) {
      value = negated ? "false" : "true";
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("flag '", arg, "' needs a value"));
    }
    const absl::Status s = std::visit(Assign{flag->info.flag, value}, flag->target);
    if (!s.ok()) return s;
  }
  return positional;
}

std::string Flags::Help() const {
  std::string out;
  for (const Flag& f : flags_) {
    const std::string names =
        f.info.short_flag != 0
            ? absl::StrFormat("-%c, --%s", f.info.short_flag, f.info.flag)
            : absl::StrCat("    --", f.info.flag);
    absl::StrAppendFormat(&out, "  %-26s %s", names, f.info.help);
    if (!f.default_value.empty()) {
      absl::StrAppend(&out, " (default: ", f.default_value, ")");
    }
    out += "\n";
  }
  return out;
}

}  // namespace smallmind::cli
