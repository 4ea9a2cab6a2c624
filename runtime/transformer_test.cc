#include "runtime/transformer.h"

#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <cstring>
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
        transformer_->ScratchBytes(max_tokens, GetParam().threads));
  }

  void PrefillMatchesTokenByTokenDecode(KvTypes types);

  std::unique_ptr<model::Model> model_;
  const backends::Backend* backend_ = nullptr;
  std::unique_ptr<Transformer> transformer_;
  std::unique_ptr<core::ThreadPool> pool_;
};

TEST_P(TransformerTest, PrefillMatchesTokenByTokenDecode) {
  for (const KvTypes types : {KvTypes::Exact(), *ParseKvTypes("q8_0", "q4_0")}) {
    SCOPED_TRACE(core::DTypeName(types.keys));
    PrefillMatchesTokenByTokenDecode(types);
  }
}

void TransformerTest::PrefillMatchesTokenByTokenDecode(KvTypes types) {
  const std::vector<int32_t> tokens = {72, 101, 108, 108, 111, 44, 32, 119,
                                       111, 114, 108, 100, 33};
  const int64_t n = tokens.size();
  const int64_t vocab = model_->arch().vocab_size();
  KvCache cache_a = *KvCache::Create(model_->arch(), 32, types);
  KvCache cache_b = *KvCache::Create(model_->arch(), 32, types);
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

// Each KV cache type against the F32 cache: a prompt, then tokens decoded
// one at a time, whose logits stay within what the type's rounding of keys
// and values allows (a random model's logits span about ±3; measured worst
// over the backends: f16 and bf16 0.06, q8_0 0.08, q4_0 0.7, the int8
// backends' per-call quantization of activations amplifying the rest). Prefill reads
// the cache as decoding does, so a prompt run at once and token by token
// agree as closely as with F32.
TEST_P(TransformerTest, EveryKvTypeTracksTheF32Cache) {
  const std::vector<int32_t> tokens = {72, 101, 108, 108, 111, 44, 32, 119, 111, 114};
  const int64_t n = tokens.size(), vocab = model_->arch().vocab_size();
  core::Arena arena = *MakeArena(n);
  auto run = [&](KvTypes types) {
    KvCache cache = *KvCache::Create(model_->arch(), 32, types);
    std::vector<float> logits(n * vocab);
    EXPECT_TRUE(transformer_->Forward(absl::MakeConstSpan(tokens).first(6), 0, cache, arena,
                                      *pool_, logits.data(), true)
                    .ok());
    for (int64_t i = 6; i < n; ++i) {
      EXPECT_TRUE(transformer_->Forward(absl::MakeConstSpan(&tokens[i], 1), i, cache, arena,
                                        *pool_, logits.data() + i * vocab, false)
                      .ok());
    }
    return logits;
  };
  const std::vector<float> f32 = run(KvTypes::Exact());
  const struct {
    const char *k, *v;
    float tolerance;
  } cases[] = {{"f16", "f16", 0.1f},   {"bf16", "bf16", 0.1f}, {"q8_0", "q8_0", 0.15f},
               {"q4_0", "q4_0", 1.0f}, {"q8_0", "f16", 0.15f}, {"f32", "q4_0", 1.0f}};
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.k) + "/" + c.v);
    const std::vector<float> typed = run(*ParseKvTypes(c.k, c.v));
    float worst = 0;
    for (size_t i = 0; i < f32.size(); ++i) worst = std::max(worst, std::abs(typed[i] - f32[i]));
    EXPECT_LT(worst, c.tolerance);
    EXPECT_GT(worst, 0.0f);  // the type is used
  }
}

// Past a thousand positions decode rows attend in blocks, on two threads in
// parts merged afterwards (flash-decoding); a prompt runs in blocks of rows
// throughout. Both give the logits token-by-token decoding would.
TEST(TransformerLongContextTest, DecodeInPartsMatchesPrefill) {
  absl::StatusOr<std::unique_ptr<model::Model>> model =
      formats::OpenModel(WriteSmallTestModel(core::DType::kF32, 2600));
  ASSERT_TRUE(model.ok()) << model.status();
  const auto t = *Transformer::Create(**model, **backends::Registry::Get("tiled", core::DType::kF32));
  const int64_t n = 2560, vocab = (*model)->arch().vocab_size();
  std::vector<int32_t> tokens(n);
  for (int64_t i = 0; i < n; ++i) tokens[i] = static_cast<int32_t>((i * 31 + 7) % vocab);
  core::ThreadPool pool(2);
  core::Arena arena = *core::Arena::Create(t->ScratchBytes(256, 2));
  KvCache prefilled = *KvCache::Create((*model)->arch(), 2600, KvTypes::Exact());
  KvCache decoded = *KvCache::Create((*model)->arch(), 2600, KvTypes::Exact());
  std::vector<float> chunk(256 * vocab), step(vocab);
  float worst = 0;
  for (int64_t start = 0; start < n; start += 256) {
    ASSERT_TRUE(t->Forward(absl::MakeConstSpan(tokens).subspan(start, 256), start, prefilled,
                           arena, pool, chunk.data(), true)
                    .ok());
    for (int64_t i = start; i < start + 256; ++i) {
      ASSERT_TRUE(t->Forward(absl::MakeConstSpan(&tokens[i], 1), i, decoded, arena, pool,
                             step.data(), false)
                      .ok());
      for (int64_t v = 0; v < vocab; ++v) {
        worst = std::max(worst, std::abs(step[v] - chunk[(i - start) * vocab + v]));
      }
    }
  }
  EXPECT_LT(worst, 2e-4f);
}

TEST_P(TransformerTest, DecodeMakesNoHeapAllocation) {
  const int64_t context = 160;
  KvCache cache = *KvCache::Create(model_->arch(), context, {});
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
  KvCache cache = *KvCache::Create(model_->arch(), 16, {});
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
  EXPECT_FALSE(KvCache::Create(arch, 0, {}).ok());
  EXPECT_THAT(KvCache::Create(arch, 65, {}).status().message(),
              HasSubstr("must be in [1, 64]"));
  EXPECT_EQ(KvCache::Create(arch, 64, KvTypes::Exact())->bytes(), 2u * 2 * 64 * 128 * 4);
  EXPECT_EQ(KvCache::Create(arch, 64, {})->bytes(), 2u * 2 * 64 * 128 * 2);  // F16
}

// Bytes per position as llama.cpp's cache of the same type holds them.
TEST(KvCacheTest, TypesStoreTheirBlocks) {
  const model::Architecture arch = model::FindPreset("small")->arch;  // kv_dim 128, 2 layers
  const struct {
    const char* type;
    size_t row_bytes;
  } cases[] = {{"f32", 512}, {"f16", 256}, {"bf16", 256}, {"q8_0", 4 * 34}, {"q4_0", 4 * 18}};
  for (const auto& c : cases) {
    KvCache cache = *KvCache::Create(arch, 64, *ParseKvTypes(c.type, "f16"));
    EXPECT_EQ(cache.key_row_bytes(), c.row_bytes) << c.type;
    EXPECT_EQ(cache.value_row_bytes(), 256u);
    EXPECT_EQ(cache.PositionBytes(), 2 * (c.row_bytes + 256));
    EXPECT_EQ(cache.bytes(), 64 * cache.PositionBytes());
  }
}

// A cache's memory follows the positions it holds: pages are taken as
// positions fill and given back from a position on.
TEST(KvCacheTest, ReleaseGivesBackThePagesOfLaterPositions) {
  model::Architecture arch = model::FindPreset("small")->arch;  // kv_dim 128, 2 layers
  arch.set_context_length(8192);
  KvCache cache = *KvCache::Create(arch, 8192, KvTypes::Exact());  // 512 bytes a row
  EXPECT_EQ(cache.ResidentBytes(), 0u);
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  auto fill = [&](int64_t n) {
    for (int layer = 0; layer < 2; ++layer) {
      for (int64_t pos = 0; pos < n; ++pos) {
        std::memset(cache.keys(layer, pos), 1, cache.key_row_bytes());
        std::memset(cache.values(layer, pos), 1, cache.value_row_bytes());
      }
    }
  };
  fill(1000);
  const size_t held = (1000 * 512 + page - 1) / page * page;  // of each layer's keys or values
  EXPECT_EQ(cache.ResidentBytes(), 4 * held);
  fill(8192);
  EXPECT_EQ(cache.ResidentBytes(), cache.bytes());
  EXPECT_EQ(cache.Release(1000), 4 * (8192 * 512 - held));
  EXPECT_EQ(cache.ResidentBytes(), 4 * held);
  EXPECT_EQ(cache.keys(1, 999)[511], 1);   // kept
  EXPECT_EQ(cache.values(1, 4000)[0], 0);  // given back: zeros
  EXPECT_EQ(cache.Release(8192), 0u);
  cache.Release(0);
  EXPECT_EQ(cache.ResidentBytes(), 0u);
}

TEST(KvCacheTest, TypesAreRefusedByName) {
  EXPECT_THAT(ParseKvTypes("q4_k", "f16").status().message(),
              HasSubstr("--cache-type-k 'q4_k' is not a KV cache type; one of f32, f16, bf16, "
                        "q8_0, q4_0"));
  EXPECT_THAT(ParseKvTypes("f16", "fp8").status().message(),
              HasSubstr("--cache-type-v 'fp8'"));
  EXPECT_EQ(ParseKvTypes("Q8_0", "BF16")->keys, core::DType::kQ8_0);
  // stories15M's heads are 48 wide: not whole blocks of 32.
  const model::Architecture arch = model::FindPreset("stories15m")->arch;
  EXPECT_THAT(KvCache::Create(arch, 64, *ParseKvTypes("q8_0", "f16")).status().message(),
              HasSubstr("KV cache type q8_0 stores blocks of 32 elements, which do not divide "
                        "this model's head size 48"));
  EXPECT_TRUE(KvCache::Create(arch, 64, *ParseKvTypes("bf16", "f16")).ok());
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
