#include "runtime/embedder.h"

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "core/file_util.h"
#include "core/thread_pool.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "model/presets.h"
#include "runtime/loaded_model.h"

namespace smallmind::runtime {
namespace {

using ::testing::HasSubstr;

// tests/golden/encoders: random-weight BERT, nomic-bert and a BERT
// cross-encoder as llama.cpp's gguf-py writes them, and the vectors (or
// scores) of a float64 PyTorch forward pass (tests/reference/make_encoders.py).
struct Golden {
  LoadedModel model;
  nlohmann::json reference;
};

// `name`.gguf, or with `hf` the same weights as a Hugging Face directory.
Golden Load(const std::string& name, const std::string& backend, bool hf = false) {
  const std::string base = "tests/golden/encoders/" + name;
  absl::StatusOr<LoadedModel> model = LoadedModel::Load(hf ? base : base + ".gguf", {backend});
  EXPECT_TRUE(model.ok()) << model.status();
  absl::StatusOr<std::string> json = core::ReadFileToString(base + ".json");
  EXPECT_TRUE(json.ok()) << json.status();
  return {*std::move(model), nlohmann::json::parse(*json)};
}

double Cosine(const std::vector<float>& a, const std::vector<double>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ab += a[i] * b[i];
    aa += double{a[i]} * a[i];
    bb += b[i] * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

class EmbedderGoldenTest : public ::testing::TestWithParam<const char*> {};

// Every input, packed into one pass with the others and alone, against the
// float64 reference; on one and two threads.
TEST_P(EmbedderGoldenTest, MatchesTheFloat64Reference) {
  for (const auto& [backend, hf] : {std::pair{"portable", false}, {"tiled", false},
                                    {"tiled", true}}) {
    Golden g = Load(GetParam(), backend, hf);
    ASSERT_NE(g.model.model, nullptr);
    const auto inputs = g.reference["inputs"].get<std::vector<std::vector<int32_t>>>();
    const auto expected = g.reference["expected"].get<std::vector<std::vector<double>>>();
    for (int threads : {1, 2}) {
      core::ThreadPool pool(threads);
      for (int64_t batch : {64, 2048}) {  // the context: one input a pass; all in one
        auto embedder = *Embedder::Create(g.model, pool, batch);
        absl::StatusOr<std::vector<std::vector<float>>> got = embedder->Embed(inputs, {});
        ASSERT_TRUE(got.ok()) << got.status();
        ASSERT_EQ(got->size(), expected.size());
        for (size_t i = 0; i < expected.size(); ++i) {
          SCOPED_TRACE(testing::Message() << GetParam() << (hf ? " (hf) " : " ") << backend
                                          << " input " << i
                                          << " threads " << threads << " batch " << batch);
          ASSERT_EQ((*got)[i].size(), expected[i].size());
          EXPECT_GT(Cosine((*got)[i], expected[i]), 0.999999);
          for (size_t k = 0; k < expected[i].size(); ++k) {
            ASSERT_NEAR((*got)[i][k], expected[i][k], 2e-5) << "component " << k;
          }
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Encoders, EmbedderGoldenTest,
                         ::testing::Values("bert_tiny", "nomic_tiny", "xlmr_tiny"));

// XLM-R from text: our Unigram tokenizer gives the ids SentencePiece gave
// the reference (<s> ... </s>), from the GGUF file and the directory, and
// the vectors follow.
TEST(EmbedderTest, XlmRobertaTextsMatchSentencePieceAndTheReference) {
  for (const bool hf : {false, true}) {
    SCOPED_TRACE(hf ? "hugging face" : "gguf");
    Golden g = Load("xlmr_tiny", "tiled", hf);
    ASSERT_NE(g.model.model, nullptr);
    EXPECT_EQ(g.model.model->arch().token_types(), 1u);
    EXPECT_EQ(g.model.model->arch().context_length(), 64u);  // RoBERTa's offset dropped
    core::ThreadPool pool(2);
    auto embedder = *Embedder::Create(g.model, pool);
    const auto texts = g.reference["texts"].get<std::vector<std::string>>();
    const auto inputs = g.reference["inputs"].get<std::vector<std::vector<int32_t>>>();
    const auto expected = g.reference["expected"].get<std::vector<std::vector<double>>>();
    for (size_t i = 0; i < texts.size(); ++i) {
      EXPECT_EQ(*embedder->Tokenize(texts[i]), inputs[i]) << texts[i];
    }
    const auto got = *embedder->Embed(inputs, {});
    for (size_t i = 0; i < texts.size(); ++i) EXPECT_GT(Cosine(got[i], expected[i]), 0.999999);
    // Truncated, an input keeps its closing </s>.
    std::vector<int32_t> long_input(100, 40);
    long_input.back() = 2;
    EmbedOptions truncate;
    truncate.truncate = true;
    Embedder::Call call;
    ASSERT_TRUE(embedder->Embed({long_input}, truncate, &call).ok());
    EXPECT_EQ(call.tokens, 64);
  }
}

class RerankGoldenTest : public ::testing::TestWithParam<const char*> {};

TEST_P(RerankGoldenTest, ScoresMatchTheReference) {
 for (const bool hf : {false, true}) {
  SCOPED_TRACE(hf ? "hugging face" : "gguf");
  Golden g = Load(GetParam(), "portable", hf);
  ASSERT_NE(g.model.model, nullptr);
  EXPECT_EQ(g.model.model->arch().pooling(), model::RANK);
  core::ThreadPool pool(2);
  auto embedder = *Embedder::Create(g.model, pool);
  const auto inputs = g.reference["inputs"].get<std::vector<std::vector<int32_t>>>();
  const auto types = g.reference["token_types"].get<std::vector<std::vector<int>>>();
  std::vector<size_t> second_starts;
  for (const std::vector<int>& t : types) {
    second_starts.push_back(std::find(t.begin(), t.end(), 1) - t.begin());
  }
  absl::StatusOr<std::vector<float>> scores = embedder->RerankIds(inputs, second_starts, false);
  ASSERT_TRUE(scores.ok()) << scores.status();
  const auto expected = g.reference["expected"].get<std::vector<std::vector<double>>>();
  ASSERT_EQ(scores->size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR((*scores)[i], expected[i][0], 1e-4) << "pair " << i;
  }
  // XLM-R's pairs from text: <s> q </s></s> d </s> as SentencePiece cut them.
  if (g.reference.contains("texts")) {
    const auto pairs = g.reference["texts"].get<std::vector<std::vector<std::string>>>();
    for (size_t i = 0; i < pairs.size(); ++i) {
      size_t second = 0;
      EXPECT_EQ(*g.model.tokenizer->EncodePair(pairs[i][0], pairs[i][1], &second), inputs[i]);
      absl::StatusOr<std::vector<float>> score =
          embedder->Rerank(pairs[i][0], {pairs[i][1]}, false);
      ASSERT_TRUE(score.ok()) << score.status();
      EXPECT_NEAR((*score)[0], expected[i][0], 1e-4) << "text pair " << i;
    }
  }
  // Text pairs go through the tokenizer's [CLS] q [SEP] d [SEP].
  absl::StatusOr<std::vector<float>> text =
      embedder->Rerank("the city", {"a new house", "the city of music", ""}, false);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(text->size(), 3u);
  std::atomic<bool> gone{true};
  Embedder::Call call;
  call.cancelled = &gone;
  EXPECT_TRUE(absl::IsCancelled(embedder->Rerank("the city", {"a"}, false, &call).status()));
  // A reranker does not embed.
  EXPECT_THAT(std::string(embedder->Embed({{2, 40, 3}}, {}).status().message()),
              HasSubstr("use rerank"));
 }
}

INSTANTIATE_TEST_SUITE_P(Rerankers, RerankGoldenTest,
                         ::testing::Values("rerank_tiny", "xlmr_rerank_tiny"));

// The GGUF file and the Hugging Face directory tokenize alike, and the
// directory's sentence-transformers pooling is read.
TEST(EmbedderTest, HuggingFaceDirectoryTokenizesAsTheGguf) {
  Golden gguf = Load("bert_tiny", "portable");
  Golden hf = Load("bert_tiny", "portable", true);
  ASSERT_NE(hf.model.model, nullptr);
  EXPECT_EQ(hf.model.model->arch().pooling(), model::MEAN);
  EXPECT_EQ(hf.model.model->arch().token_types(), 2u);
  for (const char* text : {"The City of New York!", "a new house, the music", "naïve café 中"}) {
    EXPECT_EQ(*gguf.model.tokenizer->Encode(text, true, true),
              *hf.model.tokenizer->Encode(text, true, true)) << text;
  }
}

TEST(EmbedderTest, OptionsAndBadInputs) {
  Golden g = Load("bert_tiny", "portable");
  ASSERT_NE(g.model.model, nullptr);
  core::ThreadPool pool(1);
  auto embedder = *Embedder::Create(g.model, pool);
  EXPECT_EQ(embedder->default_pooling(), model::MEAN);
  const std::vector<int32_t> ids = *embedder->Tokenize("the city of new york");
  EXPECT_EQ(ids.front(), 2);  // [CLS]
  EXPECT_EQ(ids.back(), 3);   // [SEP]
  // Matryoshka: the first n components, normalised again.
  EmbedOptions options;
  options.dimensions = 8;
  auto short_vectors = *embedder->Embed({ids}, options);
  ASSERT_EQ(short_vectors[0].size(), 8u);
  double norm = 0;
  for (float x : short_vectors[0]) norm += x * x;
  EXPECT_NEAR(norm, 1.0, 1e-5);
  options = {};
  options.normalize = false;
  options.pooling = "cls";
  auto raw = *embedder->Embed({ids}, options);
  options.pooling = "mean";
  EXPECT_NE(raw, *embedder->Embed({ids}, options));
  auto error = [&](std::vector<std::vector<int32_t>> inputs, EmbedOptions o = {}) {
    return std::string(embedder->Embed(inputs, o).status().message());
  };
  EXPECT_THAT(error({{}}), HasSubstr("empty"));
  EXPECT_THAT(error({{2, 9999}}), HasSubstr("outside the vocabulary"));
  std::vector<int32_t> long_input(100, 40);
  EXPECT_THAT(error({long_input}), HasSubstr("longer than the model's context of 64"));
  EmbedOptions truncate;
  truncate.truncate = true;
  long_input.back() = 3;
  Embedder::Call call;
  EXPECT_EQ((*embedder->Embed({long_input, ids}, truncate, &call))[0].size(), 32u);
  EXPECT_EQ(call.tokens, 64 + static_cast<int64_t>(ids.size()));  // after truncation
  // A caller gone before (or during) the call stops it at the next pass,
  // and the embedder works on.
  const std::vector<std::vector<float>> before = *embedder->Embed({ids}, {});
  std::atomic<bool> gone{true};
  call.cancelled = &gone;
  EXPECT_TRUE(absl::IsCancelled(embedder->Embed({ids}, {}, &call).status()));
  EXPECT_EQ(*embedder->Embed({ids}, {}), before);
  EmbedOptions bad;
  bad.dimensions = 33;
  EXPECT_THAT(error({ids}, bad), HasSubstr("dimensions 33"));
  EXPECT_THAT(std::string(embedder->Rerank("a", {"b"}, false).status().message()),
              HasSubstr("no classifier head"));
  // An encoder has no LM head to generate with.
  EXPECT_FALSE(ParsePooling("none").ok());
  EXPECT_EQ(*ParsePooling("last"), model::LAST);
}

// A decoder embeds one input at a time, in passes of at most batch_tokens
// rows: the vectors do not depend on where the passes cut, for every
// pooling; EOS closes each input where the vocabulary says so.
TEST(EmbedderTest, DecoderPassesDoNotChangeTheVectors) {
  const std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/decoder.smm";
  model::TokenizerSpec spec = *model::ByteTokenizer(512);
  spec.set_eos_id(3);
  spec.set_add_eos(true);
  ASSERT_TRUE(model::WriteRandomModel(
                  path, model::DescribeModel(model::FindPreset("medium")->arch, spec, "t", "t"), {})
                  .ok());
  absl::StatusOr<LoadedModel> model = LoadedModel::Load(path, {"portable"});
  ASSERT_TRUE(model.ok()) << model.status();
  core::ThreadPool pool(2);
  auto whole = *Embedder::Create(*model, pool, 2048);
  auto cut = *Embedder::Create(*model, pool, 7);
  EXPECT_EQ(whole->default_pooling(), model::LAST);
  const std::vector<int32_t> ids = *whole->Tokenize("a decoder's embedding");
  EXPECT_EQ(ids.back(), 3);
  const std::vector<std::vector<int32_t>> inputs = {ids, {5, 6}, std::vector<int32_t>(30, 77)};
  for (const char* pooling : {"last", "mean", "cls"}) {
    EmbedOptions options;
    options.pooling = pooling;
    auto a = *whole->Embed(inputs, options);
    auto b = *cut->Embed(inputs, options);
    for (size_t i = 0; i < inputs.size(); ++i) {
      for (size_t k = 0; k < a[i].size(); ++k) {
        ASSERT_NEAR(a[i][k], b[i][k], 1e-5) << pooling << " input " << i << " component " << k;
      }
    }
  }
}

}  // namespace
}  // namespace smallmind::runtime
