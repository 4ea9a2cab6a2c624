#include "runtime/test_model.h"

#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "model/presets.h"

namespace smallmind::runtime {

std::string WriteSmallTestModel(core::DType dtype, int64_t context) {
  const std::string path =
      absl::StrCat(std::getenv("TEST_TMPDIR"), "/small_",
                   core::DTypeName(dtype), "_", context, ".smm");
  model::Architecture arch = model::FindPreset("small")->arch;
  arch.set_context_length(context);
  model::RandomModelOptions options;
  options.dtype = dtype;
  options.stddev = 0.1f;  // large enough that logits differ between tokens
  const absl::Status status = model::WriteRandomModel(
      path, model::DescribeModel(arch, *model::ByteTokenizer(256), "random", "test"),
      options);
  EXPECT_TRUE(status.ok()) << status;
  return status.ok() ? path : "";
}

}  // namespace smallmind::runtime
