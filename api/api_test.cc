#include "api/smallmind.h"

#include <string>
#include <thread>
#include <type_traits>

#if defined(__linux__)
#include <sched.h>
#endif

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
  options.sampler.temperature = 0;
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

// Every sampling option is the runtime's own field (runtime/options.h), so
// the penalties the CLI takes reach the sampler through the API as well.
TEST(ApiTest, EverySamplingOptionReachesTheSampler) {
  std::unique_ptr<Model> model = *Model::Load(kModel);
  auto generate = [&](const SamplerOptions& sampler) {
    GenerateOptions options;
    options.max_tokens = 12;
    options.sampler = sampler;
    std::unique_ptr<Session> session = *model->NewSession({});
    std::string text;
    absl::StatusOr<Stats> stats = session->Generate(
        "AB", options, [&](absl::string_view t) {
          text.append(t.data(), t.size());
          return true;
        });
    EXPECT_TRUE(stats.ok()) << stats.status();
    return text;
  };
  SamplerOptions greedy;
  greedy.temperature = 0;
  const std::string plain = generate(greedy);
  int changed = 0, fields = 0;
  SamplerOptions probe = greedy;
  probe.VisitFields([&](auto& field, const core::FieldInfo& info) {
    ++fields;
    const auto saved = field;
    // A value far from the default: each option must change the text or,
    // for the ones greedy decoding ignores, at least be accepted.
    if constexpr (std::is_floating_point_v<std::decay_t<decltype(field)>>) {
      field = std::string(info.key) == "temperature" ? 1.5f
              : std::string(info.key) == "top_p"     ? 0.5f
              : std::string(info.key) == "min_p"     ? 0.5f
                                                     : 4.0f;
    } else if constexpr (std::is_same_v<std::decay_t<decltype(field)>, std::vector<std::string>>) {
      field = {"5+100"};  // logit_bias: one token every time
    } else {
      field = 3;
    }
    changed += generate(probe) != plain;
    field = saved;
  });
  EXPECT_EQ(fields, 10);
  // temperature, the penalties, the repeat window and the bias change
  // greedy text.
  EXPECT_GE(changed, 4);
  SamplerOptions penalties = greedy;
  penalties.presence_penalty = 4.0f;
  penalties.frequency_penalty = 4.0f;
  EXPECT_NE(generate(penalties), plain);
}

// A JSON schema's grammar and log probabilities, through the public API.
TEST(ApiTest, GrammarsFromSchemasAndLogprobs) {
  std::unique_ptr<Model> model = *Model::Load(kModel);
  std::unique_ptr<Session> session = *model->NewSession({});
  GenerateOptions options;
  options.max_tokens = 64;
  options.sampler.temperature = 0;
  options.grammar = *JsonSchemaToGrammar(R"({"enum": ["AB", "BA"]})");  // the tiny vocabulary's letters
  options.logprobs = 2;
  std::string text;
  int tokens = 0;
  absl::StatusOr<Stats> stats = session->Generate(
      "AB", options,
      [&](absl::string_view t) {
        text.append(t.data(), t.size());
        return true;
      },
      [&](const TokenLogprobs& t) {
        ++tokens;
        EXPECT_LE(t.logprob, 0.0f);
        EXPECT_EQ(t.top.size(), 2u);
      });
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_TRUE(text == "\"AB\"" || text == "\"BA\"") << text;
  EXPECT_EQ(tokens, stats->generated_tokens);
  // A grammar the vocabulary cannot spell is an error, not a short answer.
  options.grammar = *JsonSchemaToGrammar(R"({"const": "yes"})");
  session->Reset();
  stats = session->Generate("AB", options, [](absl::string_view) { return true; });
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.status().message(),
            "the grammar allows no token of the vocabulary after 1 generated token(s): the "
            "vocabulary cannot spell what it needs next");
  EXPECT_EQ(JsonSchemaToGrammar(R"({"type": "integer", "minimum": 1})").status().message(),
            "json_schema: /: 'minimum' is not supported");
}

#if defined(__linux__)
// A session does not move the calling thread to other cores unless asked.
TEST(ApiTest, SessionsPinThreadsOnlyWhenAsked) {
  cpu_set_t before;
  CPU_ZERO(&before);
  sched_getaffinity(0, sizeof(before), &before);
  auto current = [] {
    cpu_set_t now;
    CPU_ZERO(&now);
    sched_getaffinity(0, sizeof(now), &now);
    return now;
  };
  std::unique_ptr<Model> model = *Model::Load(kModel);
  SessionOptions options;
  options.threads = 2;
  {
    std::unique_ptr<Session> session = *model->NewSession(options);
    cpu_set_t now = current();
    EXPECT_TRUE(CPU_EQUAL(&now, &before));
  }
  if (CPU_COUNT(&before) < 2) GTEST_SKIP() << "one core: nothing to pin";
  options.pin_threads = true;
  {
    std::unique_ptr<Session> session = *model->NewSession(options);
    cpu_set_t now = current();
    EXPECT_FALSE(CPU_EQUAL(&now, &before));
  }
  cpu_set_t after = current();
  EXPECT_TRUE(CPU_EQUAL(&after, &before));
}
#endif

TEST(ApiTest, SessionsOfOneModelRunConcurrently) {
  std::unique_ptr<Model> model = *Model::Load(kModel);
  GenerateOptions options;
  options.max_tokens = 10;
  options.sampler.seed = 5;
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

// Every format through the same Load: GGUF and a Hugging Face checkpoint
// directory run directly, and compute what their converted .smm computes.
TEST(ApiTest, LoadsGgufAndCheckpointDirectoriesDirectly) {
  GenerateOptions options;
  options.max_tokens = 6;
  options.sampler.temperature = 0;
  auto text_of = [&](const std::string& path, const std::string& prompt) {
    absl::StatusOr<std::unique_ptr<Model>> model = Model::Load(path);
    EXPECT_TRUE(model.ok()) << path << ": " << model.status();
    if (!model.ok()) return std::string();
    std::unique_ptr<Session> session = *(*model)->NewSession({});
    std::string text;
    EXPECT_TRUE(session->Generate(prompt, options, [&](absl::string_view piece) {
      text.append(piece.data(), piece.size());
      return true;
    }).ok());
    return text;
  };
  EXPECT_EQ(text_of("tests/fuzz/seeds/gguf/gpt2_tiny.gguf", "ABC"),
            text_of("tests/golden/gpt2_tiny.smm", "ABC"));
  EXPECT_EQ(text_of("tests/golden/hf/llama3_tiny", "HELLO"),
            text_of("tests/golden/llama3_tiny.smm", "HELLO"));
  EXPECT_THAT(Model::Load("tests/golden").status().message(), HasSubstr("config.json"));
}

// The chat template: a model's own (the checkpoint's tokenizer_config.json
// holds one), and a chat session that keeps what it has of a
// conversation resent with a new turn.
TEST(ApiTest, ChatTemplateAndChatSessions) {
  std::unique_ptr<Model> model = *Model::Load("tests/golden/hf/llama3_tiny");
  absl::StatusOr<std::string> prompt = model->ApplyChatTemplate({{"user", "HI"}});
  ASSERT_TRUE(prompt.ok()) << prompt.status();
  EXPECT_EQ(*prompt, "USER:HI;ASSISTANT:");
  EXPECT_EQ(*model->ApplyChatTemplate({{"user", "HI"}}, false), "USER:HI;");

  std::unique_ptr<Session> session = *model->NewSession({});
  GenerateOptions options;
  options.max_tokens = 4;
  options.sampler.temperature = 0;
  std::string reply;
  auto collect = [&](absl::string_view piece) {
    reply.append(piece.data(), piece.size());
    return true;
  };
  std::vector<ChatMessage> conversation = {{"user", "HI"}};
  absl::StatusOr<Stats> first = session->Chat(conversation, options, collect);
  ASSERT_TRUE(first.ok()) << first.status();
  conversation.push_back({"assistant", reply});
  conversation.push_back({"user", "AGAIN"});
  absl::StatusOr<Stats> second = session->Chat(conversation, options, collect);
  ASSERT_TRUE(second.ok()) << second.status();
  // The second turn prefilled only what the first had not.
  EXPECT_EQ(first->prompt_tokens_cached, 0);
  EXPECT_GE(second->prompt_tokens_cached, first->prompt_tokens);

  // A model without a template says so.
  std::unique_ptr<Model> bare = *Model::Load(kModel);
  EXPECT_FALSE(bare->ApplyChatTemplate({{"user", "HI"}}).ok());
}

// Embeddings and rerank scores of the golden encoders (llama.cpp's gguf-py
// wrote them) through the public API.
TEST(ApiTest, EmbedsAndReranks) {
  auto bert = *Model::Load("tests/golden/encoders/bert_tiny.gguf");
  EXPECT_EQ(bert->architecture(), "bert");
  absl::StatusOr<std::vector<std::vector<float>>> vectors =
      bert->Embed({"the city", "a new house"}, {}, 2);
  ASSERT_TRUE(vectors.ok()) << vectors.status();
  ASSERT_EQ(vectors->size(), 2u);
  EXPECT_EQ((*vectors)[0].size(), 32u);
  EmbedOptions cls;
  cls.pooling = "cls";
  cls.dimensions = 16;
  absl::StatusOr<std::vector<std::vector<float>>> short_vectors = bert->Embed({"the city"}, cls);
  ASSERT_TRUE(short_vectors.ok()) << short_vectors.status();
  EXPECT_EQ((*short_vectors)[0].size(), 16u);
  EXPECT_FALSE(bert->Embed({""}).ok());
  cls.pooling = "median";
  EXPECT_THAT(std::string(bert->Embed({"a"}, cls).status().message()), HasSubstr("'median'"));
  EXPECT_FALSE(bert->Rerank("q", {"d"}).ok());  // no classifier head
  // An encoder does not generate.
  auto session = bert->NewSession({});
  ASSERT_FALSE(session.ok());
  EXPECT_THAT(std::string(session.status().message()), HasSubstr("does not generate"));
  auto reranker = *Model::Load("tests/golden/encoders/rerank_tiny.gguf");
  absl::StatusOr<std::vector<float>> scores = reranker->Rerank("the city", {"a", "the city"});
  ASSERT_TRUE(scores.ok()) << scores.status();
  EXPECT_EQ(scores->size(), 2u);
}

}  // namespace
}  // namespace smallmind
