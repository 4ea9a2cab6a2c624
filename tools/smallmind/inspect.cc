// smallmind inspect: a model's description and tensors, whatever its
// format (formats::Open).
#include <cstdio>
#include <string>

#include "core/shape.h"
#include "formats/open.h"
#include "google/protobuf/text_format.h"
#include "model/model.h"
#include "model/model_data.h"
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
    v(tensors, {"tensors", 0, nullptr, "list the tensors"});
  }
};

// Each tensor, and whether its bytes are the file's own (used in place) or
// were made on opening (fused, transposed, widened).
void PrintTensors(const model::ModelData& data) {
  std::printf("\n%-32s %-6s %-16s %10s  %s\n", "tensor", "dtype", "shape", "bytes", "bytes are");
  for (const model::ModelTensor& t : data.tensors) {
    std::printf("%-32s %-6s %-16s %10llu  %s\n", t.name.c_str(),
                std::string(core::DTypeName(t.dtype)).c_str(), core::DimsToString(t.shape).c_str(),
                static_cast<unsigned long long>(t.bytes.size()),
                t.owned.empty() ? "the file's" : "made on opening");
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
                               "expected one model: smallmind inspect MODEL"));
  }
  const std::string& path = positional[0];
  // The data alone first, so a model whose tensors disagree with its
  // architecture can still be inspected; then the model's own checks.
  absl::StatusOr<std::unique_ptr<model::ModelData>> file = formats::Open(path);
  if (!file.ok()) return Fail("inspect", file.status());
  const model::ModelDescription& d = (*file)->description;
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
  std::printf("# tensors: %s\n", HumanBytes((*file)->size_bytes()).c_str());
  absl::StatusOr<std::unique_ptr<model::Model>> model = model::Model::Create(std::move(*file));
  if (model.ok()) {
    std::printf("# parameters: %s (%lld); matmul weights: %s\n",
                HumanCount((*model)->num_parameters()).c_str(),
                static_cast<long long>((*model)->num_parameters()),
                std::string(core::DTypeName((*model)->weight_dtype())).c_str());
    if (args.tensors) PrintTensors((*model)->data());
    return 0;
  }
  std::printf("# NOT LOADABLE: %s\n",
              std::string(model.status().message()).c_str());
  return 1;
}

}  // namespace

Command InspectCommand() {
  return {"inspect",
          "smallmind inspect [--format summary|textproto] MODEL",
          "print a model's description and tensors (any format)", Run};
}

}  // namespace smallmind::cli
