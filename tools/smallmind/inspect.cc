// smallmind inspect: a model file's description and tensor table.
#include <cstdio>
#include <string>

#include "core/shape.h"
#include "google/protobuf/text_format.h"
#include "model/model.h"
#include "model/model_file.h"
#include "tools/smallmind/commands.h"


namespace smallmind::cli {
namespace {

struct InspectArgs {
  std::string format = "summary";
  bool tensors = true;

  template <class Visitor>
  void VisitFields(Visitor&& v) {
    v(format, {"format", 0, nullptr,
               "summary, or textproto (the whole description, vocabulary included)"});
    v(tensors, {"tensors", 0, nullptr, "list the tensor table"});
  }
};

void PrintTensors(const model::ModelDescription& d) {
  std::printf("\n%-32s %-6s %-16s %12s %10s\n", "tensor", "dtype", "shape",
              "offset", "bytes");
  for (const model::TensorInfo& t : d.tensors()) {
    std::printf("%-32s %-6s %-16s %12llu %10llu\n", t.name().c_str(),
                std::string(core::DTypeName(model::DTypeFromProto(t.dtype())))
                    .c_str(),
                core::DimsToString(t.shape()).c_str(),
                static_cast<unsigned long long>(t.offset()),
                static_cast<unsigned long long>(t.size()));
  }
}

int Run(const std::vector<std::string>& argv) {
  InspectArgs args;
  Flags flags;
  flags.Add(args);
  std::vector<std::string> positional;
  if (int code; !ParseFlags(InspectCommand(), flags, argv, &positional, &code)) return code;
  if (positional.size() != 1) {
    return Fail("inspect", absl::InvalidArgumentError(
                               "expected one model file: smallmind inspect "
                               "MODEL.smm"));
  }
  const std::string& path = positional[0];
  // The file alone first, so a model whose tensors disagree with its
  // architecture can still be inspected; then the model's own checks.
  absl::StatusOr<std::unique_ptr<model::ModelFile>> file =
      model::ModelFile::Open(path);
  if (!file.ok()) return Fail("inspect", file.status());
  const model::ModelDescription& d = (*file)->description();
  const std::string& format = args.format;
  if (format == "textproto") {
    std::string text;
    model::ModelDescription shown = d;
    if (!args.tensors) shown.clear_tensors();
    google::protobuf::TextFormat::PrintToString(shown, &text);
    std::fwrite(text.data(), 1, text.size(), stdout);
    return 0;
  }
  if (format != "summary") {
    return Fail("inspect", absl::InvalidArgumentError(
                               "--format must be summary or textproto"));
  }
  // The description without its vocabulary, which is thousands of lines.
  model::ModelDescription head = d;
  head.clear_tensors();
  model::TokenizerSpec* tok = head.mutable_tokenizer();
  const int vocab = tok->tokens_size();
  const int merges = tok->merges_size();
  tok->clear_tokens();
  tok->clear_scores();
  tok->clear_token_types();
  tok->clear_merges();
  std::string text;
  google::protobuf::TextFormat::PrintToString(head, &text);
  std::printf("%s", text.c_str());
  std::printf("# tokenizer: %d tokens, %d merges\n", vocab, merges);
  std::printf("# file: %s\n", HumanBytes((*file)->size_bytes()).c_str());
  absl::StatusOr<std::unique_ptr<model::Model>> model =
      model::Model::FromFile(std::move(*file));
  if (model.ok()) {
    std::printf("# parameters: %s (%lld); matmul weights: %s\n",
                HumanCount((*model)->num_parameters()).c_str(),
                static_cast<long long>((*model)->num_parameters()),
                std::string(core::DTypeName((*model)->weight_dtype())).c_str());
    if (args.tensors) PrintTensors((*model)->description());
    return 0;
  }
  std::printf("# NOT LOADABLE: %s\n",
              std::string(model.status().message()).c_str());
  return 1;
}

}  // namespace

Command InspectCommand() {
  return {"inspect",
          "smallmind inspect [--format summary|textproto] MODEL.smm",
          "print a model's description and tensor table", Run};
}

}  // namespace smallmind::cli
