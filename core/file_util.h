// Whole-file reads and writes for small text and state files (configs,
// vocabularies, reports, checkpoints' sidecars). Model weights are mapped
// instead (core/mapped_file.h).
#ifndef SMALLMIND_CORE_FILE_UTIL_H_
#define SMALLMIND_CORE_FILE_UTIL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace smallmind::core {

// The file's bytes; NotFound naming the path when it cannot be read.
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

// Replaces the file with `contents`; an error naming the path on failure.
absl::Status WriteStringToFile(const std::string& path, const std::string& contents);

}  // namespace smallmind::core

#endif  // SMALLMIND_CORE_FILE_UTIL_H_
