#include "tools/smallmind/load_model.h"

#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/status.h"
#include "formats/converted.h"
#include "formats/gguf_import.h"

namespace smallmind::cli {

absl::StatusOr<ModelSource> ModelSource::Open(const std::string& path) {
  ModelSource source;
  if (!absl::EndsWithIgnoreCase(path, ".gguf")) {
    source.path_ = path;
    return source;
  }
  const auto start = std::chrono::steady_clock::now();
  SM_ASSIGN_OR_RETURN(formats::ConvertedModel converted, formats::ImportGguf(path));
  source.fd_ = memfd_create("smallmind-model", MFD_CLOEXEC);
  if (source.fd_ < 0) return absl::InternalError("memfd_create failed");
  source.path_ = absl::StrCat("/proc/self/fd/", source.fd_);
  SM_RETURN_IF_ERROR(formats::WriteConverted(source.path_, converted, std::nullopt, nullptr));
  absl::FPrintF(stderr, "converted %s in memory in %.0f ms\n", path,
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                    .count());
  return source;
}

ModelSource::ModelSource(ModelSource&& other) noexcept
    : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)) {}

ModelSource::~ModelSource() {
  if (fd_ >= 0) close(fd_);
}

absl::StatusOr<runtime::LoadedModel> LoadModel(const ModelArgs& args) {
  if (args.path.empty()) return absl::InvalidArgumentError("no model file given (-m)");
  SM_ASSIGN_OR_RETURN(ModelSource source, ModelSource::Open(args.path));
  SM_ASSIGN_OR_RETURN(runtime::LoadedModel loaded, runtime::LoadedModel::Load(source.path(), args.load));
  loaded.path = args.path;
  return loaded;
}

}  // namespace smallmind::cli
