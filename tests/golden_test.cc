// The forward pass against PyTorch (tests/reference/make_golden.py): tiny
// models that between them cover LayerNorm and RMSNorm, learned and rotary
// positions (pairwise and rotate-half, full and partial, Llama 3 frequency
// scaling, local and global bases), GELU, SwiGLU and GeGLU, MHA, GQA and
// MQA, all biases or q/k/v only, q/k norms, post-norms, embedding and
// attention scales, sliding-window layers and a tied head: the families
// GPT-2, Llama 2/3, GPT-NeoX, Qwen2, Qwen3, Gemma 3 and Phi-3. Every
// backend, 1 and 2 threads, prefill, decode, chunked prefill and 48 tokens
// of greedy decoding.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "backends/registry.h"
#include "formats/open.h"
#include "gtest/gtest.h"
#include "runtime/transformer.h"
#include "tests/golden_util.h"

namespace smallmind::golden {
namespace {

// PyTorch worked in float64; ours in float32 with different summation
// orders. Logits are O(1), so 1e-4 is far below any real error.
constexpr float kTolerance = 1e-4f;

struct Case {
  std::string model;
  std::string backend;
  int threads;
};

std::vector<Case> Cases() {
  std::vector<Case> cases;
  for (const char* model : kGoldenModels) {
    for (const std::string& backend : backends::Registry::List()) {
      for (int threads : {1, 2}) cases.push_back({model, backend, threads});
    }
  }
  return cases;
}

class GoldenTest : public ::testing::TestWithParam<Case> {};

TEST_P(GoldenTest, PrefillMatchesTheReference) {
  absl::StatusOr<Golden> g = LoadGolden(GetParam().model);
  ASSERT_TRUE(g.ok()) << g.status();
  absl::StatusOr<float> error =
      MaxLogitError(*g->model, *g, GetParam().backend, GetParam().threads);
  ASSERT_TRUE(error.ok()) << error.status();
  EXPECT_LE(*error, kTolerance);
}

TEST_P(GoldenTest, DecodeAndChunkedPrefillMatchTheReference) {
  absl::StatusOr<Golden> g = LoadGolden(GetParam().model);
  ASSERT_TRUE(g.ok()) << g.status();
  const model::Model& model = *g->model;
  const backends::Backend* backend =
      *backends::Registry::Get(GetParam().backend, core::DType::kF32);
  std::unique_ptr<runtime::Transformer> t =
      *runtime::Transformer::Create(model, *backend);
  core::ThreadPool pool(GetParam().threads);
  const int64_t n = g->tokens.size();
  const int64_t vocab = model.arch().vocab_size();
  core::Arena arena =
      *core::Arena::Create(t->ScratchBytes(n, GetParam().threads));
  auto check = [&](const std::vector<float>& got, int64_t row,
                   const char* mode) {
    float worst = 0;
    for (int64_t v = 0; v < vocab; ++v) {
      worst = std::max(worst, std::abs(got[v] - g->logits[row * vocab + v]));
    }
    EXPECT_LE(worst, kTolerance) << mode << ", position " << row;
  };
  std::vector<float> step(vocab);

  // Decode: one token at a time against the KV cache.
  runtime::KvCache cache = *runtime::KvCache::Create(model.arch(), n, runtime::KvTypes::Exact());
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_TRUE(t->Forward(absl::MakeConstSpan(&g->tokens[i], 1), i, cache,
                           arena, pool, step.data(), false)
                    .ok());
    check(step, i, "decode");
  }

  // A prompt in two chunks: the second attends to the first's cache.
  runtime::KvCache cache2 = *runtime::KvCache::Create(model.arch(), n, runtime::KvTypes::Exact());
  const absl::Span<const int32_t> tokens(g->tokens);
  ASSERT_TRUE(t->Forward(tokens.subspan(0, 5), 0, cache2, arena, pool,
                         step.data(), false).ok());
  check(step, 4, "chunk 1");
  ASSERT_TRUE(t->Forward(tokens.subspan(5, 4), 5, cache2, arena, pool,
                         step.data(), false).ok());
  check(step, 8, "chunk 2");
}

// The families' models: 48 tokens of greedy decoding give the float64
// reference's tokens, one for one (make_golden.py avoided near ties).
TEST_P(GoldenTest, GreedyContinuationMatchesTheReference) {
  absl::StatusOr<Golden> g = LoadGolden(GetParam().model);
  ASSERT_TRUE(g.ok()) << g.status();
  if (g->continuation.empty()) GTEST_SKIP() << "no reference continuation";
  const model::Model& model = *g->model;
  const backends::Backend* backend =
      *backends::Registry::Get(GetParam().backend, core::DType::kF32);
  std::unique_ptr<runtime::Transformer> t = *runtime::Transformer::Create(model, *backend);
  core::ThreadPool pool(GetParam().threads);
  const int64_t context = model.arch().context_length();
  const int64_t vocab = model.arch().vocab_size();
  core::Arena arena = *core::Arena::Create(t->ScratchBytes(context, GetParam().threads));
  runtime::KvCache cache =
      *runtime::KvCache::Create(model.arch(), context, runtime::KvTypes::Exact());
  std::vector<float> logits(vocab);
  ASSERT_TRUE(t->Forward(g->prompt, 0, cache, arena, pool, logits.data(), false).ok());
  std::vector<int32_t> got;
  for (size_t i = 0; i < g->continuation.size(); ++i) {
    const int32_t next = static_cast<int32_t>(
        std::max_element(logits.begin(), logits.end()) - logits.begin());
    got.push_back(next);
    ASSERT_TRUE(t->Forward(absl::MakeConstSpan(&next, 1), g->prompt.size() + i, cache, arena,
                           pool, logits.data(), false)
                    .ok());
  }
  EXPECT_EQ(got, g->continuation);
}

INSTANTIATE_TEST_SUITE_P(
    Models, GoldenTest, ::testing::ValuesIn(Cases()),
    [](const ::testing::TestParamInfo<Case>& info) {
      return info.param.model + "_" + info.param.backend + "_t" +
             std::to_string(info.param.threads);
    });

// The same model as a Hugging Face checkpoint directory and as GGUF, run
// directly (no conversion): its weights used in place compute the golden
// logits.
TEST(GoldenFormatsTest, CheckpointDirectoryAndGgufRunDirectly) {
  absl::StatusOr<Golden> g = LoadGolden("llama3_tiny");
  ASSERT_TRUE(g.ok()) << g.status();
  for (const char* path : {"tests/golden/hf/llama3_tiny", "tests/fuzz/seeds/gguf/llama3_tiny.gguf"}) {
    absl::StatusOr<std::unique_ptr<model::Model>> direct = formats::OpenModel(path);
    ASSERT_TRUE(direct.ok()) << direct.status();
    absl::StatusOr<float> error = MaxLogitError(**direct, *g, "tiled", 1);
    ASSERT_TRUE(error.ok()) << error.status();
    EXPECT_LE(*error, kTolerance) << path;
  }
}

}  // namespace
}  // namespace smallmind::golden
