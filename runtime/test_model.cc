#include "runtime/test_model.h"

#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "runtime/presets.h"

namespace smallmind::runtime {

std::string WriteSmallTestModel(core::DType dtype, int64_t context) {
  const std::string path =
      absl::StrCat(std::getenv("TEST_TMPDIR"), "/small_",
                   core::DTypeName(dtype), "_", context, ".smm");
  Architecture arch = FindPreset("small")->arch;
  arch.set_context_length(context);
  RandomModelOptions options;
  options.dtype = dtype;
  options.stddev = 0.1f;  // large enough that logits differ between tokens
  const absl::Status status = WriteRandomModel(
      path, DescribeModel(arch, *ByteTokenizer(256), "random", "test"),
      options);
  EXPECT_TRUE(status.ok()) << status;
  return status.ok() ? path : "";
}

TokenizerSpec SmallSentencePieceSpec() {
  TokenizerSpec spec;
  spec.set_kind(SENTENCEPIECE_BPE);
  auto add = [&](const std::string& token, float score, TokenType type) {
    spec.add_tokens(token);
    spec.add_scores(score);
    spec.add_token_types(type);
  };
  add("<unk>", 0, UNKNOWN);
  add("<s>", 0, CONTROL);
  add("</s>", 0, CONTROL);
  for (int b = 0; b < 256; ++b) {
    char name[8];
    snprintf(name, sizeof(name), "<0x%02X>", b);
    add(name, 0, BYTE);
  }
  for (const char* piece : {"▁", "h", "e", "l", "o", "w", "r", "d"}) {
    add(piece, -10, NORMAL);
  }
  add("he", -1, NORMAL);
  add("ll", -2, NORMAL);
  add("▁he", -3, NORMAL);
  add("llo", -4, NORMAL);
  add("▁hello", -5, NORMAL);
  add("▁w", -6, NORMAL);
  spec.set_unknown_id(0);
  spec.set_bos_id(1);
  spec.set_eos_id(2);
  spec.set_add_bos(true);
  return spec;
}

}  // namespace smallmind::runtime
