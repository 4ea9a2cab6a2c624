// smallmind convert: GGUF, Hugging Face checkpoints (GPT-2, Llama, Qwen2/3, Gemma 3, Phi-3) or llama2.c into
// a .smm model, optionally re-quantized.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "core/dtype.h"
#include "core/mapped_file.h"
#include "model/model.h"
#include "formats/converted.h"
#include "formats/gguf_import.h"
#include "formats/hf_import.h"
#include "formats/llama2c_import.h"
#include "formats/safetensors_import.h"
#include "tools/smallmind/commands.h"


namespace smallmind::cli {
namespace {

struct ConvertArgs {
  std::string quantize;
  std::string from = "auto";
  std::string tokenizer;

  template <class Visitor>
  void VisitFields(Visitor&& v) {
    v(quantize, {"quantize", 0, nullptr,
                 "re-quantize the matmul weights: q8_0, q4_0 (or f32, f16, bf16)"});
    v(from, {"from", 0, nullptr,
             "input format: auto, gguf, safetensors (a directory) or llama2c"});
    v(tokenizer, {"tokenizer", 0, nullptr,
                  "llama2.c only: tokenizer.bin (default: beside the checkpoint)"});
  }
};

absl::StatusOr<std::string> DetectFormat(const std::string& in) {
  std::error_code error;
  if (std::filesystem::is_directory(in, error)) return std::string("safetensors");
  absl::StatusOr<core::MappedFile> file = core::MappedFile::Open(in);
  if (!file.ok()) return file.status();
  if (file->bytes().size() >= 4 && std::memcmp(file->bytes().data(), "GGUF", 4) == 0) {
    return std::string("gguf");
  }
  if (absl::EndsWith(in, ".bin")) return std::string("llama2c");
  return absl::InvalidArgumentError(
      "cannot tell the input's format (not GGUF, not a directory, not .bin); "
      "use --from");
}

void ShowProgress(size_t done, size_t total, absl::string_view name) {
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(kWidth * done / total);
  std::fprintf(stderr, "\r[%s%s] %zu/%zu %-40.*s", std::string(filled, '#').c_str(),
               std::string(kWidth - filled, '.').c_str(), done, total,
               static_cast<int>(std::min<size_t>(name.size(), 40)), name.data());
  if (done == total) std::fprintf(stderr, "\n");
}

int Run(const std::vector<std::string>& argv) {
  ConvertArgs args;
  Flags flags;
  flags.Add(args);
  std::vector<std::string> positional;
  if (int code; !ParseFlags(ConvertCommand(), flags, argv, &positional, &code)) return code;
  if (positional.size() != 2) {
    return Fail("convert", absl::InvalidArgumentError(
                               "expected IN and OUT: smallmind convert "
                               "model.gguf model.smm"));
  }
  const std::string& in = positional[0];
  const std::string& out = positional[1];
  std::optional<core::DType> quantize;
  if (!args.quantize.empty()) {
    absl::StatusOr<core::DType> dtype = core::DTypeFromName(args.quantize);
    if (!dtype.ok()) return Fail("convert", dtype.status());
    quantize = *dtype;
  }
  std::string format = args.from;
  if (format == "auto") {
    absl::StatusOr<std::string> detected = DetectFormat(in);
    if (!detected.ok()) return Fail("convert", detected.status());
    format = *detected;
  }
  absl::StatusOr<formats::ConvertedModel> model;
  if (format == "gguf") {
    model = formats::ImportGguf(in);
  } else if (format == "safetensors") {
    model = formats::ImportHuggingFace(in);
  } else if (format == "llama2c") {
    std::string tokenizer = args.tokenizer;
    if (tokenizer.empty()) {
      tokenizer = (std::filesystem::path(in).parent_path() / "tokenizer.bin").string();
    }
    model = formats::ImportLlama2c(in, tokenizer);
  } else {
    return Fail("convert", absl::InvalidArgumentError(
                               "--from must be auto, gguf, safetensors or "
                               "llama2c, not " + format));
  }
  if (!model.ok()) return Fail("convert", model.status());
  absl::Status status =
      formats::WriteConverted(out, *model, quantize, ShowProgress);
  if (!status.ok()) return Fail("convert", status);
  absl::StatusOr<std::unique_ptr<model::Model>> written = model::Model::Load(out);
  if (!written.ok()) return Fail("convert", written.status());
  std::printf("wrote %s: %s, %s params, %s weights, %s (from %s)\n", out.c_str(),
              (*written)->arch().name().c_str(),
              HumanCount((*written)->num_parameters()).c_str(),
              std::string(core::DTypeName((*written)->weight_dtype())).c_str(),
              HumanBytes((*written)->file().size_bytes()).c_str(), format.c_str());
  return 0;
}

}  // namespace

Command ConvertCommand() {
  return {"convert",
          "smallmind convert [--quantize TYPE] IN OUT.smm",
          "convert a GGUF file, a Hugging Face directory or a llama2.c "
          "checkpoint",
          Run};
}

}  // namespace smallmind::cli
