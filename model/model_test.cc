#include "model/model.h"

#include <functional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/model_file.h"
#include "model/presets.h"
#include "model/tensor_codec.h"

namespace smallmind::model {
namespace {

using ::testing::HasSubstr;

int64_t ExpectedParameters(const Architecture& arch) {
  int64_t total = 0;
  for (const TensorSpec& spec : ExpectedTensors(arch)) {
    int64_t n = 1;
    for (int64_t d : spec.shape) n *= d;
    total += n;
  }
  return total;
}

// The seed's model sizes, and llama2.c's stories15M.
TEST(PresetTest, ParameterCounts) {
  EXPECT_EQ(ExpectedParameters(FindPreset("small")->arch), 470528);
  EXPECT_EQ(ExpectedParameters(FindPreset("medium")->arch), 3454464);
  EXPECT_EQ(ExpectedParameters(FindPreset("stories15m")->arch), 15191712);
}

TEST(PresetTest, UnknownPresetListsNames) {
  EXPECT_THAT(FindPreset("huge").status().message(),
              HasSubstr("presets: small, medium, stories15m"));
  EXPECT_TRUE(FindPreset("SMALL").ok());
}

TEST(PresetTest, EveryPresetIsValid) {
  for (const Preset& p : Presets()) {
    EXPECT_TRUE(ValidateArchitecture(p.arch).ok()) << p.name;
  }
}

TEST(ModelTest, LoadsARandomModelWrittenToDisk) {
  const Preset small = *FindPreset("small");
  const std::string path = std::string(getenv("TEST_TMPDIR")) + "/small.smm";
  ModelDescription d =
      DescribeModel(small.arch, *ByteTokenizer(256), "random", "test");
  ASSERT_TRUE(WriteRandomModel(path, d, {core::DType::kQ8_0, 1}).ok());
  absl::StatusOr<std::unique_ptr<ModelData>> data = ReadModelFile(path);
  ASSERT_TRUE(data.ok()) << data.status();
  absl::StatusOr<std::unique_ptr<Model>> model = Model::Create(*std::move(data));
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->num_parameters(), 470528);
  EXPECT_EQ((*model)->weight_dtype(), core::DType::kQ8_0);
  EXPECT_EQ((*model)->layers().size(), 2u);
  EXPECT_EQ((*model)->output().num_rows(), 256);
  // Norm weights are ones; biases zeros.
  EXPECT_EQ(DecodeAll((*model)->output_norm_weight())[5], 1.0f);
  EXPECT_EQ(DecodeAll((*model)->layers()[1].qkv.biases[0])[7], 0.0f);
}

// Builds a model of a tiny llama shape, letting `edit` change the tensor
// list and the description before serialising.
class BrokenModelTest : public ::testing::Test {
 protected:
  absl::Status Load(
      const std::function<void(std::vector<TensorSource>&, ModelDescription&)>&
          edit) {
    Architecture a = FindPreset("stories15m")->arch;
    a.set_vocab_size(256);
    a.set_embedding_dim(64);
    a.set_num_heads(2);
    a.set_num_kv_heads(1);
    a.set_head_dim(32);
    a.set_rotary_dim(32);
    a.set_hidden_dim(96);
    a.set_num_layers(1);
    ModelDescription d = DescribeModel(a, *ByteTokenizer(256), "test", "");
    std::vector<TensorSource> sources;
    for (const TensorSpec& spec : ExpectedTensors(a)) {
      int64_t n = 1;
      for (int64_t dim : spec.shape) n *= dim;
      storage_.emplace_back(n * 4, 0);
      sources.push_back({spec.name, core::DType::kF32, spec.shape, {}});
    }
    for (size_t i = 0; i < sources.size(); ++i) sources[i].bytes = storage_[i];
    edit(sources, d);
    absl::StatusOr<std::string> bytes = SerializeModelFile(d, sources);
    if (!bytes.ok()) return bytes.status();
    bytes_ = *bytes;
    absl::StatusOr<std::unique_ptr<ModelData>> file = ParseModelFile(
        absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(bytes_.data()), bytes_.size()));
    if (!file.ok()) return file.status();
    return Model::Create(*std::move(file)).status();
  }

  std::vector<std::vector<uint8_t>> storage_;
  std::string bytes_;
};

TEST_F(BrokenModelTest, ValidModelLoads) {
  EXPECT_TRUE(Load([](auto&, auto&) {}).ok());
}

TEST_F(BrokenModelTest, MissingTensor) {
  EXPECT_THAT(Load([](std::vector<TensorSource>& s, ModelDescription&) {
                s.erase(s.begin() + 3);
              }).message(),
              HasSubstr("missing tensor 'blk.0.attn_output.weight'"));
}

TEST_F(BrokenModelTest, UnexpectedTensor) {
  EXPECT_THAT(Load([](std::vector<TensorSource>& s, ModelDescription&) {
                s.push_back(s.back());
                s.back().name = "blk.0.extra";
              }).message(),
              HasSubstr("unexpected tensor 'blk.0.extra'"));
}

TEST_F(BrokenModelTest, ShapeDisagreesWithArchitecture) {
  EXPECT_THAT(Load([](std::vector<TensorSource>&, ModelDescription& d) {
                d.mutable_architecture()->set_hidden_dim(64);
              }).message(),
              HasSubstr("tensor 'blk.0.ffn_gate_up.weight' has shape [192, 64] "
                        "but the architecture needs [128, 64]"));
}

TEST_F(BrokenModelTest, QuantizedNormIsRejected) {
  std::vector<uint8_t> q8(2 * 34);
  EXPECT_THAT(Load([&](std::vector<TensorSource>& s, ModelDescription&) {
                s[1].dtype = core::DType::kQ8_0;  // blk.0.attn_norm.weight
                s[1].bytes = q8;
              }).message(),
              HasSubstr("it must be f32"));
}

TEST_F(BrokenModelTest, TokenizerSizeMismatch) {
  EXPECT_THAT(Load([](std::vector<TensorSource>&, ModelDescription& d) {
                d.mutable_tokenizer()->mutable_tokens()->RemoveLast();
              }).message(),
              HasSubstr("the tokenizer has 255 tokens"));
}

TEST_F(BrokenModelTest, BadArchitectureKnobs) {
  EXPECT_THAT(Load([](std::vector<TensorSource>&, ModelDescription& d) {
                d.mutable_architecture()->set_num_kv_heads(3);
              }).message(),
              HasSubstr("not a multiple of num_kv_heads 3"));
  EXPECT_THAT(Load([](std::vector<TensorSource>&, ModelDescription& d) {
                d.mutable_architecture()->set_rotary_dim(33);
              }).message(),
              HasSubstr("rotary_dim 33"));
  EXPECT_THAT(Load([](std::vector<TensorSource>&, ModelDescription& d) {
                d.mutable_architecture()->set_num_layers(0);
              }).message(),
              HasSubstr("num_layers is 0"));
}

}  // namespace
}  // namespace smallmind::model
