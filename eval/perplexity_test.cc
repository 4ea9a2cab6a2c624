#include "eval/perplexity.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "backends/registry.h"
#include "eval/kl_base.h"
#include "formats/open.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/presets.h"

namespace smallmind::eval {
namespace {

using ::testing::HasSubstr;

std::string TempPath(const std::string& name) {
  return std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
}

// The small GPT-2 shape (bytes as tokens), its weights at `stddev`.
std::unique_ptr<model::Model> SmallModel(float stddev, const std::string& name) {
  model::RandomModelOptions options;
  options.stddev = stddev;
  const std::string path = TempPath(name + ".smm");
  const model::Architecture arch = model::FindPreset("small")->arch;
  EXPECT_TRUE(model::WriteRandomModel(
                  path, model::DescribeModel(arch, *model::ByteTokenizer(256), "t", "t"), options)
                  .ok());
  return *formats::OpenModel(path);
}

std::vector<int32_t> Text(int n) {
  std::vector<int32_t> tokens(n);
  for (int i = 0; i < n; ++i) tokens[i] = (i * 37 + 11) % 256;
  return tokens;
}

class PerplexityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = SmallModel(0.1f, "random");
    transformer_ = *runtime::Transformer::Create(
        *model_, **backends::Registry::Get("auto", core::DType::kF32));
  }
  std::unique_ptr<model::Model> model_;
  std::unique_ptr<runtime::Transformer> transformer_;
  core::ThreadPool pool_{2};
};

// A model whose weights are all zero predicts every byte alike: its
// perplexity is the vocabulary's size, 256, whatever the text.
TEST(PerplexityUniformTest, AModelThatKnowsNothingScoresTheVocabularySize) {
  const std::unique_ptr<model::Model> zero = SmallModel(0.0f, "zero");
  const auto t =
      *runtime::Transformer::Create(*zero, **backends::Registry::Get("auto", core::DType::kF32));
  core::ThreadPool pool(1);
  RunningMean nll;
  PerplexityOptions options;
  options.context = 32;
  ASSERT_TRUE(ScoreText(*t, std::nullopt, Text(100), options, pool,
                        [&](int64_t, absl::Span<const float> logprobs, int32_t next) {
                          nll.Add(-logprobs[next]);
                          return absl::OkStatus();
                        })
                  .ok());
  EXPECT_EQ(nll.count(), 3 * ScoredPerChunk(32));  // three whole chunks of 32
  EXPECT_NEAR(std::exp(nll.mean()), 256.0, 1e-3);
  EXPECT_NEAR(nll.error(), 0.0, 1e-6);
}

// Tokens from the middle of each chunk on are scored, each by the logits
// of its predecessor, a chunk's first token replaced by BOS.
TEST_F(PerplexityTest, ScoresTheSecondHalfOfEachChunk) {
  const std::vector<int32_t> text = Text(70);
  PerplexityOptions options;
  options.context = 16;
  options.batch = 5;  // passes that split chunks
  std::vector<std::pair<int64_t, int32_t>> scored;
  ASSERT_TRUE(ScoreText(*transformer_, 7, text, options, pool_,
                        [&](int64_t chunk, absl::Span<const float> logprobs, int32_t next) {
                          double total = 0;
                          for (float lp : logprobs) total += std::exp(lp);
                          EXPECT_NEAR(total, 1.0, 1e-4);
                          scored.push_back({chunk, next});
                          return absl::OkStatus();
                        })
                  .ok());
  ASSERT_EQ(scored.size(), 4u * 7);  // 4 chunks of 16; tokens 9..15 of each
  for (int64_t c = 0; c < 4; ++c) {
    for (int j = 0; j < 7; ++j) {
      EXPECT_EQ(scored[c * 7 + j], std::make_pair(c, text[c * 16 + 9 + j]));
    }
  }
  options.max_chunks = 2;
  EXPECT_EQ(ChunksOf(70, options), 2);
}

TEST_F(PerplexityTest, BadInputIsAnError) {
  PerplexityOptions options;
  options.context = 64;
  auto score = [&](const std::vector<int32_t>& text) {
    return ScoreText(*transformer_, std::nullopt, text, options, pool_,
                     [](int64_t, absl::Span<const float>, int32_t) { return absl::OkStatus(); });
  };
  EXPECT_THAT(score(Text(63)).message(),
              HasSubstr("the text has 63 tokens; scoring needs at least one chunk of 64"));
  options.context = 65;
  EXPECT_THAT(score(Text(200)).message(), HasSubstr("context is 65; it must be in [4, "));
  options.context = 16;
  options.batch = 0;
  EXPECT_THAT(score(Text(200)).message(), HasSubstr("batch must be >= 1"));
}

// A model against its own saved log-probabilities: no divergence but the
// F16 rounding of the file, the same top token everywhere.
TEST_F(PerplexityTest, KlBaseRoundTripsAndAModelMatchesItself) {
  const std::vector<int32_t> text = Text(50);
  PerplexityOptions options;
  options.context = 16;
  const uint32_t chunks = static_cast<uint32_t>(ChunksOf(50, options));
  const std::string path = TempPath("base.kld");
  KlBaseWriter writer = *KlBaseWriter::Create(path, 256, 16, chunks,
                                              absl::MakeConstSpan(text).first(chunks * 16));
  ASSERT_TRUE(ScoreText(*transformer_, std::nullopt, text, options, pool_,
                        [&](int64_t, absl::Span<const float> logprobs, int32_t) {
                          return writer.Append(logprobs);
                        })
                  .ok());
  ASSERT_TRUE(writer.Close().ok());

  KlBaseReader reader = *KlBaseReader::Open(path);
  EXPECT_EQ(reader.header().chunks, 3u);
  EXPECT_EQ(reader.header().tokens, std::vector<int32_t>(text.begin(), text.begin() + 48));
  std::vector<float> base(256);
  RunningMean kl;
  ASSERT_TRUE(ScoreText(*transformer_, std::nullopt, text, options, pool_,
                        [&](int64_t, absl::Span<const float> logprobs, int32_t) {
                          absl::Status s = reader.Next(absl::MakeSpan(base));
                          double sum = 0;
                          for (size_t i = 0; i < base.size(); ++i) {
                            sum += std::exp(double{base[i]}) * (base[i] - logprobs[i]);
                          }
                          kl.Add(sum);
                          return s;
                        })
                  .ok());
  EXPECT_EQ(kl.count(), 3 * 7);
  EXPECT_LT(std::abs(kl.mean()), 1e-3);
  EXPECT_FALSE(reader.Next(absl::MakeSpan(base)).ok());  // no rows left
}

TEST(KlBaseHeaderTest, ParsesWhatTheWriterWritesAndRefusesTheRest) {
  const std::string path = TempPath("tiny.kld");
  const std::vector<int32_t> tokens(8, 3);
  KlBaseWriter writer = *KlBaseWriter::Create(path, 4, 4, 2, tokens);
  for (int row = 0; row < 2; ++row) ASSERT_TRUE(writer.Append({-1.0f, -2.0f, -3.0f, -0.5f}).ok());
  EXPECT_FALSE(writer.Append({0, 0, 0, 0}).ok());  // ScoredPerChunk(4) = 1 row per chunk
  ASSERT_TRUE(writer.Close().ok());
  std::string bytes;
  {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    char buffer[256];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof(buffer), f)) > 0) bytes.append(buffer, n);
    std::fclose(f);
  }
  ASSERT_EQ(bytes.size(), kKlBaseFixedBytes + 8 * 4 + 2 * 4 * 2);
  EXPECT_TRUE(ParseKlBaseHeader(bytes, bytes.size()).ok());
  EXPECT_THAT(ParseKlBaseHeader(bytes, bytes.size() - 1).status().message(),
              HasSubstr("truncated"));
  EXPECT_THAT(ParseKlBaseHeader("SMKLBAS", 7).status().message(), HasSubstr("shorter"));
  std::string bad = bytes;
  bad[0] = 'X';
  EXPECT_THAT(ParseKlBaseHeader(bad, bad.size()).status().message(), HasSubstr("magic"));
  bad = bytes;
  bad[kKlBaseFixedBytes] = 9;  // a token id beyond the vocabulary of 4
  EXPECT_THAT(ParseKlBaseHeader(bad, bad.size()).status().message(),
              HasSubstr("token id 9 outside"));
  bad = bytes;
  bad[12] = 0;  // vocabulary 0
  EXPECT_THAT(ParseKlBaseHeader(bad, bad.size()).status().message(), HasSubstr("vocabulary of 0"));
  EXPECT_THAT(KlBaseReader::Open(TempPath("missing.kld")).status().message(),
              HasSubstr("cannot read"));
}

}  // namespace
}  // namespace smallmind::eval
