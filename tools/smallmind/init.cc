// smallmind init: write a model of a named preset with random weights.
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "core/dtype.h"
#include "runtime/model.h"
#include "runtime/presets.h"
#include "tools/smallmind/commands.h"

ABSL_FLAG(std::string, preset, "small",
          "architecture: small, medium or stories15m");
ABSL_FLAG(std::string, dtype, "f32",
          "dtype of the matmul weights: f32, f16, bf16, q8_0 or q4_0");
ABSL_FLAG(uint64_t, init_seed, 0, "seed of the random weights");

namespace smallmind::cli {
namespace {

int Run(const Args& args) {
  if (args.positional.size() != 1) {
    return Fail("init", absl::InvalidArgumentError(
                            "expected one output path, e.g. "
                            "`smallmind init --preset small small.smm`"));
  }
  absl::StatusOr<runtime::Preset> preset =
      runtime::FindPreset(absl::GetFlag(FLAGS_preset));
  if (!preset.ok()) return Fail("init", preset.status());
  absl::StatusOr<core::DType> dtype =
      core::DTypeFromName(absl::GetFlag(FLAGS_dtype));
  if (!dtype.ok()) return Fail("init", dtype.status());
  absl::StatusOr<runtime::TokenizerSpec> tokenizer =
      runtime::ByteTokenizer(preset->arch.vocab_size());
  if (!tokenizer.ok()) return Fail("init", tokenizer.status());
  runtime::RandomModelOptions options;
  options.dtype = *dtype;
  options.seed = absl::GetFlag(FLAGS_init_seed);
  const std::string& path = args.positional[0];
  absl::Status status = runtime::WriteRandomModel(
      path,
      runtime::DescribeModel(preset->arch, *tokenizer, "random",
                             absl::StrCat("smallmind init --preset ",
                                          preset->name)),
      options);
  if (!status.ok()) return Fail("init", status);
  absl::StatusOr<std::unique_ptr<runtime::Model>> model =
      runtime::Model::Load(path);
  if (!model.ok()) return Fail("init", model.status());
  std::printf("wrote %s: %s (%s), %s params, %s, %s\n", path.c_str(),
              preset->name.c_str(), preset->summary.c_str(),
              HumanCount((*model)->num_parameters()).c_str(),
              std::string(core::DTypeName(*dtype)).c_str(),
              HumanBytes((*model)->file().size_bytes()).c_str());
  return 0;
}

}  // namespace

Command InitCommand() {
  return {"init",
          "smallmind init --preset small|medium|stories15m [--dtype q8_0] "
          "OUT.smm",
          "write a model of a preset shape with random weights",
          {{nullptr, "preset", "preset"},
           {nullptr, "dtype", "dtype"},
           {"s", "seed", "init_seed"}},
          Run};
}

}  // namespace smallmind::cli
