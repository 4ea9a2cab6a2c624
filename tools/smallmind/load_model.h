// Opening the model a command names: a .smm file as it is, or a GGUF file
// converted in memory first (into an anonymous memfd that the mapping keeps
// alive), so a downloaded file runs in one command.
#ifndef SMALLMIND_TOOLS_SMALLMIND_LOAD_MODEL_H_
#define SMALLMIND_TOOLS_SMALLMIND_LOAD_MODEL_H_

#include <string>

#include "absl/status/statusor.h"
#include "runtime/loaded_model.h"
#include "tools/smallmind/cli.h"

namespace smallmind::cli {

class ModelSource {
 public:
  // `path` for a .smm file; a .gguf file is converted (a line on stderr
  // says so).
  static absl::StatusOr<ModelSource> Open(const std::string& path);
  ModelSource(ModelSource&& other) noexcept;
  ModelSource& operator=(ModelSource&&) = delete;
  ~ModelSource();

  // What model::Model::Load opens; valid while this object lives.
  const std::string& path() const { return path_; }

 private:
  ModelSource() = default;
  std::string path_;
  int fd_ = -1;  // the memfd of a converted file
};

// args.path loaded on args.load's backend (.smm or .gguf).
absl::StatusOr<runtime::LoadedModel> LoadModel(const ModelArgs& args);

}  // namespace smallmind::cli

#endif  // SMALLMIND_TOOLS_SMALLMIND_LOAD_MODEL_H_
