#include "runtime/loaded_model.h"

#include <chrono>

#include "backends/registry.h"
#include "core/status.h"
#include "formats/open.h"

namespace smallmind::runtime {

absl::StatusOr<LoadedModel> LoadedModel::Load(const std::string& path,
                                              const LoadOptions& options) {
  if (path.empty()) {
    return absl::InvalidArgumentError("no model given");
  }
  const auto start = std::chrono::steady_clock::now();
  LoadedModel loaded;
  loaded.path = path;
  SM_ASSIGN_OR_RETURN(loaded.model, formats::OpenModel(path));
  SM_ASSIGN_OR_RETURN(loaded.backend, backends::Registry::Select(
                                          options.backend, loaded.model->weight_dtype()));
  SM_ASSIGN_OR_RETURN(loaded.transformer,
                      Transformer::Create(*loaded.model, *loaded.backend));
  SM_ASSIGN_OR_RETURN(loaded.tokenizer,
                      text::Tokenizer::Create(loaded.model->description().tokenizer()));
  loaded.load_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return loaded;
}

}  // namespace smallmind::runtime
