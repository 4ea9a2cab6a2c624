#include "api/smallmind.h"

#include <string>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace smallmind {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kModel[] = "tests/golden/gpt2_tiny.smm";

TEST(ApiTest, ListsEveryLinkedBackend) {
  EXPECT_THAT(ListBackends(), ElementsAre("tiled", "blas", "portable"));
}

TEST(ApiTest, LoadsAndDescribesAModel) {
  absl::StatusOr<std::unique_ptr<Model>> model =
      Model::Load(kModel, {/*backend=*/"PORTABLE"});
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->backend(), "portable");
  EXPECT_EQ((*model)->architecture(), "gpt2_tiny");
  EXPECT_EQ((*model)->vocab_size(), 64);
  EXPECT_EQ((*model)->context_length(), 16);
  EXPECT_GT((*model)->parameters(), 20000);
}

TEST(ApiTest, TokenizeRoundTrips) {
  std::unique_ptr<Model> model = *Model::Load(kModel);
  absl::StatusOr<std::vector<int32_t>> ids = model->Tokenize("HELLO, WORLD!");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->size(), 13u);
  EXPECT_EQ(model->Detokenize(*ids), "HELLO, WORLD!");
  EXPECT_THAT(model->Tokenize("lower case").status().message(),
              HasSubstr("has no token"));
}

TEST(ApiTest, GeneratesTheSameTextOnEveryBackend) {
  GenerateOptions options;
  options.max_tokens = 8;
  options.temperature = 0;
  std::string reference;
  for (const std::string& backend : ListBackends()) {
    std::unique_ptr<Model> model = *Model::Load(kModel, {backend});
    std::unique_ptr<Session> session = *model->NewSession({});
    std::string text;
    absl::StatusOr<Stats> stats = session->Generate(
        "ABC", options, [&](absl::string_view piece) {
          text.append(piece.data(), piece.size());
          return true;
        });
    ASSERT_TRUE(stats.ok()) << stats.status();
    EXPECT_EQ(stats->prompt_tokens, 3);
    EXPECT_EQ(stats->generated_tokens, 8);
    EXPECT_EQ(stats->stop_reason, "max tokens");
    EXPECT_EQ(session->position(), 3 + 7);
    if (reference.empty()) reference = text;
    EXPECT_EQ(text, reference) << backend;
  }
  EXPECT_EQ(reference.size(), 8u);
}

TEST(ApiTest, ErrorsSayWhatIsWrong) {
  EXPECT_THAT(Model::Load("missing.smm").status().message(),
              HasSubstr("cannot open missing.smm"));
  EXPECT_THAT(Model::Load(kModel, {"cuda"}).status().message(),
              HasSubstr("unknown backend 'cuda'; registered backends: tiled, blas, portable"));
  std::unique_ptr<Model> model = *Model::Load(kModel);
  EXPECT_THAT(model->NewSession({/*threads=*/0}).status().message(),
              HasSubstr("threads is 0"));
  std::unique_ptr<Session> session = *model->NewSession({});
  EXPECT_THAT(session->Generate(std::string(17, 'A'), {},
                                [](absl::string_view) { return true; })
                  .status()
                  .message(),
              HasSubstr("the prompt is 17 tokens, but only 16"));
}

TEST(ApiTest, SessionsOfOneModelRunConcurrently) {
  std::unique_ptr<Model> model = *Model::Load(kModel);
  GenerateOptions options;
  options.max_tokens = 10;
  options.seed = 5;
  auto run = [&](std::string* out) {
    std::unique_ptr<Session> session = *model->NewSession({});
    session->Generate("AB", options, [&](absl::string_view t) {
      out->append(t.data(), t.size());
      return true;
    }).IgnoreError();
  };
  std::string a, b, c;
  run(&a);
  std::thread t1(run, &b), t2(run, &c);
  t1.join();
  t2.join();
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, c);
}

}  // namespace
}  // namespace smallmind
