#include "tools/smallmind/load_model.h"

namespace smallmind::cli {

absl::StatusOr<runtime::LoadedModel> LoadModel(const ModelArgs& args) {
  if (args.path.empty()) return absl::InvalidArgumentError("no model given (-m)");
  return runtime::LoadedModel::Load(args.path, args.load);
}

}  // namespace smallmind::cli
