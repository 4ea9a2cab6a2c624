#include "runtime/prompt_cache.h"

#include <numeric>
#include <utility>
#include <string>
#include <vector>

#include "backends/registry.h"
#include "formats/open.h"
#include "gtest/gtest.h"
#include "runtime/decode_batch.h"
#include "runtime/session.h"
#include "runtime/test_model.h"

namespace smallmind::runtime {
namespace {

class PromptCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = *formats::OpenModel(WriteSmallTestModel(core::DType::kF32, 64));
    transformer_ = *Transformer::Create(*model_, **backends::Registry::Get("tiled", core::DType::kF32));
    tokenizer_ = *text::Tokenizer::Create(model_->description().tokenizer());
  }

  static float* Keys(KvCache& cache, int layer, int64_t pos) {
    return reinterpret_cast<float*>(cache.keys(layer, pos));
  }
  static float* Values(KvCache& cache, int layer, int64_t pos) {
    return reinterpret_cast<float*>(cache.values(layer, pos));
  }

  // An F32 cache whose every float says where it is (tag, layer, kind,
  // position).
  KvCache Filled(float tag) {
    KvCache cache = *KvCache::Create(model_->arch(), 64, KvTypes::Exact());
    for (int layer = 0; layer < static_cast<int>(model_->arch().num_layers()); ++layer) {
      for (int64_t pos = 0; pos < cache.context(); ++pos) {
        for (size_t i = 0; i < cache.key_row_bytes() / sizeof(float); ++i) {
          Keys(cache, layer, pos)[i] = tag + layer * 1000 + pos + i * 1e-3f;
          Values(cache, layer, pos)[i] = -(tag + layer * 1000 + pos + i * 1e-3f);
        }
      }
    }
    return cache;
  }

  // Whether positions [0, n) of `cache` are those of Filled(tag).
  bool Holds(KvCache& cache, float tag, int64_t n) {
    KvCache expected = Filled(tag);
    for (int layer = 0; layer < static_cast<int>(model_->arch().num_layers()); ++layer) {
      for (int64_t pos = 0; pos < n; ++pos) {
        for (size_t i = 0; i < cache.key_row_bytes() / sizeof(float); ++i) {
          if (Keys(cache, layer, pos)[i] != Keys(expected, layer, pos)[i] ||
              Values(cache, layer, pos)[i] != Values(expected, layer, pos)[i]) {
            return false;
          }
        }
      }
    }
    return true;
  }

  void ContinuesExactly(const char* cache_type_k, const char* cache_type_v);

  size_t EntryBytes(size_t tokens) {
    KvCache cache = *KvCache::Create(model_->arch(), 64, KvTypes::Exact());
    return tokens * (sizeof(int32_t) + cache.PositionBytes());
  }

  std::unique_ptr<model::Model> model_;
  std::unique_ptr<Transformer> transformer_;
  std::unique_ptr<text::Tokenizer> tokenizer_;
};

std::vector<int32_t> Tokens(int32_t first, int n) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  std::iota(t.begin(), t.end(), first);
  return t;
}

TEST_F(PromptCacheTest, KeepsWhatASlotGivesUpAndRestoresTheLongestPrefix) {
  PromptCache cache(1 << 20);
  const std::vector<int32_t> held = Tokens(10, 12);
  KvCache slot = Filled(1);
  // The slot takes another prompt: what it held is kept, nothing matches.
  EXPECT_EQ(cache.Reuse(held, Tokens(50, 5), 0, slot), 0u);
  EXPECT_EQ(cache.stats().entries, 1u);
  EXPECT_EQ(cache.stats().bytes, EntryBytes(12));

  // A prompt sharing 7 tokens, in a cache that holds something else.
  std::vector<int32_t> prompt = Tokens(10, 7);
  prompt.push_back(99);
  KvCache other = Filled(2);
  EXPECT_EQ(cache.Reuse({}, prompt, 0, other), 7u);
  EXPECT_TRUE(Holds(other, 1, 7));
  EXPECT_FALSE(Holds(other, 1, 8));  // position 7 is untouched
  EXPECT_EQ(cache.stats().hits, 1u);
  EXPECT_EQ(cache.stats().tokens_restored, 7u);

  // Never the prompt's last token: its logits must be computed.
  KvCache third = Filled(3);
  EXPECT_EQ(cache.Reuse({}, held, 0, third), held.size() - 1);
  // A slot that already holds more than the cache offers keeps its own.
  EXPECT_EQ(cache.Reuse({}, held, 11, third), 11u);
  EXPECT_EQ(cache.stats().hits, 2u);
}

TEST_F(PromptCacheTest, AnEntryServesOnlyCachesOfItsTypes) {
  PromptCache cache(1 << 20);
  KvCache slot = Filled(1);
  EXPECT_EQ(cache.Reuse(Tokens(10, 12), Tokens(50, 5), 0, slot), 0u);
  KvCache q8 = *KvCache::Create(model_->arch(), 64, *ParseKvTypes("q8_0", "q8_0"));
  EXPECT_EQ(cache.Reuse({}, Tokens(10, 8), 0, q8), 0u);
  EXPECT_EQ(cache.stats().hits, 0u);
  KvCache f32 = Filled(2);
  EXPECT_EQ(cache.Reuse({}, Tokens(10, 8), 0, f32), 7u);
}

TEST_F(PromptCacheTest, EvictsTheLeastRecentlyUsedWithinItsBudget) {
  PromptCache cache(2 * EntryBytes(10));
  KvCache slot = Filled(1);
  const std::vector<int32_t> x = Tokens(100, 10), y = Tokens(200, 10), z = Tokens(300, 10);
  cache.Reuse(x, {}, 0, slot);
  cache.Reuse(y, {}, 0, slot);
  EXPECT_EQ(cache.stats().entries, 2u);
  KvCache scratch = Filled(2);
  EXPECT_EQ(cache.Reuse({}, x, 0, scratch), 9u);  // x is now the most recent
  cache.Reuse(z, {}, 0, slot);                    // y goes
  EXPECT_EQ(cache.stats().entries, 2u);
  EXPECT_LE(cache.stats().bytes, 2 * EntryBytes(10));
  EXPECT_EQ(cache.Reuse({}, y, 0, scratch), 0u);
  EXPECT_EQ(cache.Reuse({}, x, 0, scratch), 9u);
  EXPECT_EQ(cache.Reuse({}, z, 0, scratch), 9u);

  // A history larger than the whole budget is not kept.
  cache.Reuse(Tokens(400, 30), {}, 0, slot);
  EXPECT_EQ(cache.stats().entries, 2u);
}

TEST_F(PromptCacheTest, ALongerHistoryReplacesItsBeginning) {
  PromptCache cache(1 << 20);
  KvCache slot = Filled(1);
  cache.Reuse(Tokens(10, 5), {}, 0, slot);
  cache.Reuse(Tokens(10, 9), {}, 0, slot);
  EXPECT_EQ(cache.stats().entries, 1u);
  EXPECT_EQ(cache.stats().bytes, EntryBytes(9));
  cache.Reuse(Tokens(10, 4), {}, 0, slot);  // already there
  EXPECT_EQ(cache.stats().entries, 1u);
}

// Conversation A, then B in the same (only) slot, then A's next turn: with
// the cache, A's history comes back and its reply is exactly the one a
// slot that kept A all along produces. With every KV cache type: a
// quantized prefix comes back as the bytes it was stored as.
TEST_F(PromptCacheTest, AConversationReturningToABusySlotContinuesExactly) {
  for (const auto& [k, v] : {std::pair("f32", "f32"), std::pair("q8_0", "q8_0"),
                             std::pair("q4_0", "f16"), std::pair("bf16", "bf16")}) {
    SCOPED_TRACE(std::string(k) + "/" + v);
    ContinuesExactly(k, v);
  }
}

void PromptCacheTest::ContinuesExactly(const char* cache_type_k, const char* cache_type_v) {
  const KvTypes kv = *ParseKvTypes(cache_type_k, cache_type_v);
  GenerateOptions options;
  options.max_tokens = 6;
  options.sampler.seed = 7;
  options.context_shift = false;
  const std::vector<int32_t> a = *tokenizer_->Encode("Once upon a time", false);
  const std::vector<int32_t> b = *tokenizer_->Encode("xyz 0123", false);

  struct Turn {
    std::string text;
    GenerationStats stats;
  };
  // Runs `prompt` in slot `slot` of `batch` to the end.
  auto run = [&](DecodeBatch& batch, int slot, absl::Span<const int32_t> prompt) {
    Turn turn;
    EXPECT_TRUE(batch
                    .Start(slot, prompt, options,
                           [&](absl::string_view t) {
                             turn.text.append(t.data(), t.size());
                             return true;
                           },
                           [&](absl::StatusOr<GenerationStats> s) { turn.stats = *s; })
                    .ok());
    while (*batch.Step()) {
    }
    return turn;
  };
  const std::vector<int32_t> reply = *tokenizer_->Encode(" and then", false);
  auto next_turn = [&](absl::Span<const int32_t> history) {
    std::vector<int32_t> next(history.begin(), history.end());
    next.insert(next.end(), reply.begin(), reply.end());
    return next;
  };

  // Two slots, no cache: A keeps its slot.
  DecodeBatchOptions two;
  two.slots = 2;
  two.kv_types = kv;
  auto kept = *DecodeBatch::Create(*transformer_, *tokenizer_, two);
  run(*kept, 0, a);
  const int64_t a_history = static_cast<int64_t>(kept->history(0).size());
  const std::vector<int32_t> a2 = next_turn(kept->history(0));
  run(*kept, 1, b);
  const Turn expected = run(*kept, 0, a2);
  EXPECT_EQ(expected.stats.prompt_tokens_cached, a_history);

  // One slot and a cache, batched and as a session.
  PromptCache cache(16 << 20);
  DecodeBatchOptions one;
  one.slots = 1;
  one.kv_types = kv;
  one.prompt_cache = &cache;
  auto shared = *DecodeBatch::Create(*transformer_, *tokenizer_, one);
  run(*shared, 0, a);
  ASSERT_EQ(next_turn(shared->history(0)), a2);
  run(*shared, 0, b);
  const Turn batched = run(*shared, 0, a2);
  EXPECT_EQ(batched.text, expected.text);
  EXPECT_EQ(batched.stats.prompt_tokens_cached, expected.stats.prompt_tokens_cached);
  EXPECT_EQ(cache.stats().hits, 1u);

  PromptCache session_cache(16 << 20);
  SessionOptions session_options;
  session_options.cache_type_k = cache_type_k;
  session_options.cache_type_v = cache_type_v;
  auto session = *Session::Create(*transformer_, *tokenizer_, session_options, &session_cache);
  auto say = [&](absl::Span<const int32_t> prompt) {
    Turn turn;
    turn.stats = *session->GenerateFrom(prompt, options, [&](absl::string_view t) {
      turn.text.append(t.data(), t.size());
      return true;
    });
    return turn;
  };
  say(a);
  ASSERT_EQ(next_turn(session->tokens()), a2);
  say(b);
  const Turn alone = say(a2);
  EXPECT_EQ(alone.text, expected.text);
  EXPECT_EQ(alone.stats.prompt_tokens_cached, expected.stats.prompt_tokens_cached);
  EXPECT_EQ(session_cache.stats().hits, 1u);
}

}  // namespace
}  // namespace smallmind::runtime
