#include "formats/gguf.h"

#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "core/heap_counter.h"
#include "formats/gguf_builder.h"
#include "formats/gguf_from_model.h"
#include "formats/gguf_import.h"
#include "formats/open.h"
#include "formats/smm_writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/model.h"
#include "model/presets.h"
#include "tests/golden_util.h"

namespace smallmind::formats {
namespace {

using ::testing::HasSubstr;

std::string TempPath(const std::string& name) {
  return std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
}

absl::Status Parse(const std::vector<uint8_t>& bytes) {
  return GgufFile::Parse(bytes).status();
}

// Converts `gguf` to .smm and returns the loaded model.
absl::StatusOr<std::unique_ptr<model::Model>> Convert(
    const std::vector<uint8_t>& gguf, const std::string& name,
    std::optional<core::DType> quantize = std::nullopt) {
  absl::StatusOr<GgufFile> file = GgufFile::Parse(gguf);
  if (!file.ok()) return file.status();
  absl::StatusOr<model::ModelData> model = ImportGguf(*file, name);
  if (!model.ok()) return model.status();
  const std::string path = TempPath(name + ".smm");
  absl::Status written = WriteSmm(path, *model, quantize, nullptr);
  if (!written.ok()) return written;
  return formats::OpenModel(path);
}

// ---- round trips: golden model -> GGUF -> .smm -> same logits -----------

struct RoundTrip {
  const char* golden;
  core::DType matrices;
  float tolerance;
};

class GgufRoundTripTest : public ::testing::TestWithParam<RoundTrip> {};

TEST_P(GgufRoundTripTest, ConvertedModelComputesTheGoldenLogits) {
  absl::StatusOr<golden::Golden> golden = golden::LoadGolden(GetParam().golden);
  ASSERT_TRUE(golden.ok()) << golden.status();
  absl::StatusOr<std::vector<uint8_t>> gguf =
      GgufFromModel(*golden->model, GetParam().matrices);
  ASSERT_TRUE(gguf.ok()) << gguf.status();
  absl::StatusOr<std::unique_ptr<model::Model>> model =
      Convert(*gguf, GetParam().golden);
  ASSERT_TRUE(model.ok()) << model.status();
  const model::ModelDescription& d = (*model)->description();
  EXPECT_EQ(d.provenance().source_format(), "gguf v3");
  EXPECT_EQ(d.metadata().at("general.name"), "round trip");
  EXPECT_EQ(d.tokenizer().tokens_size(), 64);
  EXPECT_EQ(d.tokenizer().tokens(5), golden->model->description().tokenizer().tokens(5));
  EXPECT_EQ(d.tokenizer().has_eos_id(), golden->model->description().tokenizer().has_eos_id());
  EXPECT_EQ((*model)->arch().tied_output(), golden->model->arch().tied_output());
  absl::StatusOr<float> error = golden::MaxLogitError(**model, *golden);
  ASSERT_TRUE(error.ok()) << error.status();
  EXPECT_LE(*error, GetParam().tolerance);
}

INSTANTIATE_TEST_SUITE_P(
    Models, GgufRoundTripTest,
    ::testing::Values(RoundTrip{"gpt2_tiny", core::DType::kF32, 1e-4f},
                      RoundTrip{"llama_tiny", core::DType::kF32, 1e-4f},
                      RoundTrip{"llama3_tiny", core::DType::kF32, 1e-4f},
                      RoundTrip{"qwen2_tiny", core::DType::kF32, 1e-4f},
                      RoundTrip{"qwen3_tiny", core::DType::kF32, 1e-4f},
                      RoundTrip{"gemma3_tiny", core::DType::kF32, 1e-4f},
                      RoundTrip{"phi3_tiny", core::DType::kF32, 1e-4f},
                      RoundTrip{"llama_tiny", core::DType::kF16, 2e-2f},
                      RoundTrip{"gpt2_tiny", core::DType::kQ8_0, 0.1f}));

TEST(GgufImportTest, QuantizeOnConvert) {
  absl::StatusOr<golden::Golden> golden = golden::LoadGolden("gpt2_tiny");
  ASSERT_TRUE(golden.ok());
  absl::StatusOr<std::unique_ptr<model::Model>> model = Convert(
      *GgufFromModel(*golden->model, core::DType::kF32), "q8", core::DType::kQ8_0);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->weight_dtype(), core::DType::kQ8_0);
  EXPECT_LT(*golden::MaxLogitError(**model, *golden), 0.1f);
  // stories15m's rows of 288 are not whole super-blocks of 256: Q4_K falls
  // back to Q5_0 there, as llama-quantize does; rows of 768 stay Q4_K.
  {
    absl::StatusOr<model::Preset> preset = model::FindPreset("stories15m");
    model::Architecture arch = preset->arch;
    arch.set_vocab_size(512);
    arch.set_num_layers(1);
    const std::string path = TempPath("s15.smm");
    ASSERT_TRUE(model::WriteRandomModel(
                    path, model::DescribeModel(arch, *model::ByteTokenizer(512), "t", "t"),
                    {})
                    .ok());
    absl::StatusOr<std::unique_ptr<model::Model>> model =
        Convert(*GgufFromModel(**formats::OpenModel(path), core::DType::kF32), "s15-q4k",
                core::DType::kQ4_K);
    ASSERT_TRUE(model.ok()) << model.status();
    EXPECT_EQ((*model)->data().View("blk.0.attn_qkv.weight")->dtype(), core::DType::kQ5_0);
    EXPECT_EQ((*model)->data().View("blk.0.ffn_down.weight")->dtype(), core::DType::kQ4_K);
  }
  // llama_tiny's ffn_down rows are 48 long: not whole Q4_0 blocks.
  absl::StatusOr<golden::Golden> llama = golden::LoadGolden("llama_tiny");
  EXPECT_THAT(Convert(*GgufFromModel(*llama->model, core::DType::kF32), "q4",
                      core::DType::kQ4_0)
                  .status()
                  .message(),
              HasSubstr("cannot quantize 'blk.0.ffn_down.weight' to q4_0"));
}

// ---- GGUF quantization types ----------------------------------------------

// A random GPT-2 of the medium preset's shape (every row length a multiple
// of 256, as the K-quants need) stored as `dtype`, against the same weights
// decoded to F32: the logits may differ only by what the int8 kernels
// round (activations to 8 bits per 32, scales and mins to f16).
TEST(GgufImportTest, QuantizedFilesComputeTheirDequantizedLogits) {
  const std::string f32_path = TempPath("medium-f32.smm");
  absl::StatusOr<model::Preset> preset = model::FindPreset("medium");
  ASSERT_TRUE(preset.ok());
  model::RandomModelOptions options;
  options.stddev = 0.05f;
  ASSERT_TRUE(model::WriteRandomModel(
                  f32_path,
                  model::DescribeModel(preset->arch, *model::ByteTokenizer(512), "test", "test"),
                  options)
                  .ok());
  absl::StatusOr<std::unique_ptr<model::Model>> f32 = formats::OpenModel(f32_path);
  ASSERT_TRUE(f32.ok()) << f32.status();
  const std::vector<int32_t> tokens = {3, 300, 17, 511, 42, 9, 128, 77};
  for (const core::DTypeTraits& t : core::AllDTypes()) {
    if (!t.quantized) continue;
    absl::StatusOr<std::unique_ptr<model::Model>> quantized =
        Convert(*GgufFromModel(**f32, t.dtype), std::string("medium-") + t.name);
    ASSERT_TRUE(quantized.ok()) << t.name << ": " << quantized.status();
    EXPECT_EQ((*quantized)->weight_dtype(), t.dtype);
    absl::StatusOr<std::unique_ptr<model::Model>> dequantized =
        Convert(*GgufFromModel(**quantized, core::DType::kF32),
                std::string("medium-") + t.name + "-f32");
    ASSERT_TRUE(dequantized.ok()) << dequantized.status();
    const std::vector<float> got = *golden::Logits(**quantized, tokens);
    const std::vector<float> expected = *golden::Logits(**dequantized, tokens);
    const std::vector<float> original = *golden::Logits(**f32, tokens);
    double worst = 0, spread = 0, quantization = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      worst = std::max(worst, std::fabs(double{got[i]} - expected[i]));
      spread = std::max(spread, std::fabs(double{expected[i]}));
      quantization = std::max(quantization, std::fabs(double{expected[i]} - original[i]));
    }
    // Within 3% of the logits' range: the 8-bit activations' share, the
    // same for every type (measured: 1.3-1.9%; the weights' own
    // quantization moves them by `quantization`, 0.04 for Q8_0 to 2.2 for
    // Q2_K).
    EXPECT_LT(worst, 0.03 * spread) << t.name << " (quantization moved them " << quantization
                                    << ")";
  }
}

// ---- hostile files: one test per failure mode ------------------------------

// The metadata a llama file needs, with a one-token-per-letter vocabulary.
GgufBuilder MinimalLlama(const std::string& tokenizer = "llama", uint32_t block_count = 1) {
  GgufBuilder b;
  b.String("general.architecture", "llama");
  b.Uint32("llama.context_length", 16);
  b.Uint32("llama.embedding_length", 32);
  b.Uint32("llama.block_count", block_count);
  b.Uint32("llama.feed_forward_length", 64);
  b.Uint32("llama.attention.head_count", 4);
  b.Float32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  b.String("tokenizer.ggml.model", tokenizer);
  b.Strings("tokenizer.ggml.tokens", {"a", "b", "c"});
  return b;
}

absl::Status Import(const GgufBuilder& b) {
  const std::vector<uint8_t> bytes = b.Build();
  absl::StatusOr<GgufFile> file = GgufFile::Parse(bytes);
  if (!file.ok()) return file.status();
  return ImportGguf(*file, "test").status();
}

TEST(GgufHostileTest, BadMagic) {
  std::vector<uint8_t> bytes = GgufBuilder().Build();
  bytes[0] = 'X';
  EXPECT_THAT(Parse(bytes).message(), HasSubstr("bad magic"));
}

TEST(GgufHostileTest, UnsupportedVersion) {
  EXPECT_THAT(Parse(GgufBuilder(1).Build()).message(),
              HasSubstr("unsupported GGUF version 1"));
  EXPECT_TRUE(Parse(GgufBuilder(2).Build()).ok());
}

TEST(GgufHostileTest, TruncatedHeader) {
  std::vector<uint8_t> bytes = GgufBuilder().Build();
  bytes.resize(12);
  EXPECT_THAT(Parse(bytes).message(), HasSubstr("truncated file: tensor count"));
}

TEST(GgufHostileTest, ImplausibleCounts) {
  std::vector<uint8_t> bytes = GgufBuilder().Build();
  const uint64_t huge = uint64_t{1} << 40;
  std::memcpy(&bytes[8], &huge, 8);
  EXPECT_THAT(Parse(bytes).message(), HasSubstr("implausible counts"));
}

TEST(GgufHostileTest, StringLengthPastEof) {
  GgufBuilder b;
  std::vector<uint8_t> raw;
  GgufBuilder::Put(raw, uint64_t{1} << 50);  // key length
  raw.insert(raw.end(), {'k', 'e', 'y'});
  b.RawKeyValue(raw);
  EXPECT_THAT(Parse(b.Build()).message(),
              HasSubstr("string length 1125899906842624 at byte 24 runs past "
                        "the end of the file"));
}

TEST(GgufHostileTest, ArrayLengthPastEof) {
  GgufBuilder b;
  std::vector<uint8_t> raw;
  GgufBuilder::Str(raw, "tokenizer.ggml.scores");
  GgufBuilder::Put(raw, static_cast<uint32_t>(GgufType::kArray));
  GgufBuilder::Put(raw, static_cast<uint32_t>(GgufType::kFloat32));
  GgufBuilder::Put(raw, uint64_t{1} << 61);
  b.RawKeyValue(raw);
  EXPECT_THAT(Parse(b.Build()).message(),
              HasSubstr("array of 2305843009213693952 elements runs past the end"));
}

TEST(GgufHostileTest, UnknownValueTypeAndNestedArrays) {
  GgufBuilder b;
  std::vector<uint8_t> raw;
  GgufBuilder::Str(raw, "k");
  GgufBuilder::Put(raw, uint32_t{99});
  b.RawKeyValue(raw);
  EXPECT_THAT(Parse(b.Build()).message(), HasSubstr("unknown value type 99"));
  GgufBuilder nested;
  raw.clear();
  GgufBuilder::Str(raw, "k");
  GgufBuilder::Put(raw, static_cast<uint32_t>(GgufType::kArray));
  GgufBuilder::Put(raw, static_cast<uint32_t>(GgufType::kArray));
  GgufBuilder::Put(raw, uint64_t{0});
  nested.RawKeyValue(raw);
  EXPECT_THAT(Parse(nested.Build()).message(), HasSubstr("not supported"));
}

TEST(GgufHostileTest, DuplicateKey) {
  GgufBuilder b;
  b.Uint32("a", 1);
  b.Uint32("a", 2);
  EXPECT_THAT(Parse(b.Build()).message(), HasSubstr("duplicate metadata key 'a'"));
}

TEST(GgufHostileTest, TooManyDimensions) {
  GgufBuilder b;
  b.Tensor("t", {1, 1, 1, 1, 1}, 0, std::vector<uint8_t>(4));
  EXPECT_THAT(Parse(b.Build()).message(),
              HasSubstr("tensor 't': 5 dimensions (1..4 allowed)"));
}

TEST(GgufHostileTest, ElementCountOverflows) {
  GgufBuilder b;
  b.Tensor("t", {uint64_t{1} << 40, uint64_t{1} << 40}, 0, {});
  EXPECT_THAT(Parse(b.Build()).message(),
              HasSubstr("so the element count overflows"));
  GgufBuilder zero;
  zero.Tensor("t", {4, 0}, 0, {});
  EXPECT_THAT(Parse(zero.Build()).message(), HasSubstr("dimension 1 is 0"));
}

TEST(GgufHostileTest, TensorPastEof) {
  GgufBuilder b;
  b.Tensor("t", {8}, 0, {}, /*offset=*/1024);
  EXPECT_THAT(Parse(b.Build()).message(),
              HasSubstr("tensor 't': bytes 1024..+32 of the data section run "
                        "past the end of the file"));
}

TEST(GgufHostileTest, OffsetPlusSizeWraps) {
  GgufBuilder b;
  b.Tensor("t", {1024}, 0, {},
           /*offset=*/static_cast<int64_t>(std::numeric_limits<int64_t>::max() - 31));
  EXPECT_THAT(Parse(b.Build()).message(), HasSubstr("run past the end"));
}

TEST(GgufHostileTest, MisalignedOffset) {
  GgufBuilder b;
  b.Tensor("t", {8}, 0, std::vector<uint8_t>(32));
  b.Tensor("u", {8}, 0, {}, /*offset=*/4);
  EXPECT_THAT(Parse(b.Build()).message(),
              HasSubstr("tensor 'u': offset 4 is not aligned to 32"));
}

TEST(GgufHostileTest, BadAlignmentKey) {
  GgufBuilder b;
  b.Uint32("general.alignment", 48);
  EXPECT_THAT(Parse(b.Build()).message(), HasSubstr("not a power of two"));
}

TEST(GgufHostileTest, QuantizedRowNotWholeBlocks) {
  GgufBuilder b;
  b.Tensor("t", {40, 2}, core::Traits(core::DType::kQ8_0).ggml_type,
           std::vector<uint8_t>(68));
  EXPECT_THAT(Parse(b.Build()).message(),
              HasSubstr("row length 40 is not a whole number of blocks of 32"));
}

TEST(GgufHostileTest, DuplicateTensor) {
  GgufBuilder b;
  b.Tensor("t", {8}, 0, std::vector<uint8_t>(32));
  b.Tensor("t", {8}, 0, std::vector<uint8_t>(32));
  EXPECT_THAT(Parse(b.Build()).message(), HasSubstr("duplicate tensor name 't'"));
}

TEST(GgufHostileTest, KeyOfTheWrongType) {
  GgufBuilder b;
  b.String("general.architecture", "llama");
  b.String("llama.context_length", "sixteen");
  EXPECT_THAT(Import(b).message(),
              HasSubstr("metadata key 'llama.context_length' is string, "
                        "expected an integer"));
  GgufBuilder tokens = MinimalLlama();
  tokens.Floats("tokenizer.ggml.merges", {1.0f});
  EXPECT_THAT(Import(tokens).message(),
              HasSubstr("'tokenizer.ggml.merges' is array of float32, "
                        "expected array of string"));
}

TEST(GgufHostileTest, MissingKey) {
  GgufBuilder b;
  b.String("general.architecture", "llama");
  EXPECT_THAT(Import(b).message(),
              HasSubstr("missing metadata key 'llama.context_length'"));
}

TEST(GgufHostileTest, UnsupportedArchitectureAndTokenizer) {
  GgufBuilder b;
  b.String("general.architecture", "falcon");
  EXPECT_THAT(Import(b).message(), HasSubstr("'falcon' is not supported"));
  EXPECT_THAT(Import(MinimalLlama("rwkv")).message(),
              HasSubstr("tokenizer.ggml.model 'rwkv' is not supported"));
}

// A Unigram vocabulary's character map is checked before any text meets it.
TEST(GgufHostileTest, BrokenCharacterMap) {
  GgufBuilder not_bytes = MinimalLlama("t5");
  not_bytes.Int32s("tokenizer.ggml.precompiled_charsmap", {300, 0, 0, 0});
  EXPECT_THAT(Import(not_bytes).message(), HasSubstr("not a byte"));
  GgufBuilder short_trie = MinimalLlama("t5");
  short_trie.Int32s("tokenizer.ggml.precompiled_charsmap", {200, 0, 0, 0, 1, 2});
  EXPECT_THAT(Import(short_trie).message(),
              HasSubstr("precompiled charsmap: a trie of 200 bytes in a map of 6"));
}

// Refused by the architecture's bounds before anything walks the layers (the
// fuzzer found a file whose millions of blocks took seconds of tensor lookups).
TEST(GgufHostileTest, ImplausibleBlockCount) {
  const GgufBuilder b = MinimalLlama("llama", 2'000'000);
  const int64_t before = core::HeapAllocations();
  EXPECT_THAT(Import(b).message(), HasSubstr("num_layers is 2000000, expected 1..1024"));
  // The metadata's allocations, not a tensor name per declared layer.
  EXPECT_LT(core::HeapAllocations() - before, 10'000);
}

TEST(GgufHostileTest, SpecialTokenOutOfRange) {
  GgufBuilder b = MinimalLlama();
  b.Uint32("tokenizer.ggml.bos_token_id", 7);
  EXPECT_THAT(Import(b).message(),
              HasSubstr("bos_token_id is 7, outside the 3-token vocabulary"));
}

TEST(GgufHostileTest, MissingTensor) {
  EXPECT_THAT(Import(MinimalLlama()).message(),
              HasSubstr("missing tensor 'token_embd.weight'"));
}

TEST(GgufHostileTest, TensorShapeDisagreesWithMetadata) {
  GgufBuilder b = MinimalLlama();
  b.Tensor("token_embd.weight", {16, 3}, 0, std::vector<uint8_t>(16 * 3 * 4));
  EXPECT_THAT(Import(b).message(),
              HasSubstr("'token_embd.weight' has shape [3, 16], which does "
                        "not fit 'token_embd.weight' [3, 32]"));
}

TEST(GgufHostileTest, UnsupportedTensorType) {
  GgufBuilder b = MinimalLlama();
  b.Tensor("token_embd.weight", {256, 3}, 16, {});  // IQ2_XXS
  EXPECT_THAT(Import(b).message(), HasSubstr("has ggml type 16"));
}

}  // namespace
}  // namespace smallmind::formats
