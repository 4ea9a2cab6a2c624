// The forward pass against an independent NumPy implementation
// (tests/reference/make_golden.py): three tiny models that between them
// cover LayerNorm and RMSNorm, learned and rotary positions (pairwise and
// rotate-half, full and partial), GELU and SwiGLU, MHA, GQA and MQA, biases
// and a tied head. Every backend, 1 and 2 threads, prefill and decode.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "backends/registry.h"
#include "gtest/gtest.h"
#include "runtime/model.h"
#include "runtime/transformer.h"

namespace smallmind {
namespace {

using runtime::KvCache;
using runtime::Model;
using runtime::Transformer;

// The reference works in float64; ours in float32 with different summation
// orders. Logits are O(1), so 1e-4 is far below any real error.
constexpr float kTolerance = 1e-4f;

struct Golden {
  std::unique_ptr<Model> model;
  std::vector<int32_t> tokens;
  std::vector<float> logits;  // [tokens, vocab]
};

Golden Load(const std::string& name) {
  Golden g;
  const std::string base = "tests/golden/" + name;
  absl::StatusOr<std::unique_ptr<Model>> model = Model::Load(base + ".smm");
  EXPECT_TRUE(model.ok()) << model.status();
  if (!model.ok()) return g;
  g.model = std::move(*model);
  for (absl::string_view t : absl::StrSplit(
           g.model->description().metadata().at("golden.tokens"), ',')) {
    int32_t id;
    EXPECT_TRUE(absl::SimpleAtoi(t, &id));
    g.tokens.push_back(id);
  }
  g.logits.resize(g.tokens.size() * g.model->arch().vocab_size());
  std::FILE* f = std::fopen((base + ".logits").c_str(), "rb");
  EXPECT_NE(f, nullptr);
  if (f == nullptr) return g;
  EXPECT_EQ(std::fread(g.logits.data(), 4, g.logits.size(), f), g.logits.size());
  std::fclose(f);
  return g;
}

struct Case {
  std::string model;
  std::string backend;
  int threads;
};

std::vector<Case> Cases() {
  std::vector<Case> cases;
  for (const char* model : {"gpt2_tiny", "llama_tiny", "neox_tiny"}) {
    for (const std::string& backend : backends::Registry::List()) {
      for (int threads : {1, 2}) cases.push_back({model, backend, threads});
    }
  }
  return cases;
}

class GoldenTest : public ::testing::TestWithParam<Case> {};

TEST_P(GoldenTest, LogitsMatchTheReference) {
  const Golden g = Load(GetParam().model);
  ASSERT_NE(g.model, nullptr);
  const backends::Backend* backend =
      *backends::Registry::Get(GetParam().backend, core::DType::kF32);
  std::unique_ptr<Transformer> t = *Transformer::Create(*g.model, *backend);
  core::ThreadPool pool(GetParam().threads);
  const int64_t n = g.tokens.size();
  const int64_t vocab = g.model->arch().vocab_size();
  core::Arena arena =
      *core::Arena::Create(t->ScratchBytes(n, GetParam().threads));

  auto check = [&](const float* got, int64_t row, const char* mode) {
    float worst = 0;
    for (int64_t v = 0; v < vocab; ++v) {
      worst = std::max(worst, std::abs(got[v] - g.logits[row * vocab + v]));
    }
    EXPECT_LE(worst, kTolerance) << mode << ", position " << row;
  };

  // Prefill: the whole sequence as one M > 1 pass, every row's logits.
  KvCache cache = *KvCache::Create(g.model->arch(), n);
  std::vector<float> all(n * vocab);
  ASSERT_TRUE(t->Forward(g.tokens, 0, cache, arena, pool, all.data(), true).ok());
  for (int64_t i = 0; i < n; ++i) check(&all[i * vocab], i, "prefill");

  // Decode: one token at a time against the KV cache.
  KvCache cache2 = *KvCache::Create(g.model->arch(), n);
  std::vector<float> step(vocab);
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_TRUE(t->Forward(absl::MakeConstSpan(&g.tokens[i], 1), i, cache2,
                           arena, pool, step.data(), false)
                    .ok());
    check(step.data(), i, "decode");
  }

  // A prompt in two chunks, then the rest token by token.
  KvCache cache3 = *KvCache::Create(g.model->arch(), n);
  const absl::Span<const int32_t> tokens(g.tokens);
  ASSERT_TRUE(t->Forward(tokens.subspan(0, 5), 0, cache3, arena, pool,
                         step.data(), false).ok());
  check(step.data(), 4, "chunk 1");
  ASSERT_TRUE(t->Forward(tokens.subspan(5, 4), 5, cache3, arena, pool,
                         step.data(), false).ok());
  check(step.data(), 8, "chunk 2");
}

INSTANTIATE_TEST_SUITE_P(
    Models, GoldenTest, ::testing::ValuesIn(Cases()),
    [](const ::testing::TestParamInfo<Case>& info) {
      return info.param.model + "_" + info.param.backend + "_t" +
             std::to_string(info.param.threads);
    });

}  // namespace
}  // namespace smallmind
