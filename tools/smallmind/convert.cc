// smallmind convert: any model formats::Open reads (GGUF, a Hugging Face
// checkpoint, llama2.c) written as a .smm file, optionally re-quantized.
#include <cstdio>
#include <optional>
#include <string>

#include "core/dtype.h"
#include "formats/open.h"
#include "formats/smm_writer.h"
#include "model/model.h"
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
             "input format: auto, smm, gguf, huggingface (a directory) or llama2c"});
    v(tokenizer, {"tokenizer", 0, nullptr,
                  "llama2.c only: tokenizer.bin (default: beside the checkpoint)"});
  }
};

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
  formats::OpenOptions open;
  open.format = args.from;
  open.llama2c_tokenizer = args.tokenizer;
  absl::StatusOr<std::unique_ptr<model::ModelData>> model = formats::Open(in, open);
  if (!model.ok()) return Fail("convert", model.status());
  absl::StatusOr<formats::Format> format =
      args.from == "auto" ? formats::DetectFormat(in) : formats::FormatFromName(args.from);
  if (!format.ok()) return Fail("convert", format.status());
  absl::Status status = formats::WriteSmm(out, **model, quantize, ShowProgress);
  if (!status.ok()) return Fail("convert", status);
  absl::StatusOr<std::unique_ptr<model::Model>> written = formats::OpenModel(out);
  if (!written.ok()) return Fail("convert", written.status());
  std::printf("wrote %s: %s, %s params, %s weights, %s (from %s)\n", out.c_str(),
              (*written)->arch().name().c_str(),
              HumanCount((*written)->num_parameters()).c_str(),
              std::string(core::DTypeName((*written)->weight_dtype())).c_str(),
              HumanBytes((*written)->data().size_bytes()).c_str(),
              std::string(formats::FormatName(*format)).c_str());
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
