#include "runtime/transformer.h"

#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "backends/registry.h"
#include "core/heap_counter.h"
#include "formats/open.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/presets.h"
#include "runtime/sampler.h"
#include "runtime/test_model.h"

namespace smallmind::runtime {
namespace {

using ::testing::HasSubstr;

struct Case {
  std::string backend;
  core::DType dtype;
  int threads;
};

std::string CaseName(const ::testing::TestParamInfo<Case>& info) {
  return info.param.backend + "_" +
         std::string(core::DTypeName(info.param.dtype)) + "_t" +
         std::to_string(info.param.threads);
}

std::vector<Case> AllCases() {
  std::vector<Case> cases;
  for (const std::string& name : backends::Registry::List()) {
    const backends::Backend* b = *backends::Registry::Get(name, core::DType::kF32);
    for (core::DType dtype : {core::DType::kF32, core::DType::kQ8_0}) {
      if (!b->Supports(dtype)) continue;
      for (int threads : {1, 2}) cases.push_back({name, dtype, threads});
    }
  }
  return cases;
}

class TransformerTest : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<model::Model>> model =
        formats::OpenModel(WriteSmallTestModel(GetParam().dtype, 160));
    ASSERT_TRUE(model.ok()) << model.status();
    model_ = std::move(*model);
    backend_ = *backends::Registry::Get(GetParam().backend, GetParam().dtype);
    absl::StatusOr<std::unique_ptr<Transformer>> t =
        Transformer::Create(*model_, *backend_);
    ASSERT_TRUE(t.ok()) << t.status();
    transformer_ = std::move(*t);
    pool_ = std::make_unique<core::ThreadPool>(GetParam().threads);
  }

  absl::StatusOr<core::Arena> MakeArena(int64_t max_tokens) {
    return core::Arena::Create(
        transformer_->ScratchBytes(max_tokens, GetParam().threads,
                                   model_->arch().context_length()));
  }

  std::unique_ptr<model::Model> model_;
  const backends::Backend* backend_ = nullptr;
  std::unique_ptr<Transformer> transformer_;
  std::unique_ptr<core::ThreadPool> pool_;
};

TEST_P(TransformerTest, PrefillMatchesTokenByTokenDecode) {
  const std::vector<int32_t> tokens = {72, 101, 108, 108, 111, 44, 32, 119,
                                       111, 114, 108, 100, 33};
  const int64_t n = tokens.size();
  const int64_t vocab = model_->arch().vocab_size();
  KvCache cache_a = *KvCache::Create(model_->arch(), 32);
  KvCache cache_b = *KvCache::Create(model_->arch(), 32);
  core::Arena arena = *MakeArena(n);
  std::vector<float> all(n * vocab), step(vocab);
  ASSERT_TRUE(transformer_->Forward(tokens, 0, cache_a, arena, *pool_,
                                    all.data(), true)
                  .ok());
  EXPECT_EQ(arena.used(), 0u);
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_TRUE(transformer_->Forward(absl::MakeConstSpan(&tokens[i], 1), i,
                                      cache_b, arena, *pool_, step.data(),
                                      false)
                    .ok());
    float worst = 0;
    for (int64_t v = 0; v < vocab; ++v) {
      worst = std::max(worst, std::abs(step[v] - all[i * vocab + v]));
    }
    // Quantized backends quantize X per call, so M=1 and M>1 rows see the
    // same values; only summation order differs.
    EXPECT_LT(worst, 2e-4f) << "position " << i;
  }
}

TEST_P(TransformerTest, DecodeMakesNoHeapAllocation) {
  const int64_t context = 160;
  KvCache cache = *KvCache::Create(model_->arch(), context);
  core::Arena arena = *MakeArena(8);
  SamplerOptions options;
  options.seed = 7;
  Sampler sampler(model_->arch().vocab_size(), options);
  std::vector<float> logits(model_->arch().vocab_size());
  std::vector<int32_t> history = {1, 2, 3, 4, 5, 6, 7, 8};
  history.reserve(context);
  ASSERT_TRUE(transformer_->Forward(history, 0, cache, arena, *pool_,
                                    logits.data(), false)
                  .ok());
  // Warm-up: lazily initialised state (BLAS buffers, dispatch) is allowed
  // once, before the measured steps.
  int32_t next = sampler.Sample(logits.data(), history);
  const int64_t before = core::HeapAllocations();
  for (int step = 0; step < 100; ++step) {
    history.push_back(next);
    const absl::Status s =
        transformer_->Forward(absl::MakeConstSpan(&history.back(), 1),
                              history.size() - 1, cache, arena, *pool_,
                              logits.data(), false);
    if (!s.ok()) FAIL() << s;
    next = sampler.Sample(logits.data(), history);
  }
  EXPECT_EQ(core::HeapAllocations() - before, 0);
  EXPECT_GT(arena.high_water(), 0u);
  EXPECT_EQ(arena.used(), 0u);
}

TEST_P(TransformerTest, BadCallsAreErrors) {
  KvCache cache = *KvCache::Create(model_->arch(), 16);
  core::Arena arena = *MakeArena(4);
  std::vector<float> logits(model_->arch().vocab_size());
  auto forward = [&](std::vector<int32_t> tokens, int64_t pos) {
    return transformer_->Forward(tokens, pos, cache, arena, *pool_,
                                 logits.data(), false);
  };
  EXPECT_THAT(forward({}, 0).message(), HasSubstr("empty batch"));
  EXPECT_THAT(forward({1, 300}, 0).message(),
              HasSubstr("token id 300 is outside the vocabulary [0, 256)"));
  EXPECT_THAT(forward({-1}, 0).message(), HasSubstr("token id -1"));
  EXPECT_THAT(forward({1, 2}, 15).message(),
              HasSubstr("positions [15, 17) do not fit the context of 16"));
  // A batch larger than the arena was sized for fails cleanly.
  EXPECT_FALSE(forward(std::vector<int32_t>(16, 1), 0).ok());
  EXPECT_EQ(arena.used(), 0u);
  EXPECT_TRUE(forward({1, 2, 3}, 0).ok());
}

INSTANTIATE_TEST_SUITE_P(Backends, TransformerTest,
                         ::testing::ValuesIn(AllCases()), CaseName);

TEST(KvCacheTest, ContextMustFitTheModel) {
  const model::Architecture arch = model::FindPreset("small")->arch;
  EXPECT_FALSE(KvCache::Create(arch, 0).ok());
  EXPECT_THAT(KvCache::Create(arch, 65).status().message(),
              HasSubstr("must be in [1, 64]"));
  EXPECT_EQ(KvCache::Create(arch, 64)->bytes(), 2u * 2 * 64 * 128 * 4);
}

TEST(TransformerCreateTest, UnsupportedDtypeNamesTheBackend) {
  absl::StatusOr<std::unique_ptr<model::Model>> model =
      formats::OpenModel(WriteSmallTestModel(core::DType::kQ4_0, 64));
  ASSERT_TRUE(model.ok());
  absl::StatusOr<const backends::Backend*> blas =
      backends::Registry::Get("blas", core::DType::kF32);
  ASSERT_TRUE(blas.ok());
  if ((*blas)->Supports(core::DType::kQ4_0)) GTEST_SKIP();
  EXPECT_THAT(Transformer::Create(**model, **blas).status().message(),
              HasSubstr("backend 'blas' does not support q4_0 weights"));
}

}  // namespace
}  // namespace smallmind::runtime
