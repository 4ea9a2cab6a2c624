#include "runtime/decode_batch.h"

#include <string>
#include <vector>

#include "backends/registry.h"
#include "formats/open.h"
#include "gtest/gtest.h"
#include "grammar/grammar.h"
#include "grammar/matcher.h"
#include "runtime/session.h"
#include "runtime/test_model.h"

namespace smallmind::runtime {
namespace {

// A request of the equivalence test: its prompt and how it generates.
struct Request {
  std::string prompt;
  int max_tokens;
  std::vector<std::string> stop;
  uint64_t seed;
  int cancel_after = -1;  // callbacks before the client goes away
  bool ignore_eos = false;
};

struct Outcome {
  std::string text;
  GenerationStats stats;
};

class DecodeBatchTest : public ::testing::TestWithParam<core::DType> {
 protected:
  void SetUp() override {
    model_ = *formats::OpenModel(WriteSmallTestModel(GetParam(), 64));
    transformer_ = *Transformer::Create(*model_, **backends::Registry::Get("tiled", GetParam()));
    tokenizer_ = *text::Tokenizer::Create(model_->description().tokenizer());
  }

  GenerateOptions OptionsOf(const Request& r) {
    GenerateOptions o;
    o.max_tokens = r.max_tokens;
    o.stop = r.stop;
    o.sampler.seed = static_cast<int64_t>(r.seed);
    o.sampler.temperature = 0.8f;
    o.ignore_eos = r.ignore_eos;
    return o;
  }

  // Each request alone, in a session of its own.
  Outcome Alone(const Request& r) {
    auto session = *Session::Create(*transformer_, *tokenizer_, {});
    Outcome out;
    int calls = 0;
    out.stats = *session->GenerateFrom(*tokenizer_->Encode(r.prompt, false), OptionsOf(r),
                                       [&](absl::string_view t) {
                                         out.text.append(t.data(), t.size());
                                         return r.cancel_after < 0 || ++calls < r.cancel_after;
                                       });
    return out;
  }

  std::unique_ptr<model::Model> model_;
  std::unique_ptr<Transformer> transformer_;
  std::unique_ptr<text::Tokenizer> tokenizer_;
};

// Mixed prompt lengths, stop strings, max_tokens, a context shift (90
// tokens in 64 positions) and a cancelled request, decoded together (and one after another through the same slots), give
// exactly what each gives alone.
TEST_P(DecodeBatchTest, EachSequenceGeneratesWhatItWouldAlone) {
  std::vector<Request> requests = {
      {"Hello there, how are", 20, {}, 1},
      {"A", 90, {}, 2},
      {"The quick brown fox jumps over the lazy dog", 12, {}, 3},
      {"xyz", 25, {}, 4},
      {"Once upon a time", 40, {}, 5, 6},
      {"0123456789", 8, {"ab", "q"}, 6},
  };
  // A stop string the request's text is known to reach: its third character.
  const std::string free_text = Alone(requests[3]).text;
  ASSERT_GE(free_text.size(), 3u);
  requests[3].stop = {free_text.substr(2, 1)};
  for (bool batched : {true, false}) {
    DecodeBatchOptions options;
    options.slots = 4;
    options.prompt_budget = 7;  // prompts arrive in several chunks
    options.threads = 2;
    options.batched = batched;
    auto batch = *DecodeBatch::Create(*transformer_, *tokenizer_, options);
    std::vector<Outcome> together(requests.size());
    std::vector<bool> done(requests.size(), false);
    std::vector<int> calls(requests.size(), 0);
    size_t started = 0;
    int steps = 0;
    while (true) {
      // Requests join whenever a slot is free.
      for (int slot = 0; slot < batch->slots() && started < requests.size(); ++slot) {
        if (batch->busy(slot)) continue;
        const size_t i = started++;
        const Request& r = requests[i];
        ASSERT_TRUE(batch
                        ->Start(slot, *tokenizer_->Encode(r.prompt, false), OptionsOf(r),
                                [&, i](absl::string_view t) {
                                  together[i].text.append(t.data(), t.size());
                                  return requests[i].cancel_after < 0 ||
                                         ++calls[i] < requests[i].cancel_after;
                                },
                                [&, i](absl::StatusOr<GenerationStats> s) {
                                  ASSERT_TRUE(s.ok());
                                  together[i].stats = *s;
                                  done[i] = true;
                                })
                        .ok());
      }
      absl::StatusOr<bool> more = batch->Step();
      ASSERT_TRUE(more.ok()) << more.status();
      ++steps;
      if (!*more && started == requests.size()) break;
      ASSERT_LT(steps, 1000);
    }
    for (size_t i = 0; i < requests.size(); ++i) {
      ASSERT_TRUE(done[i]) << i;
      const Outcome alone = Alone(requests[i]);
      EXPECT_EQ(together[i].text, alone.text) << "request " << i << " batched " << batched;
      EXPECT_EQ(together[i].stats.stop_reason, alone.stats.stop_reason) << i;
      EXPECT_EQ(together[i].stats.generated_tokens, alone.stats.generated_tokens) << i;
      EXPECT_EQ(together[i].stats.prompt_tokens, alone.stats.prompt_tokens) << i;
    }
    EXPECT_EQ(together[4].stats.stop_reason, StopReason::kCancelled);
    EXPECT_EQ(together[3].stats.stop_reason, StopReason::kStopString);
    EXPECT_GT(together[1].stats.context_shifts, 0);
    EXPECT_EQ(together[1].stats.generated_tokens, 90);
  }
}

TEST_P(DecodeBatchTest, SlotsKeepTheirPrefixAndCancelFromOutside) {
  auto batch = *DecodeBatch::Create(*transformer_, *tokenizer_, {});
  const std::vector<int32_t> prompt = *tokenizer_->Encode("Hello there", false);
  GenerateOptions options;
  options.max_tokens = 4;
  GenerationStats stats;
  auto run = [&](absl::Span<const int32_t> p) {
    ASSERT_TRUE(batch->Start(0, p, options, [](absl::string_view) { return true; },
                             [&](absl::StatusOr<GenerationStats> s) { stats = *s; })
                    .ok());
    while (*batch->Step()) {
    }
  };
  run(prompt);
  EXPECT_EQ(stats.prompt_tokens_cached, 0);
  std::vector<int32_t> longer(batch->history(0).begin(), batch->history(0).end());
  longer.push_back(7);
  run(longer);
  EXPECT_EQ(stats.prompt_tokens_cached, static_cast<int64_t>(longer.size()) - 1);
  // Cancelled from another thread's point of view: before its next token.
  options.max_tokens = 50;
  ASSERT_TRUE(batch->Start(1, prompt, options, [](absl::string_view) { return true; },
                           [&](absl::StatusOr<GenerationStats> s) { stats = *s; })
                  .ok());
  ASSERT_TRUE(*batch->Step());
  ASSERT_TRUE(*batch->Step());
  batch->Cancel(1);
  EXPECT_FALSE(*batch->Step());
  EXPECT_EQ(stats.stop_reason, StopReason::kCancelled);
  EXPECT_LT(stats.generated_tokens, 5);
  // Bad starts change nothing.
  EXPECT_FALSE(batch->Start(9, prompt, options, nullptr, nullptr).ok());
  EXPECT_FALSE(batch->Start(0, {}, options, nullptr, nullptr).ok());
  EXPECT_EQ(batch->Start(0, std::vector<int32_t>(100, 1), options, nullptr, nullptr).code(),
            absl::StatusCode::kOutOfRange);
}

// OpenAI's n: forks share their source's prompt, prefilled once; each
// fork generates what a request of that prompt and seed generates alone.
TEST_P(DecodeBatchTest, ForksShareThePromptAndGenerateAsAlone) {
  const std::vector<Request> requests = {{"Once upon a time there", 16, {}, 11},
                                         {"Once upon a time there", 16, {}, 12},
                                         {"Once upon a time there", 16, {}, 13}};
  DecodeBatchOptions options;
  options.slots = 3;
  options.prompt_budget = 5;  // the prompt takes several steps
  auto batch = *DecodeBatch::Create(*transformer_, *tokenizer_, options);
  std::vector<Outcome> out(3);
  int done = 0;
  for (int i = 0; i < 3; ++i) {
    auto on_text = [&out, i](absl::string_view t) {
      out[i].text.append(t.data(), t.size());
      return true;
    };
    auto on_done = [&out, &done, i](absl::StatusOr<GenerationStats> s) {
      ASSERT_TRUE(s.ok()) << s.status();
      out[i].stats = *s;
      ++done;
    };
    const absl::Status started =
        i == 0 ? batch->Start(0, *tokenizer_->Encode(requests[0].prompt, false), OptionsOf(requests[0]),
                              on_text, on_done)
               : batch->StartFork(i, 0, OptionsOf(requests[i]), on_text, on_done);
    ASSERT_TRUE(started.ok()) << started;
  }
  EXPECT_FALSE(batch->StartFork(0, 1, OptionsOf(requests[0]), nullptr, nullptr).ok());  // busy
  while (done < 3) ASSERT_TRUE(batch->Step().ok());
  const int64_t prompt_tokens = static_cast<int64_t>(tokenizer_->Encode(requests[0].prompt, false)->size());
  for (int i = 0; i < 3; ++i) {
    const Outcome alone = Alone(requests[i]);
    EXPECT_EQ(out[i].text, alone.text) << i;
    EXPECT_EQ(out[i].stats.prompt_tokens, prompt_tokens) << i;
    EXPECT_EQ(out[i].stats.prompt_tokens_cached, i == 0 ? 0 : prompt_tokens) << i;
  }
  EXPECT_NE(out[1].text, out[2].text);  // seeds apart
  // A fork of a source cancelled in its prefill ends cancelled.
  int ended = 0;
  StopReason reason = StopReason::kMaxTokens;
  ASSERT_TRUE(batch->Start(0, *tokenizer_->Encode(requests[0].prompt, false), OptionsOf(requests[0]),
                           [](absl::string_view) { return true; },
                           [&](absl::StatusOr<GenerationStats>) { ++ended; }).ok());
  ASSERT_TRUE(batch->StartFork(1, 0, OptionsOf(requests[1]), [](absl::string_view) { return true; },
                               [&](absl::StatusOr<GenerationStats> s) {
                                 ++ended;
                                 reason = s->stop_reason;
                               }).ok());
  batch->Cancel(0);
  while (ended < 2) ASSERT_TRUE(batch->Step().ok());
  EXPECT_EQ(reason, StopReason::kCancelled);
}

// Sequences decoded together each follow their own grammar (one shared
// with another slot), and each gives what it gives alone.
TEST_P(DecodeBatchTest, EachSlotFollowsItsGrammar) {
  std::vector<Request> requests = {{"Hello", 24, {}, 1}, {"Hello", 24, {}, 2}, {"Numbers", 24, {}, 3}};
  const std::vector<std::string> grammars = {R"(root ::= "[" [a-z]{1,3} ("," [a-z]{1,3})* "]")",
                                             R"(root ::= "[" [a-z]{1,3} ("," [a-z]{1,3})* "]")",
                                             R"(root ::= [0-9]+ "." [0-9] [0-9])"};
  DecodeBatchOptions options;
  options.slots = 3;
  auto batch = *DecodeBatch::Create(*transformer_, *tokenizer_, options);
  std::vector<std::string> texts(3);
  int done = 0;
  for (int i = 0; i < 3; ++i) {
    GenerateOptions o = OptionsOf(requests[i]);
    o.grammar = grammars[i];
    ASSERT_TRUE(batch
                    ->Start(i, *tokenizer_->Encode(requests[i].prompt, false), o,
                            [&texts, i](absl::string_view t) {
                              texts[i].append(t.data(), t.size());
                              return true;
                            },
                            [&done](absl::StatusOr<GenerationStats> s) {
                              ASSERT_TRUE(s.ok()) << s.status();
                              ++done;
                            })
                    .ok());
  }
  while (done < 3) ASSERT_TRUE(batch->Step().ok());
  for (int i = 0; i < 3; ++i) {
    auto g = grammar::Grammar::Parse(grammars[i]);
    ASSERT_TRUE(g.ok());
    grammar::Matcher m(&*g);
    EXPECT_TRUE(m.Accept(texts[i])) << texts[i];  // a prefix, or the whole when it ended
    auto session = *Session::Create(*transformer_, *tokenizer_, {});
    GenerateOptions o = OptionsOf(requests[i]);
    o.grammar = grammars[i];
    std::string alone;
    ASSERT_TRUE(session
                    ->GenerateFrom(*tokenizer_->Encode(requests[i].prompt, false), o,
                                   [&](absl::string_view t) {
                                     alone.append(t.data(), t.size());
                                     return true;
                                   })
                    .ok());
    EXPECT_EQ(texts[i], alone) << i;
  }
  EXPECT_NE(texts[0], texts[1]);  // one grammar, two seeds
}

// Slots sharing a KV budget smaller than their contexts: a generation
// reserves its prompt and max_tokens; it starts only when that fits beside
// the running ones' reservations (MakeRoom), free slots giving up their
// histories for it, least recently used first. Each generates what it
// would alone.
TEST_P(DecodeBatchTest, SlotsShareAKvBudget) {
  const std::vector<int32_t> prompt = *tokenizer_->Encode("Hello there", false);
  const int64_t p = static_cast<int64_t>(prompt.size());
  DecodeBatchOptions options;
  options.slots = 3;  // of 64 positions
  options.kv_budget = 40;
  EXPECT_EQ(DecodeBatch::Create(*transformer_, *tokenizer_, options).status().code(),
            absl::StatusCode::kInvalidArgument);  // less than a slot's context
  // Room for two generations of 30 tokens, not for a third's history too.
  options.kv_budget = 2 * (p + 30) + 5;
  auto batch = *DecodeBatch::Create(*transformer_, *tokenizer_, options);
  EXPECT_EQ(batch->kv_budget(), options.kv_budget);
  std::vector<Outcome> out(3);
  int ended = 0;
  auto request = [](int slot, int max_tokens) {
    return Request{"Hello there", max_tokens, {}, static_cast<uint64_t>(slot + 1), -1, true};
  };
  auto start = [&](int slot, int max_tokens) {
    return batch->Start(
        slot, prompt, OptionsOf(request(slot, max_tokens)),
        [&out, slot](absl::string_view t) {
          out[slot].text.append(t.data(), t.size());
          return true;
        },
        [&out, &ended, slot](absl::StatusOr<GenerationStats> s) {
          ASSERT_TRUE(s.ok()) << s.status();
          out[slot].stats = *s;
          ++ended;
        });
  };
  auto reserve = [&](int max_tokens) {
    return batch->PositionsFor(p, OptionsOf(request(0, max_tokens)));
  };
  EXPECT_EQ(reserve(30), p + 30);
  EXPECT_EQ(reserve(1000), 64);  // at most the context
  // Slot 2 generates and keeps its history.
  ASSERT_TRUE(batch->MakeRoom(reserve(10), 2));
  ASSERT_TRUE(start(2, 10).ok());
  while (ended < 1) ASSERT_TRUE(batch->Step().ok());
  const int64_t kept = static_cast<int64_t>(batch->history(2).size());
  EXPECT_GE(kept, p + 9);
  EXPECT_EQ(batch->kv_positions(), kept);
  ASSERT_TRUE(batch->MakeRoom(reserve(30), 0));
  ASSERT_TRUE(start(0, 30).ok());
  EXPECT_EQ(batch->kv_positions(), kept + p + 30);
  // 40 more tokens do not fit beside slot 0's 30, even without slot 2's
  // history, which is then left alone.
  EXPECT_FALSE(batch->MakeRoom(reserve(40), 1));
  EXPECT_EQ(static_cast<int64_t>(batch->history(2).size()), kept);
  // 30 fit once slot 2 gives up its history.
  ASSERT_TRUE(batch->MakeRoom(reserve(30), 1));
  EXPECT_TRUE(batch->history(2).empty());
  ASSERT_TRUE(start(1, 30).ok());
  while (ended < 3) {
    ASSERT_TRUE(batch->Step().ok());
    EXPECT_LE(batch->kv_positions(), options.kv_budget);
  }
  for (int slot : {0, 1}) {
    EXPECT_EQ(out[slot].stats.generated_tokens, 30) << slot;
    EXPECT_EQ(out[slot].text, Alone(request(slot, 30)).text) << slot;
  }
  EXPECT_EQ(batch->kv_positions(),
            static_cast<int64_t>(batch->history(0).size() + batch->history(1).size()));
}

INSTANTIATE_TEST_SUITE_P(DTypes, DecodeBatchTest,
                         ::testing::Values(core::DType::kQ8_0, core::DType::kQ4_0),
                         [](const ::testing::TestParamInfo<core::DType>& info) {
                           return std::string(core::DTypeName(info.param));
                         });

}  // namespace
}  // namespace smallmind::runtime
