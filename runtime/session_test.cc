#include "runtime/session.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "backends/registry.h"
#include "formats/open.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/test_model.h"

namespace smallmind::runtime {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class SessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = *formats::OpenModel(WriteSmallTestModel(core::DType::kF32, 64));
    transformer_ = *Transformer::Create(
        *model_, **backends::Registry::Get("auto", core::DType::kF32));
    tokenizer_ = *text::Tokenizer::Create(model_->description().tokenizer());
  }

  std::unique_ptr<Session> NewSession(SessionOptions options = {}) {
    absl::StatusOr<std::unique_ptr<Session>> s =
        Session::Create(*transformer_, *tokenizer_, options);
    EXPECT_TRUE(s.ok()) << s.status();
    return std::move(*s);
  }

  // Generates greedily; returns the streamed text.
  std::string Run(Session& session, absl::string_view prompt,
                  GenerateOptions options, GenerationStats* stats = nullptr) {
    options.sampler.temperature = 0;
    std::string text;
    absl::StatusOr<GenerationStats> s =
        session.Generate(prompt, options, [&](absl::string_view piece) {
          EXPECT_FALSE(piece.empty());
          text.append(piece.data(), piece.size());
          return true;
        });
    EXPECT_TRUE(s.ok()) << s.status();
    if (stats != nullptr && s.ok()) *stats = *s;
    return text;
  }

  std::unique_ptr<model::Model> model_;
  std::unique_ptr<Transformer> transformer_;
  std::unique_ptr<text::Tokenizer> tokenizer_;
};

TEST_F(SessionTest, GeneratesAndCounts) {
  auto session = NewSession();
  GenerateOptions options;
  options.max_tokens = 20;
  GenerationStats stats;
  const std::string text = Run(*session, "Hello", options, &stats);
  EXPECT_EQ(stats.prompt_tokens, 5);
  EXPECT_EQ(stats.generated_tokens, 20);
  EXPECT_EQ(stats.decode_steps, 19);
  EXPECT_EQ(stats.stop_reason, StopReason::kMaxTokens);
  EXPECT_EQ(session->position(), 5 + 19);
  EXPECT_GT(stats.ttft_seconds, 0);
  EXPECT_GT(stats.decode_tokens_per_second(), 0);
  EXPECT_EQ(stats.kv_cache_bytes, 2u * 2 * 64 * 128 * 2);  // F16, the default
  EXPECT_GT(stats.arena_high_water, 0u);
  // The streamed bytes are the generated tokens' text.
  const auto generated = session->tokens().subspan(5);
  std::string expected = tokenizer_->Decode(generated);
  EXPECT_THAT(text, StartsWith(expected));
  EXPECT_EQ(text.size(), expected.size() + 1);  // + the last, unrun token

  // Greedy generation is deterministic, and a batch size of 2 (prefill in
  // chunks) gives the same text.
  auto again = NewSession({.threads = 2, .context = 0, .batch = 2});
  EXPECT_EQ(Run(*again, "Hello", options), text);
}

TEST_F(SessionTest, StopStringEndsGenerationBeforeIt) {
  auto session = NewSession();
  GenerateOptions options;
  options.max_tokens = 30;
  const std::string full = Run(*session, "Once", options);
  ASSERT_GE(full.size(), 12u);
  options.stop = {full.substr(8, 3)};
  session->Reset();
  GenerationStats stats;
  const std::string cut = Run(*session, "Once", options, &stats);
  EXPECT_EQ(cut, full.substr(0, full.find(options.stop[0])));
  EXPECT_EQ(stats.stop_reason, StopReason::kStopString);
}

TEST_F(SessionTest, PromptLongerThanTheContextIsAnError) {
  auto session = NewSession({.threads = 1, .context = 16, .batch = 8});
  absl::StatusOr<GenerationStats> s = session->Generate(
      std::string(17, 'x'), {}, [](absl::string_view) { return true; });
  EXPECT_EQ(s.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(s.status().message(),
              HasSubstr("the prompt is 17 tokens, but only 16"));
  EXPECT_EQ(session->position(), 0);
}

TEST_F(SessionTest, LongPromptsAreTruncatedWhenAsked) {
  auto session = NewSession({.threads = 1, .context = 16, .batch = 8});
  GenerateOptions options;
  options.max_tokens = 4;
  options.truncate_prompt = true;
  GenerationStats stats;
  Run(*session, "abcdefghijklmnopqrstuvwxyz", options, &stats);
  EXPECT_EQ(stats.prompt_tokens, 12);  // 16 - 16/4
  EXPECT_EQ(stats.prompt_tokens_dropped, 14);
  // The tail was kept.
  EXPECT_EQ(tokenizer_->Decode(session->tokens().subspan(0, 12)), "opqrstuvwxyz");
}

TEST_F(SessionTest, StopsWhenTheContextIsFull) {
  auto session = NewSession({.threads = 1, .context = 16, .batch = 8});
  GenerateOptions options;
  options.max_tokens = 100;
  options.context_shift = false;
  GenerationStats stats;
  Run(*session, "0123456789", options, &stats);
  EXPECT_EQ(stats.stop_reason, StopReason::kContextFull);
  EXPECT_EQ(session->position(), 16);
  EXPECT_EQ(stats.generated_tokens, 7);
}

TEST_F(SessionTest, ContextShiftKeepsGoing) {
  auto session = NewSession({.threads = 1, .context = 16, .batch = 8});
  GenerateOptions options;
  options.max_tokens = 100;
  GenerationStats stats;
  const std::string text = Run(*session, "0123456789", options, &stats);
  EXPECT_EQ(stats.stop_reason, StopReason::kMaxTokens);
  EXPECT_EQ(stats.generated_tokens, 100);
  EXPECT_EQ(text.size(), 100u);
  // 10 + 99 tokens run through a 16-position window that halves when full.
  EXPECT_GT(stats.context_shifts, 10);
  EXPECT_LE(session->position(), 16);
  // After a shift the session holds the last tokens it generated.
  const auto tail = session->tokens();
  EXPECT_EQ(tokenizer_->Decode(tail.subspan(tail.size() - 4)),
            text.substr(text.size() - 5, 4));
}

TEST_F(SessionTest, ContextShiftKeepsGoingWithAQuantizedCache) {
  SessionOptions quantized{.threads = 2, .context = 16, .batch = 8};
  quantized.cache_type_k = "q8_0";
  quantized.cache_type_v = "q4_0";
  auto session = NewSession(quantized);
  EXPECT_EQ(session->kv_cache_bytes(), 16u * 2 * (4 * 34 + 4 * 18));
  GenerateOptions options;
  options.max_tokens = 60;
  GenerationStats stats;
  const std::string text = Run(*session, "0123456789", options, &stats);
  EXPECT_EQ(stats.stop_reason, StopReason::kMaxTokens);
  EXPECT_EQ(stats.generated_tokens, 60);
  EXPECT_GT(stats.context_shifts, 5);
  EXPECT_LE(session->position(), 16);
}

TEST_F(SessionTest, CallbackCancels) {
  auto session = NewSession();
  GenerateOptions options;
  options.max_tokens = 50;
  int calls = 0;
  absl::StatusOr<GenerationStats> s =
      session->Generate("ab", options, [&](absl::string_view) {
        return ++calls < 3;
      });
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(s->stop_reason, StopReason::kCancelled);
}

TEST_F(SessionTest, InvalidOptionsAreErrors) {
  auto session = NewSession();
  GenerateOptions options;
  options.sampler.top_p = 2;
  EXPECT_FALSE(session->Generate("a", options, [](absl::string_view) {
                        return true;
                      }).ok());
  options = GenerateOptions();
  options.stop = {""};
  EXPECT_FALSE(session->Generate("a", options, [](absl::string_view) {
                        return true;
                      }).ok());
  EXPECT_FALSE(Session::Create(*transformer_, *tokenizer_,
                               {.threads = 0, .context = 0, .batch = 1})
                   .ok());
  EXPECT_FALSE(Session::Create(*transformer_, *tokenizer_,
                               {.threads = 1, .context = 65, .batch = 1})
                   .ok());
  SessionOptions bad_type;
  bad_type.cache_type_v = "q5_k";
  EXPECT_EQ(Session::Create(*transformer_, *tokenizer_, bad_type).status().message(),
            "--cache-type-v 'q5_k' is not a KV cache type; one of f32, f16, bf16, q8_0, q4_0");
}

// Generate's decode loop (sampling, forward passes, stop-string checks,
// streaming) makes no heap allocation; the count includes the callback's, so
// this one writes into reserved space.
TEST_F(SessionTest, DecodeLoopAllocatesNothing) {
  auto session = NewSession({.threads = 2, .context = 0, .batch = 256});
  GenerateOptions options;
  options.max_tokens = 40;
  options.sampler.repeat_penalty = 1.1f;
  options.stop = {"never appears \x01"};
  std::string text;
  text.reserve(1024);
  absl::StatusOr<GenerationStats> stats =
      session->Generate("Hello", options, [&](absl::string_view piece) {
        text.append(piece.data(), piece.size());
        return true;
      });
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->generated_tokens, 40);
  EXPECT_EQ(stats->decode_heap_allocations, 0);
}

// Sessions share the Transformer; each has its own cache, arena and pool.
TEST_F(SessionTest, SessionsRunConcurrently) {
  GenerateOptions options;
  options.max_tokens = 24;
  auto reference = NewSession();
  const std::string a = Run(*reference, "abc", options);
  reference->Reset();
  const std::string b = Run(*reference, "xyz", options);
  std::string got_a, got_b;
  std::thread ta([&] {
    auto s = NewSession({.threads = 2, .context = 0, .batch = 256});
    got_a = Run(*s, "abc", options);
  });
  std::thread tb([&] {
    auto s = NewSession();
    got_b = Run(*s, "xyz", options);
  });
  ta.join();
  tb.join();
  EXPECT_EQ(got_a, a);
  EXPECT_EQ(got_b, b);
}

// A prompt resent with the history it extends (a chat's next turn) runs
// only its new tokens, and generates what a fresh session generates.
TEST_F(SessionTest, GenerateFromKeepsTheCachedPrefix) {
  GenerateOptions options;
  options.max_tokens = 8;
  options.sampler.temperature = 0;
  const std::vector<int32_t> first = *tokenizer_->Encode("Hello there", false);
  const std::vector<int32_t> more = *tokenizer_->Encode(" and again", false);
  std::vector<int32_t> second = first;
  second.insert(second.end(), more.begin(), more.end());
  auto collect = [](std::string* out) {
    return [out](absl::string_view piece) {
      out->append(piece.data(), piece.size());
      return true;
    };
  };
  auto session = NewSession();
  std::string text;
  absl::StatusOr<GenerationStats> s = session->GenerateFrom(first, options, collect(&text));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->prompt_tokens_cached, 0);
  std::string reused;
  s = session->GenerateFrom(second, options, collect(&reused));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->prompt_tokens_cached, static_cast<int64_t>(first.size()));
  EXPECT_EQ(s->prompt_tokens, static_cast<int64_t>(second.size()));
  std::string fresh;
  ASSERT_TRUE(NewSession()->GenerateFrom(second, options, collect(&fresh)).ok());
  EXPECT_EQ(reused, fresh);
  // The same prompt again: all but its last token come from the cache.
  s = session->GenerateFrom(second, options, collect(&reused));
  EXPECT_EQ(s->prompt_tokens_cached, static_cast<int64_t>(second.size()) - 1);
  EXPECT_EQ(session->GenerateFrom({}, options, collect(&text)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(session->GenerateFrom(std::vector<int32_t>{1 << 20}, options, collect(&text))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

// Any end-of-generation token stops, not only EOS.
TEST_F(SessionTest, EndOfGenerationIdsStop) {
  GenerateOptions options;
  options.max_tokens = 16;
  options.sampler.temperature = 0;
  // What greedy decoding produces first becomes an end-of-turn token.
  std::string text;
  auto session = NewSession();
  ASSERT_TRUE(session->Generate("Hello", options, [&](absl::string_view) { return true; }).ok());
  const int32_t first_generated = session->tokens()[5];
  model::TokenizerSpec spec = model_->description().tokenizer();
  spec.add_end_of_generation_ids(first_generated);
  auto tokenizer = *text::Tokenizer::Create(spec);
  auto stopping = *Session::Create(*transformer_, *tokenizer, {});
  absl::StatusOr<GenerationStats> s =
      stopping->Generate("Hello", options, [&](absl::string_view piece) {
        text.append(piece.data(), piece.size());
        return true;
      });
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->stop_reason, StopReason::kEndOfText);
  EXPECT_EQ(s->generated_tokens, 1);
  EXPECT_EQ(text, "");
}

}  // namespace
}  // namespace smallmind::runtime

namespace smallmind::runtime {
namespace {

TEST_F(SessionTest, GrammarAllowsExactlyItsSentences) {
  auto session = NewSession();
  GenerateOptions options;
  options.max_tokens = 12;
  options.grammar = R"(root ::= [a-c]{2,4} ("." | "!"))";
  for (int seed = 0; seed < 6; ++seed) {
    options.sampler = SamplerOptions();
    options.sampler.seed = seed;
    options.sampler.temperature = 1.5f;  // a random model's wildest choices
    std::string text;
    absl::StatusOr<GenerationStats> stats =
        session->Generate("x", options, [&](absl::string_view piece) {
          text.append(piece.data(), piece.size());
          return true;
        });
    ASSERT_TRUE(stats.ok()) << stats.status();
    ASSERT_GE(text.size(), 3u) << text;
    ASSERT_LE(text.size(), 5u) << text;
    EXPECT_EQ(text.find_first_not_of("abc"), text.size() - 1) << text;
    EXPECT_TRUE(text.back() == '.' || text.back() == '!') << text;
    // Complete, so generation ended by itself.
    EXPECT_EQ(stats->stop_reason, StopReason::kEndOfText);
    session->Reset();
  }
}

TEST_F(SessionTest, GrammarLeavesAllowedChoicesAlone) {
  // Greedy text under a grammar of ASCII text follows the free text as
  // long as that is ASCII, then only ASCII: the mask changes only what the
  // grammar rejects.
  auto session = NewSession();
  GenerateOptions options;
  options.max_tokens = 16;
  options.ignore_eos = true;
  const std::string free = Run(*session, "The", options);
  size_t ascii = 0;
  while (ascii < free.size() && static_cast<unsigned char>(free[ascii]) < 0x80) ++ascii;
  ASSERT_GE(ascii, 1u) << "the model's greedy text has no ASCII head to follow";
  ASSERT_LT(ascii, free.size()) << "the grammar would reject nothing";
  session->Reset();
  options.grammar = R"(root ::= [\x00-\x7F]*)";
  const std::string constrained = Run(*session, "The", options);
  EXPECT_EQ(constrained.substr(0, ascii), free.substr(0, ascii));
  EXPECT_EQ(constrained.size(), 16u);
  for (char c : constrained) EXPECT_LT(static_cast<unsigned char>(c), 0x80);
}

TEST_F(SessionTest, BadGrammarsAreRefusedBeforeGenerating) {
  auto session = NewSession();
  GenerateOptions options;
  options.grammar = "root ::= (";
  absl::StatusOr<GenerationStats> s = session->Generate("x", options, [](absl::string_view) { return true; });
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()), StartsWith("grammar: line 1"));
}

}  // namespace
}  // namespace smallmind::runtime

namespace smallmind::runtime {
namespace {

TEST_F(SessionTest, LogprobsAreTheLogSoftmaxOfTheLogits) {
  // The prompt's logits, computed apart, in float64.
  const std::vector<int32_t> prompt = *tokenizer_->Encode("Hello", tokenizer_->add_bos());
  const int64_t vocab = model_->arch().vocab_size();
  KvCache cache = *KvCache::Create(model_->arch(), 64, KvTypes::Exact());
  core::Arena arena = *core::Arena::Create(transformer_->ScratchBytes(64, 1));
  core::ThreadPool pool(1);
  std::vector<float> logits(vocab);
  ASSERT_TRUE(transformer_->Forward(prompt, 0, cache, arena, pool, logits.data(), false).ok());
  double max = logits[0], sum = 0;
  for (float l : logits) max = std::max<double>(max, l);
  for (float l : logits) sum += std::exp(static_cast<double>(l) - max);
  auto logprob = [&](int32_t id) { return static_cast<double>(logits[id]) - max - std::log(sum); };

  SessionOptions session_options;
  session_options.cache_type_k = session_options.cache_type_v = "f32";
  auto session = NewSession(session_options);
  GenerateOptions options;
  options.max_tokens = 3;
  options.logprobs = 5;
  options.sampler.temperature = 1.0f;
  options.sampler.seed = 11;
  std::vector<std::pair<int32_t, float>> first_top;
  int32_t first = -1;
  float first_logprob = 0;
  int reported = 0;
  absl::StatusOr<GenerationStats> stats = session->Generate(
      "Hello", options, [](absl::string_view) { return true; },
      [&](const TokenLogprobs& t) {
        if (reported++ > 0) return;
        first = t.token;
        first_logprob = t.logprob;
        first_top.assign(t.top.begin(), t.top.end());
      });
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_GE(reported, 1);
  EXPECT_NEAR(first_logprob, logprob(first), 1e-4);
  ASSERT_EQ(first_top.size(), 5u);
  // The five most likely, most likely first.
  std::vector<int32_t> order(vocab);
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + 5, order.end(),
                    [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(first_top[i].first, order[i]) << i;
    EXPECT_NEAR(first_top[i].second, logprob(order[i]), 1e-4) << i;
  }
}

// Echo's prompt log probabilities: each prompt token's, given the ones
// before it, from a forward pass over the whole prompt; also when the
// prompt is prefilled in chunks across steps, and when the session already
// holds part of it.
TEST_F(SessionTest, PromptLogprobsScoreEveryPromptToken) {
  const std::vector<int32_t> prompt = *tokenizer_->Encode("Hello, world! Once upon a time", tokenizer_->add_bos());
  const int64_t n = static_cast<int64_t>(prompt.size());
  const int64_t vocab = model_->arch().vocab_size();
  KvCache cache = *KvCache::Create(model_->arch(), 64, KvTypes::Exact());
  core::Arena arena = *core::Arena::Create(transformer_->ScratchBytes(64, 1));
  core::ThreadPool pool(1);
  std::vector<float> logits(n * vocab);
  ASSERT_TRUE(transformer_->Forward(prompt, 0, cache, arena, pool, logits.data(), true).ok());
  std::vector<double> expected(n);  // of token i given 0..i-1
  for (int64_t i = 1; i < n; ++i) {
    const float* row = &logits[(i - 1) * vocab];
    double max = row[0], sum = 0;
    for (int64_t v = 0; v < vocab; ++v) max = std::max<double>(max, row[v]);
    for (int64_t v = 0; v < vocab; ++v) sum += std::exp(row[v] - max);
    expected[i] = row[prompt[i]] - max - std::log(sum);
  }
  for (int64_t batch : {int64_t{256}, int64_t{3}}) {
    SessionOptions session_options;
    session_options.cache_type_k = session_options.cache_type_v = "f32";
    session_options.batch = batch;
    auto session = NewSession(session_options);
    GenerateOptions options;
    options.logprobs = 1;
    options.prompt_logprobs = true;
    for (int run = 0; run < 2; ++run) {  // the second: the session holds the prompt
      options.max_tokens = run;
      std::vector<TokenLogprobs> prompt_entries;
      int generated = 0;
      ASSERT_TRUE(session->GenerateFrom(prompt, options, [](absl::string_view) { return true; },
                                        [&](const TokenLogprobs& t) {
                                          if (t.prompt) {
                                            prompt_entries.push_back(t);
                                          } else {
                                            ++generated;
                                          }
                                        })
                      .ok());
      ASSERT_EQ(prompt_entries.size(), prompt.size()) << "batch " << batch;
      EXPECT_TRUE(std::isnan(prompt_entries[0].logprob));
      EXPECT_TRUE(prompt_entries[0].top.empty());
      for (int64_t i = 1; i < n; ++i) {
        EXPECT_EQ(prompt_entries[i].token, prompt[i]);
        EXPECT_NEAR(prompt_entries[i].logprob, expected[i], 1e-4) << "batch " << batch << " token " << i;
      }
      EXPECT_EQ(generated, run);
    }
  }
}

TEST_F(SessionTest, LogprobsOutOfRangeAreRefused) {
  auto session = NewSession();
  GenerateOptions options;
  options.logprobs = 21;
  absl::StatusOr<GenerationStats> s = session->Generate("x", options, [](absl::string_view) { return true; });
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), "logprobs is 21, expected -1 (off) to 20");
}

}  // namespace
}  // namespace smallmind::runtime
