// Reading the JSON of Hugging Face checkpoints (config.json,
// tokenizer.json, ...) without nlohmann's exceptions: every access checks
// the type and errors with the file and key it is about.
#ifndef SMALLMIND_FORMATS_JSON_UTIL_H_
#define SMALLMIND_FORMATS_JSON_UTIL_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace smallmind::formats {

using Json = nlohmann::json;

// `text` parsed; `what` names the file in the error.
inline absl::StatusOr<Json> ParseJson(absl::string_view text, absl::string_view what) {
  Json j = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is not valid JSON"));
  }
  return j;
}

// object[key] when present and not null, else null.
inline const Json* Field(const Json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

// A positive integer (at most 2^24: sizes and counts), or `fallback` when
// absent.
inline absl::StatusOr<int64_t> PositiveInt(const Json& object, const char* key,
                                           absl::string_view what,
                                           std::optional<int64_t> fallback = std::nullopt) {
  const Json* v = Field(object, key);
  if (v == nullptr) {
    if (fallback) return *fallback;
    return absl::InvalidArgumentError(absl::StrCat(what, " has no '", key, "'"));
  }
  if (!v->is_number_integer() || v->get<int64_t>() <= 0 || v->get<int64_t>() > (1 << 24)) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": '", key, "' is not a positive integer"));
  }
  return v->get<int64_t>();
}

inline absl::StatusOr<double> Number(const Json& object, const char* key, absl::string_view what,
                                     std::optional<double> fallback = std::nullopt) {
  const Json* v = Field(object, key);
  if (v == nullptr) {
    if (fallback) return *fallback;
    return absl::InvalidArgumentError(absl::StrCat(what, " has no '", key, "'"));
  }
  if (!v->is_number()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": '", key, "' is not a number"));
  }
  return v->get<double>();
}

inline absl::StatusOr<std::string> String(const Json& object, const char* key,
                                          absl::string_view what,
                                          std::optional<std::string> fallback = std::nullopt) {
  const Json* v = Field(object, key);
  if (v == nullptr) {
    if (fallback) return *fallback;
    return absl::InvalidArgumentError(absl::StrCat(what, " has no '", key, "'"));
  }
  if (!v->is_string()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": '", key, "' is not a string"));
  }
  return v->get<std::string>();
}

inline absl::StatusOr<bool> Bool(const Json& object, const char* key, absl::string_view what,
                                 bool fallback) {
  const Json* v = Field(object, key);
  if (v == nullptr) return fallback;
  if (!v->is_boolean()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": '", key, "' is not true or false"));
  }
  return v->get<bool>();
}

}  // namespace smallmind::formats

#endif  // SMALLMIND_FORMATS_JSON_UTIL_H_
