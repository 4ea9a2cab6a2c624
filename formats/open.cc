#include "formats/open.h"

#include <cstring>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/mapped_file.h"
#include "core/status.h"
#include "formats/gguf_import.h"
#include "formats/hf_import.h"
#include "formats/llama2c_import.h"
#include "model/model_file.h"

namespace smallmind::formats {

absl::string_view FormatName(Format format) {
  switch (format) {
    case Format::kSmm: return "smm";
    case Format::kGguf: return "gguf";
    case Format::kHuggingFace: return "huggingface";
    case Format::kLlama2c: return "llama2c";
  }
  return "unknown";
}

absl::StatusOr<Format> FormatFromName(absl::string_view name) {
  for (Format f : {Format::kSmm, Format::kGguf, Format::kHuggingFace, Format::kLlama2c}) {
    if (name == FormatName(f)) return f;
  }
  if (name == "safetensors") return Format::kHuggingFace;  // its earlier name
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown model format '", name, "' (auto, smm, gguf, huggingface, llama2c)"));
}

absl::StatusOr<Format> DetectFormat(const std::string& path) {
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) {
    if (!std::filesystem::exists(std::filesystem::path(path) / "config.json", error)) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, " is a directory without a config.json (a Hugging Face checkpoint has one)"));
    }
    return Format::kHuggingFace;
  }
  SM_ASSIGN_OR_RETURN(core::MappedFile file, core::MappedFile::Open(path));
  const absl::Span<const uint8_t> bytes = file.bytes();
  if (model::IsModelFile(bytes)) return Format::kSmm;
  if (bytes.size() >= 4 && std::memcmp(bytes.data(), "GGUF", 4) == 0) return Format::kGguf;
  if (absl::EndsWith(path, ".bin")) return Format::kLlama2c;
  return absl::InvalidArgumentError(absl::StrCat(
      path, ": not a model SmallMind can tell (a .smm or GGUF file, a Hugging Face "
            "directory, or a llama2.c .bin checkpoint)"));
}

absl::StatusOr<std::unique_ptr<model::ModelData>> Open(const std::string& path,
                                                       const OpenOptions& options) {
  if (path.empty()) return absl::InvalidArgumentError("no model given");
  Format format;
  if (options.format == "auto") {
    SM_ASSIGN_OR_RETURN(format, DetectFormat(path));
  } else {
    SM_ASSIGN_OR_RETURN(format, FormatFromName(options.format));
  }
  absl::StatusOr<model::ModelData> data;
  switch (format) {
    case Format::kSmm:
      return model::ReadModelFile(path);
    case Format::kGguf:
      data = ImportGguf(path);
      break;
    case Format::kHuggingFace:
      data = ImportHuggingFace(path);
      if (!data.ok()) {
        data = core::Prefixed(data.status(), path);
      }
      break;
    case Format::kLlama2c: {
      std::string tokenizer = options.llama2c_tokenizer;
      if (tokenizer.empty()) {
        tokenizer = (std::filesystem::path(path).parent_path() / "tokenizer.bin").string();
      }
      data = ImportLlama2c(path, tokenizer);
      break;
    }
  }
  if (!data.ok()) return data.status();
  return std::make_unique<model::ModelData>(*std::move(data));
}

absl::StatusOr<std::unique_ptr<model::Model>> OpenModel(const std::string& path,
                                                        const OpenOptions& options) {
  SM_ASSIGN_OR_RETURN(std::unique_ptr<model::ModelData> data, Open(path, options));
  absl::StatusOr<std::unique_ptr<model::Model>> model = model::Model::Create(std::move(data));
  if (!model.ok()) {
    return core::Prefixed(model.status(), path);
  }
  return model;
}

}  // namespace smallmind::formats
