// One way in: whatever file or directory a user has, as model data. The
// format is told from the file itself (a .smm or GGUF file by its magic, a
// Hugging Face checkpoint by its directory, a llama.2c checkpoint by its
// .bin name), read, checked and, where the layout allows, used in place
// from its mapping. Everything that loads a model goes through here: the
// public API, the command line, the server, `convert` (Open, then
// WriteSmm).
#ifndef SMALLMIND_FORMATS_OPEN_H_
#define SMALLMIND_FORMATS_OPEN_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "model/model.h"
#include "model/model_data.h"

namespace smallmind::formats {

enum class Format { kSmm, kGguf, kHuggingFace, kLlama2c };

// "smm", "gguf", "huggingface", "llama2c".
absl::string_view FormatName(Format format);
absl::StatusOr<Format> FormatFromName(absl::string_view name);

// What `path` holds. Errors when it is missing or none of the formats.
absl::StatusOr<Format> DetectFormat(const std::string& path);

struct OpenOptions {
  std::string format = "auto";  // or a FormatName
  // A llama2.c checkpoint's tokenizer.bin; default: beside the checkpoint.
  std::string llama2c_tokenizer;
};

// Reads the model at `path`. Errors name the file and the problem.
absl::StatusOr<std::unique_ptr<model::ModelData>> Open(const std::string& path,
                                                       const OpenOptions& options = {});

// Open, then model::Model::Create.
absl::StatusOr<std::unique_ptr<model::Model>> OpenModel(const std::string& path,
                                                        const OpenOptions& options = {});

}  // namespace smallmind::formats

#endif  // SMALLMIND_FORMATS_OPEN_H_
