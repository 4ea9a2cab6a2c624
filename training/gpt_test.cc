#include "training/gpt.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>

#include "backends/registry.h"
#include "formats/open.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/model.h"
#include "runtime/transformer.h"
#include "training/data.h"
#include "training/optimizer.h"
#include "training/trainer.h"

namespace smallmind::training {
namespace {

using ::testing::HasSubstr;

model::Architecture Tiny(bool tied = false) {
  model::Architecture a;
  a.set_name("gpt2");
  a.set_vocab_size(11);
  a.set_context_length(8);
  a.set_embedding_dim(16);
  a.set_num_layers(2);
  a.set_num_heads(2);
  a.set_num_kv_heads(2);
  a.set_head_dim(8);
  a.set_hidden_dim(32);
  a.set_norm(model::LAYER_NORM);
  a.set_norm_eps(1e-5f);
  a.set_positions(model::LEARNED);
  a.set_mlp(model::GELU);
  a.set_biases(true);
  a.set_tied_output(tied);
  return a;
}

const backends::Backend& Tiled() {
  return **backends::Registry::Get("tiled", core::DType::kF32);
}

std::vector<int32_t> Ids(int n, int seed) {
  std::vector<int32_t> v(n);
  for (int i = 0; i < n; ++i) v[i] = (i * 7 + seed * 3) % 11;
  return v;
}

// The whole model's gradient against numerical differentiation, for a spread
// of parameters from every tensor, untied and tied.
class GptGradientTest : public ::testing::TestWithParam<bool> {};

TEST_P(GptGradientTest, EveryTensorMatchesNumericalGradients) {
  core::ThreadPool pool(2);
  std::unique_ptr<Gpt> g = *Gpt::Create(Tiny(GetParam()), Tiled(), pool, 2, 5);
  g->InitRandom(3);
  // Larger weights than GPT-2 init, so every gradient is well above noise.
  for (float& p : g->params()) p *= 4.0f;
  const std::vector<int32_t> tokens = Ids(10, 1), targets = Ids(10, 2);
  ASSERT_TRUE(g->Step(tokens, targets, true).ok());
  const std::vector<float> analytic(g->grads().begin(), g->grads().end());
  for (const ParamTensor& t : g->tensors()) {
    for (size_t j = 0; j < t.size; j += std::max<size_t>(1, t.size / 5)) {
      float& p = g->params()[t.offset + j];
      const float saved = p, eps = 2e-3f;
      p = saved + eps;
      const double up = *g->Step(tokens, targets, false);
      p = saved - eps;
      const double down = *g->Step(tokens, targets, false);
      p = saved;
      const double numeric = (up - down) / (2 * eps);
      EXPECT_NEAR(analytic[t.offset + j], numeric, 2e-3 + 0.05 * std::abs(numeric))
          << t.name << "[" << j << "]";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(TiedAndUntied, GptGradientTest, ::testing::Bool());

// A checkpoint computes in the inference engine exactly what training saw.
TEST(GptTest, CheckpointLossMatchesTheInferenceEngine) {
  core::ThreadPool pool(1);
  std::unique_ptr<Gpt> g = *Gpt::Create(Tiny(), Tiled(), pool, 1, 8);
  g->InitRandom(4);
  for (float& p : g->params()) p *= 5.0f;
  const std::vector<int32_t> tokens = Ids(8, 5), targets = Ids(8, 6);
  const double loss = *g->Step(tokens, targets, false);

  model::TokenizerSpec vocab;
  vocab.set_kind(model::CHAR);
  for (char c = 'a'; c < 'a' + 11; ++c) vocab.add_tokens(std::string(1, c));
  const std::string path = std::string(getenv("TEST_TMPDIR")) + "/ckpt.smm";
  ASSERT_TRUE(g->Save(path, vocab, {{"k", "v"}}).ok());
  std::unique_ptr<model::Model> model = *formats::OpenModel(path);
  std::unique_ptr<runtime::Transformer> t = *runtime::Transformer::Create(*model, Tiled());
  runtime::KvCache cache = *runtime::KvCache::Create(model->arch(), 8, runtime::KvTypes::Exact());
  core::Arena arena = *core::Arena::Create(t->ScratchBytes(8, 1));
  std::vector<float> logits(8 * 11);
  ASSERT_TRUE(t->Forward(tokens, 0, cache, arena, pool, logits.data(), true).ok());
  double engine_loss = 0;
  for (int r = 0; r < 8; ++r) {
    const float* l = logits.data() + r * 11;
    double max = l[0], sum = 0;
    for (int v = 0; v < 11; ++v) max = std::max<double>(max, l[v]);
    for (int v = 0; v < 11; ++v) sum += std::exp(l[v] - max);
    engine_loss += -(l[targets[r]] - max - std::log(sum));
  }
  EXPECT_NEAR(loss, engine_loss / 8, 1e-4);
  EXPECT_EQ(model->description().metadata().at("k"), "v");
}

TEST(GptTest, RejectsWhatItCannotTrain) {
  core::ThreadPool pool(1);
  model::Architecture a = Tiny();
  a.set_norm(model::RMS_NORM);
  EXPECT_THAT(Gpt::Create(a, Tiled(), pool, 1, 4).status().message(),
              HasSubstr("GPT-2-style"));
  EXPECT_THAT(Gpt::Create(Tiny(), Tiled(), pool, 1, 9).status().message(),
              HasSubstr("at most the context"));
  std::unique_ptr<Gpt> g = *Gpt::Create(Tiny(), Tiled(), pool, 1, 4);
  EXPECT_FALSE(g->Step(Ids(3, 0), Ids(3, 0), false).ok());
  EXPECT_FALSE(g->Step({1, 2, 3, 99}, Ids(4, 0), false).ok());
}

TEST(OptimizerTest, ScheduleWarmsUpThenDecays) {
  OptimizerOptions o;
  o.learning_rate = 1.0f;
  o.warmup_steps = 10;
  o.total_steps = 110;
  o.min_lr_fraction = 0.1f;
  EXPECT_FLOAT_EQ(LearningRate(o, 0), 0.1f);
  EXPECT_FLOAT_EQ(LearningRate(o, 9), 1.0f);
  EXPECT_FLOAT_EQ(LearningRate(o, 10), 1.0f);
  EXPECT_NEAR(LearningRate(o, 60), 0.55f, 1e-5);
  EXPECT_NEAR(LearningRate(o, 110), 0.1f, 1e-6);
  EXPECT_NEAR(LearningRate(o, 500), 0.1f, 1e-6);
}

TEST(OptimizerTest, AdamWMovesAgainstTheGradientAndClips) {
  OptimizerOptions o;
  o.warmup_steps = 0;
  o.weight_decay = 0.0f;
  o.clip_norm = 1.0f;
  AdamW adam(o, 2);
  std::vector<float> params = {1.0f, 1.0f}, grads = {30.0f, -40.0f};
  std::vector<ParamTensor> tensors = {{"w", {2}, 0, 2, false}};
  EXPECT_FLOAT_EQ(adam.Step(absl::MakeSpan(params), absl::MakeSpan(grads), tensors), 50.0f);
  // Adam's first step moves each parameter by the learning rate.
  EXPECT_NEAR(params[0], 1.0f - o.learning_rate, 1e-6);
  EXPECT_NEAR(params[1], 1.0f + o.learning_rate, 1e-6);
  AdamW restored(o, 2);
  ASSERT_TRUE(restored.Deserialize(adam.Serialize()).ok());
  EXPECT_EQ(restored.step(), 1);
  EXPECT_FALSE(AdamW(o, 3).Deserialize(adam.Serialize()).ok());
}

TEST(DataTest, VocabularyBatchesAndBaseline) {
  const std::string text = "héllo wörld, hello world";
  model::TokenizerSpec vocab = CharVocabulary(text);
  EXPECT_EQ(vocab.tokens_size(), 11);  // space , d e h l o r w é ö
  std::unique_ptr<text::Tokenizer> tok = *text::Tokenizer::Create(vocab);
  Dataset d = *MakeDataset(text, *tok, 0.2, 4);
  EXPECT_EQ(d.train.size() + d.validation.size(), 24u);
  std::mt19937_64 rng(1);
  std::vector<int32_t> tokens, targets;
  SampleBatch(d.train, 3, 4, rng, tokens, targets);
  ASSERT_EQ(tokens.size(), 12u);
  for (int b = 0; b < 3; ++b) {
    for (int i = 0; i + 1 < 4; ++i) EXPECT_EQ(targets[b * 4 + i], tokens[b * 4 + i + 1]);
  }
  // A uniform distribution over V tokens costs log V.
  EXPECT_NEAR(UnigramLoss({}, {0, 1, 2}, 4), std::log(4.0), 1e-9);
  EXPECT_FALSE(MakeDataset("ab", *tok, 0.1, 4).ok());
}

// End to end on a small patterned corpus: loss drops far below the unigram
// baseline, checkpoints load, and training resumes from one.
TEST(TrainerTest, LearnsAPatternAndResumes) {
  const std::string dir = std::string(getenv("TEST_TMPDIR"));
  std::string text;
  for (int i = 0; i < 400; ++i) text += "the cat sat on the mat. ";
  std::ofstream(dir + "/corpus.txt") << text;
  TrainOptions o;
  o.data = dir + "/corpus.txt";
  o.output = dir + "/model.smm";
  o.steps = 60;
  o.batch = 4;
  o.seq = 32;
  o.eval_every = 30;
  o.eval_batches = 2;
  o.threads = 2;
  o.optimizer.learning_rate = 3e-3f;
  o.optimizer.warmup_steps = 5;
  o.optimizer.total_steps = 80;
  int reports = 0;
  absl::StatusOr<TrainSummary> s =
      Train(o, [&](const TrainProgress& p) { ++reports; EXPECT_EQ(p.steps, 60); });
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(reports, 60);
  EXPECT_LT(s->final_val_loss, 0.5 * s->unigram_loss)
      << "unigram " << s->unigram_loss << ", first " << s->first_val_loss;
  std::unique_ptr<model::Model> model = *formats::OpenModel(o.output);
  EXPECT_EQ(model->description().metadata().at("train.steps"), "60");
  std::ifstream csv(o.output + ".loss.csv");
  EXPECT_TRUE(csv.good());

  o.resume = o.output;
  o.steps = 80;
  absl::StatusOr<TrainSummary> resumed = Train(o, nullptr);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ(resumed->steps_run, 20);
  EXPECT_LT(resumed->final_val_loss, s->first_val_loss);
  EXPECT_EQ((*formats::OpenModel(o.output))->description().metadata().at("train.steps"),
            "80");
}

}  // namespace
}  // namespace smallmind::training
