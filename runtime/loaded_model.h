// A model on a backend, ready for sessions: the model (from any format
// formats::Open reads), the backend chosen for its weights, the prepared
// Transformer and the tokenizer. What the `smallmind` command, the server
// and the public API all load.
#ifndef SMALLMIND_RUNTIME_LOADED_MODEL_H_
#define SMALLMIND_RUNTIME_LOADED_MODEL_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "backends/backend.h"
#include "model/model.h"
#include "runtime/options.h"
#include "runtime/transformer.h"
#include "text/tokenizer.h"

namespace smallmind::runtime {

struct LoadedModel {
  // `path`: a .smm or GGUF file, a Hugging Face directory or a llama2.c
  // checkpoint. Errors: an empty path, a missing or malformed model, an
  // unknown backend (the message lists the linked ones), a backend that
  // cannot multiply the weights' dtype.
  static absl::StatusOr<LoadedModel> Load(const std::string& path,
                                          const LoadOptions& options);

  std::string path;
  std::unique_ptr<model::Model> model;
  const backends::Backend* backend = nullptr;
  std::unique_ptr<Transformer> transformer;  // refers to *model
  std::unique_ptr<text::Tokenizer> tokenizer;
  double load_seconds = 0;  // mapping, validating and preparing weights
};

}  // namespace smallmind::runtime

#endif  // SMALLMIND_RUNTIME_LOADED_MODEL_H_
