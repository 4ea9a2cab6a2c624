#include "runtime/sampler.h"

#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace smallmind::runtime {
namespace {

SamplerOptions Plain(float temperature = 1.0f) {
  SamplerOptions o;
  o.temperature = temperature;
  o.top_k = 0;
  o.top_p = 1.0f;
  o.min_p = 0.0f;
  return o;
}

// Draws `n` tokens from fresh copies of `logits`; returns the counts.
std::vector<int> Histogram(const SamplerOptions& options,
                           const std::vector<float>& logits, int n) {
  Sampler sampler(logits.size(), options);
  std::vector<int> counts(logits.size());
  for (int i = 0; i < n; ++i) {
    std::vector<float> l = logits;
    ++counts[sampler.Sample(l.data(), {})];
  }
  return counts;
}

TEST(SamplerTest, ZeroTemperatureIsGreedy) {
  std::vector<float> logits = {0.1f, 2.0f, -1.0f, 1.9f};
  Sampler s(4, Plain(0.0f));
  EXPECT_EQ(s.Sample(logits.data(), {}), 1);
}

TEST(SamplerTest, FrequenciesFollowTheSoftmax) {
  const std::vector<float> logits = {0.0f, 1.0f, 2.0f, -0.5f};
  const int n = 40000;
  const std::vector<int> counts = Histogram(Plain(), logits, n);
  double z = 0;
  for (float l : logits) z += std::exp(l);
  for (size_t i = 0; i < logits.size(); ++i) {
    const double p = std::exp(logits[i]) / z;
    const double sd = std::sqrt(n * p * (1 - p));
    EXPECT_NEAR(counts[i], n * p, 5 * sd) << "token " << i;
  }
}

TEST(SamplerTest, TemperatureSharpens) {
  const std::vector<float> logits = {0.0f, 1.0f};
  const int hot = Histogram(Plain(2.0f), logits, 20000)[1];
  const int cold = Histogram(Plain(0.25f), logits, 20000)[1];
  EXPECT_GT(cold, hot);
  EXPECT_NEAR(cold / 20000.0, 1 / (1 + std::exp(-4.0)), 0.01);
}

TEST(SamplerTest, TopKKeepsOnlyTheBest) {
  SamplerOptions o = Plain();
  o.top_k = 2;
  const std::vector<int> counts =
      Histogram(o, {3.0f, 0.0f, 2.9f, 2.8f, -1.0f}, 5000);
  EXPECT_EQ(counts[1] + counts[3] + counts[4], 0);
  EXPECT_GT(counts[0], 0);
  EXPECT_GT(counts[2], 0);
}

TEST(SamplerTest, TopPCutsTheTail) {
  SamplerOptions o = Plain();
  o.top_p = 0.6f;  // p = 0.5, 0.3, 0.2: the first two reach 0.6
  const std::vector<int> counts = Histogram(
      o, {std::log(0.5f), std::log(0.3f), std::log(0.2f)}, 5000);
  EXPECT_EQ(counts[2], 0);
  EXPECT_GT(counts[1], 0);
}

TEST(SamplerTest, MinPCutsRelativeToTheBest) {
  SamplerOptions o = Plain();
  o.min_p = 0.5f;  // keeps p >= 0.25 when the best is 0.5
  const std::vector<int> counts = Histogram(
      o, {std::log(0.5f), std::log(0.3f), std::log(0.2f)}, 5000);
  EXPECT_EQ(counts[2], 0);
  EXPECT_GT(counts[1], 0);
}

TEST(SamplerTest, SameSeedSameTokens) {
  SamplerOptions o;
  o.seed = 42;
  std::vector<float> logits(100);
  for (int i = 0; i < 100; ++i) logits[i] = std::sin(i * 0.7f);
  Sampler a(100, o), b(100, o);
  std::vector<int32_t> ta, tb;
  for (int i = 0; i < 50; ++i) {
    std::vector<float> la = logits, lb = logits;
    ta.push_back(a.Sample(la.data(), ta));
    tb.push_back(b.Sample(lb.data(), tb));
  }
  EXPECT_EQ(ta, tb);
  o.seed = 43;
  Sampler c(100, o);
  std::vector<int32_t> tc;
  for (int i = 0; i < 50; ++i) {
    std::vector<float> l = logits;
    tc.push_back(c.Sample(l.data(), tc));
  }
  EXPECT_NE(ta, tc);
}

TEST(SamplerTest, RepeatPenaltyAvoidsRecentTokens) {
  SamplerOptions o = Plain(0.0f);
  o.repeat_penalty = 2.0f;
  o.repeat_last_n = 2;
  Sampler s(3, o);
  std::vector<float> logits = {1.0f, 0.8f, 0.1f};
  const std::vector<int32_t> history = {0};
  EXPECT_EQ(s.Sample(logits.data(), history), 1);  // 1.0 / 2 < 0.8
  EXPECT_FLOAT_EQ(logits[0], 0.5f);
  // Outside the window, token 0 is not penalised.
  logits = {1.0f, 0.8f, 0.1f};
  const std::vector<int32_t> old = {0, 2, 2};
  EXPECT_EQ(s.Sample(logits.data(), old), 0);
  // Negative logits are multiplied, pushing them further down.
  logits = {-1.0f, -1.5f, -3.0f};
  EXPECT_EQ(s.Sample(logits.data(), history), 1);
  EXPECT_FLOAT_EQ(logits[0], -2.0f);
}

TEST(SamplerTest, PresenceAndFrequencyPenalties) {
  SamplerOptions o = Plain(0.0f);
  o.presence_penalty = 0.5f;
  o.frequency_penalty = 0.25f;
  Sampler s(3, o);
  std::vector<float> logits = {2.0f, 1.0f, 0.0f};
  const std::vector<int32_t> history = {0, 0, 1};
  s.Sample(logits.data(), history);
  EXPECT_FLOAT_EQ(logits[0], 2.0f - 0.5f - 2 * 0.25f);
  EXPECT_FLOAT_EQ(logits[1], 1.0f - 0.5f - 0.25f);
  EXPECT_FLOAT_EQ(logits[2], 0.0f);
}

TEST(SamplerTest, InvalidOptionsAreRejected) {
  SamplerOptions o;
  EXPECT_TRUE(ValidateSamplerOptions(o).ok());
  o.top_p = 1.5f;
  EXPECT_FALSE(ValidateSamplerOptions(o).ok());
  o = SamplerOptions();
  o.temperature = -1;
  EXPECT_FALSE(ValidateSamplerOptions(o).ok());
  o = SamplerOptions();
  o.repeat_last_n = -2;
  EXPECT_FALSE(ValidateSamplerOptions(o).ok());
}

TEST(SamplerTest, LogitBiasAddsToLogitsAndCanBan) {
  std::vector<float> logits = {0.0f, 3.0f, 1.0f};
  SamplerOptions o = Plain(0.0f);
  o.logit_bias = {"1-inf", "2+0.5"};
  Sampler greedy(3, o);
  std::vector<float> copy = logits;
  EXPECT_EQ(greedy.Sample(copy.data(), {}), 2);  // 1 banned; 1.5 > 0
  EXPECT_EQ(copy[2], 1.5f);
  o = Plain(1.0f);
  o.logit_bias = {"0-inf", "2-inf"};
  o.seed = 3;
  Sampler sampled(3, o);
  for (int i = 0; i < 100; ++i) {
    copy = logits;
    EXPECT_EQ(sampled.Sample(copy.data(), {}), 1);
  }
}

TEST(SamplerTest, LogitBiasIsParsedAndChecked) {
  EXPECT_EQ(*ParseLogitBias({"15043+1", "7-2.5", "0-inf"}),
            (std::vector<std::pair<int32_t, float>>{
                {15043, 1.0f}, {7, -2.5f}, {0, -std::numeric_limits<float>::infinity()}}));
  for (const char* bad : {"15043", "+1", "a+1", "5+x", "5+nan", "-3+1"}) {
    SamplerOptions o;
    o.logit_bias = {bad};
    EXPECT_EQ(ValidateSamplerOptions(o).message(),
              std::string("logit_bias (--logit-bias) '") + bad + "' is not TOKEN_ID+BIAS or TOKEN_ID-BIAS")
        << bad;
  }
  SamplerOptions o;
  o.logit_bias = {"9+1"};
  EXPECT_TRUE(ValidateSamplerOptions(o, 10).ok());
  EXPECT_EQ(ValidateSamplerOptions(o, 9).message(),
            "logit_bias (--logit-bias) names token 9, outside the vocabulary of 9");
}

}  // namespace
}  // namespace smallmind::runtime
