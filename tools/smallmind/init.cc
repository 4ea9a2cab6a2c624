// smallmind init: write a model of a named preset with random weights.
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/dtype.h"
#include "formats/open.h"
#include "model/model.h"
#include "model/presets.h"
#include "tools/smallmind/commands.h"


namespace smallmind::cli {
namespace {

struct InitArgs {
  std::string preset = "small";
  std::string dtype = "f32";
  uint64_t seed = 0;

  template <class Visitor>
  void VisitFields(Visitor&& v) {
    v(preset, {"preset", 0, nullptr, "architecture: small, medium or stories15m"});
    v(dtype, {"dtype", 0, nullptr, "dtype of the matmul weights"});
    v(seed, {"seed", 's', nullptr, "seed of the random weights"});
  }
};

int Run(const std::vector<std::string>& argv) {
  InitArgs args;
  Flags flags;
  flags.Add(args);
  std::vector<std::string> positional;
  if (int code; !ParseFlags(InitCommand(), flags, argv, &positional, &code)) return code;
  if (positional.size() != 1) {
    return Fail("init", absl::InvalidArgumentError(
                            "expected one output path, e.g. "
                            "`smallmind init --preset small small.smm`"));
  }
  absl::StatusOr<model::Preset> preset =
      model::FindPreset(args.preset);
  if (!preset.ok()) return Fail("init", preset.status());
  absl::StatusOr<core::DType> dtype = core::DTypeFromName(args.dtype);
  if (!dtype.ok()) return Fail("init", dtype.status());
  absl::StatusOr<model::TokenizerSpec> tokenizer =
      model::ByteTokenizer(preset->arch.vocab_size());
  if (!tokenizer.ok()) return Fail("init", tokenizer.status());
  model::RandomModelOptions options;
  options.dtype = *dtype;
  options.seed = args.seed;
  const std::string& path = positional[0];
  absl::Status status = model::WriteRandomModel(
      path,
      model::DescribeModel(preset->arch, *tokenizer, "random",
                             absl::StrCat("smallmind init --preset ",
                                          preset->name)),
      options);
  if (!status.ok()) return Fail("init", status);
  absl::StatusOr<std::unique_ptr<model::Model>> model =
      formats::OpenModel(path);
  if (!model.ok()) return Fail("init", model.status());
  std::printf("wrote %s: %s (%s), %s params, %s, %s\n", path.c_str(),
              preset->name.c_str(), preset->summary.c_str(),
              HumanCount((*model)->num_parameters()).c_str(),
              std::string(core::DTypeName(*dtype)).c_str(),
              HumanBytes((*model)->data().size_bytes()).c_str());
  return 0;
}

}  // namespace

Command InitCommand() {
  return {"init",
          "smallmind init --preset small|medium|stories15m [--dtype q8_0] "
          "OUT.smm",
          "write a model of a preset shape with random weights", Run};
}

}  // namespace smallmind::cli
