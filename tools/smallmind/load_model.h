// The model a command names with -m, loaded on its --backend: any format
// formats::Open reads (a .smm or GGUF file, a Hugging Face directory, a
// llama2.c checkpoint).
#ifndef SMALLMIND_TOOLS_SMALLMIND_LOAD_MODEL_H_
#define SMALLMIND_TOOLS_SMALLMIND_LOAD_MODEL_H_

#include "absl/status/statusor.h"
#include "runtime/loaded_model.h"
#include "tools/smallmind/cli.h"

namespace smallmind::cli {

absl::StatusOr<runtime::LoadedModel> LoadModel(const ModelArgs& args);

}  // namespace smallmind::cli

#endif  // SMALLMIND_TOOLS_SMALLMIND_LOAD_MODEL_H_
