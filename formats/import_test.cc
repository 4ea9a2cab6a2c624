// The llama2.c and Hugging Face importers: golden models written
// out in each format, converted back, must compute the golden logits; and
// malformed inputs are errors that say what is wrong.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "formats/gguf.h"
#include "formats/gguf_from_model.h"
#include "formats/gguf_import.h"
#include "formats/hf_import.h"
#include "formats/llama2c_import.h"
#include "formats/open.h"
#include "formats/hf_import.h"
#include "formats/hf_tokenizer.h"
#include "formats/safetensors.h"
#include "formats/smm_writer.h"
#include "formats/test_formats.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/model.h"
#include "model/tensor_codec.h"
#include "nlohmann/json.hpp"
#include "tests/golden_util.h"
#include "text/tokenizer.h"

namespace smallmind::formats {
namespace {

using ::testing::HasSubstr;

std::string TempDir(const std::string& name) {
  const std::string dir = std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
  std::filesystem::create_directories(dir);
  return dir;
}

void WriteBytes(const std::string& path, const void* data, size_t size) {
  std::ofstream out(path, std::ios::binary);
  out.write(static_cast<const char*>(data), size);
}

absl::StatusOr<std::unique_ptr<model::Model>> WriteAndLoad(
    absl::StatusOr<model::ModelData> model, const std::string& path) {
  if (!model.ok()) return model.status();
  absl::Status s = WriteSmm(path, *model, std::nullopt, nullptr);
  if (!s.ok()) return s;
  return formats::OpenModel(path);
}

// ---- llama2.c -------------------------------------------------------------

// llama_tiny as a llama2.c checkpoint and tokenizer.bin in `dir`.
void WriteLlama2c(const model::Model& m, const std::string& dir) {
  const Llama2cFiles files = Llama2cFromModel(m);
  WriteBytes(dir + "/model.bin", files.checkpoint.data(), files.checkpoint.size());
  WriteBytes(dir + "/tokenizer.bin", files.tokenizer.data(), files.tokenizer.size());
}

TEST(Llama2cTest, ConvertedModelComputesTheGoldenLogits) {
  absl::StatusOr<golden::Golden> golden = golden::LoadGolden("llama_tiny");
  ASSERT_TRUE(golden.ok()) << golden.status();
  const std::string dir = TempDir("llama2c");
  WriteLlama2c(*golden->model, dir);
  absl::StatusOr<std::unique_ptr<model::Model>> model = WriteAndLoad(
      ImportLlama2c(dir + "/model.bin", dir + "/tokenizer.bin"), dir + "/out.smm");
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_TRUE((*model)->arch().tied_output());
  EXPECT_EQ((*model)->arch().num_kv_heads(), 2u);
  absl::StatusOr<float> error = golden::MaxLogitError(**model, *golden);
  ASSERT_TRUE(error.ok()) << error.status();
  EXPECT_LE(*error, 1e-4f);
  // The vocabulary is SentencePiece's: ▁ for space, <s> and </s> control.
  const model::TokenizerSpec& tok = (*model)->description().tokenizer();
  EXPECT_EQ(tok.tokens(1), "<s>");
  EXPECT_EQ(tok.kind(), model::SENTENCEPIECE_BPE);
  EXPECT_EQ(tok.tokens(3), golden->model->description().tokenizer().tokens(3));
  EXPECT_EQ(tok.tokens(10), "\xe2\x96\x81x");
}

TEST(Llama2cTest, SizeMismatchAndBadHeaderAreErrors) {
  absl::StatusOr<golden::Golden> golden = golden::LoadGolden("llama_tiny");
  const std::string dir = TempDir("llama2c_bad");
  WriteLlama2c(*golden->model, dir);
  const auto size = std::filesystem::file_size(dir + "/model.bin");
  std::filesystem::resize_file(dir + "/model.bin", size - 4);
  EXPECT_THAT(ImportLlama2c(dir + "/model.bin", dir + "/tokenizer.bin").status().message(),
              HasSubstr("(freq_cis_imag runs past its end)"));
  std::filesystem::resize_file(dir + "/model.bin", size + 4);
  EXPECT_THAT(ImportLlama2c(dir + "/model.bin", dir + "/tokenizer.bin").status().message(),
              HasSubstr("but the file has"));
  const int32_t header[7] = {32, 48, 0, 4, 2, 64, 16};
  WriteBytes(dir + "/zero.bin", header, sizeof(header));
  EXPECT_THAT(ImportLlama2c(dir + "/zero.bin", dir + "/tokenizer.bin").status().message(),
              HasSubstr("header field n_layers is 0"));
  WriteBytes(dir + "/short.bin", header, 10);
  EXPECT_THAT(ImportLlama2c(dir + "/short.bin", dir + "/tokenizer.bin").status().message(),
              HasSubstr("too short"));
}

TEST(Llama2cTest, TruncatedTokenizerIsAnError) {
  absl::StatusOr<golden::Golden> golden = golden::LoadGolden("llama_tiny");
  const std::string dir = TempDir("llama2c_tok");
  WriteLlama2c(*golden->model, dir);
  std::filesystem::resize_file(dir + "/tokenizer.bin", 100);
  EXPECT_THAT(ImportLlama2c(dir + "/model.bin", dir + "/tokenizer.bin").status().message(),
              HasSubstr("truncated"));
}

// A piece's length is checked against the file before anything is sized by
// it (a fuzzer found a 1.9 GB string allocated for a 70 KB input).
TEST(Llama2cTest, PieceLongerThanTheFileIsAnError) {
  absl::StatusOr<golden::Golden> golden = golden::LoadGolden("llama_tiny");
  const std::string dir = TempDir("llama2c_long_piece");
  WriteLlama2c(*golden->model, dir);
  const int32_t hostile[3] = {0x7fffffff, 0, 1'900'000'000};  // max length, score, length
  WriteBytes(dir + "/tokenizer.bin", hostile, sizeof(hostile));
  EXPECT_THAT(ImportLlama2c(dir + "/model.bin", dir + "/tokenizer.bin").status().message(),
              HasSubstr("token 0 of length 1900000000 runs past the end (12 bytes)"));
}

// ---- Hugging Face GPT-2 safetensors -----------------------------------------

// gpt2_tiny as a Hugging Face GPT2LMHeadModel directory.
void WriteHuggingFace(const model::Model& m, const std::string& dir,
                      const std::string& dtype = "F32") {
  const HfGpt2Files files = HfGpt2FromModel(m, dtype);
  for (const auto& [name, bytes] :
       {std::pair<const char*, const std::string*>{"model.safetensors", &files.safetensors},
        {"config.json", &files.config},
        {"vocab.json", &files.vocab},
        {"merges.txt", &files.merges}}) {
    WriteBytes(dir + "/" + name, bytes->data(), bytes->size());
  }
}

TEST(SafetensorsTest, ConvertedModelComputesTheGoldenLogits) {
  absl::StatusOr<golden::Golden> golden = golden::LoadGolden("gpt2_tiny");
  ASSERT_TRUE(golden.ok()) << golden.status();
  const std::string dir = TempDir("hf");
  WriteHuggingFace(*golden->model, dir);
  absl::StatusOr<std::unique_ptr<model::Model>> model =
      WriteAndLoad(ImportHuggingFace(dir), dir + "/out.smm");
  ASSERT_TRUE(model.ok()) << model.status();
  absl::StatusOr<float> error = golden::MaxLogitError(**model, *golden);
  ASSERT_TRUE(error.ok()) << error.status();
  EXPECT_LE(*error, 1e-4f);
  const model::TokenizerSpec& tok = (*model)->description().tokenizer();
  EXPECT_EQ(tok.kind(), model::GPT2_BPE);
  EXPECT_EQ(tok.tokens(0), "Ġ");  // the golden vocabulary's " "
  ASSERT_EQ(tok.merges_size(), 1);
  EXPECT_EQ(tok.merges(0), "A B");
}

TEST(SafetensorsTest, HalfPrecisionCheckpointsConvert) {
  absl::StatusOr<golden::Golden> golden = golden::LoadGolden("gpt2_tiny");
  const std::string dir = TempDir("hf16");
  WriteHuggingFace(*golden->model, dir, "F16");
  absl::StatusOr<std::unique_ptr<model::Model>> model =
      WriteAndLoad(ImportHuggingFace(dir), dir + "/out.smm");
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->weight_dtype(), core::DType::kF32);  // transposed
  EXPECT_EQ((*model)->data().tensors[0].dtype, core::DType::kF16);  // wte kept as it was
  EXPECT_LE(*golden::MaxLogitError(**model, *golden), 2e-2f);
}

// ---- Hugging Face checkpoints of the other families -----------------------

struct HfCase {
  const char* golden;
  const char* dtype;
  int shards;
  float tolerance;
};

void WriteFiles(const std::map<std::string, std::string>& files, const std::string& dir) {
  for (const auto& [name, bytes] : files) WriteBytes(dir + "/" + name, bytes.data(), bytes.size());
}

class HfFamilyTest : public ::testing::TestWithParam<HfCase> {};

// Each family's golden model written as a checkpoint (its own tensor names,
// fusions, rotate-half rows, Gemma's w − 1 norms, Llama 3's rope_scaling)
// converts to a model with the golden logits, as the GGUF route does.
TEST_P(HfFamilyTest, ConvertedModelComputesTheGoldenLogits) {
  absl::StatusOr<golden::Golden> golden = golden::LoadGolden(GetParam().golden);
  ASSERT_TRUE(golden.ok()) << golden.status();
  const std::string dir = TempDir(std::string("hf_") + GetParam().golden + GetParam().dtype);
  WriteFiles(HfFromModel(*golden->model, GetParam().dtype, GetParam().shards), dir);
  absl::StatusOr<std::unique_ptr<model::Model>> model =
      WriteAndLoad(ImportHuggingFace(dir), dir + "/out.smm");
  ASSERT_TRUE(model.ok()) << model.status();
  absl::StatusOr<float> error = golden::MaxLogitError(**model, *golden);
  ASSERT_TRUE(error.ok()) << error.status();
  EXPECT_LE(*error, GetParam().tolerance);
  // And the same logits as the GGUF route's.
  std::vector<uint8_t> gguf = *GgufFromModel(*golden->model, core::DType::kF32);
  absl::StatusOr<GgufFile> parsed = GgufFile::Parse(gguf);
  ASSERT_TRUE(parsed.ok());
  absl::StatusOr<std::unique_ptr<model::Model>> via_gguf =
      WriteAndLoad(ImportGguf(*parsed, "gguf"), dir + "/gguf.smm");
  ASSERT_TRUE(via_gguf.ok()) << via_gguf.status();
  const std::vector<float> a = *golden::Logits(**model, golden->tokens);
  const std::vector<float> b = *golden::Logits(**via_gguf, golden->tokens);
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_NEAR(a[i], b[i], GetParam().tolerance + 1e-4f) << GetParam().golden << " at " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Families, HfFamilyTest,
    ::testing::Values(HfCase{"llama_tiny", "F32", 1, 1e-4f}, HfCase{"llama3_tiny", "F32", 2, 1e-4f},
                      HfCase{"qwen2_tiny", "F32", 1, 1e-4f}, HfCase{"qwen3_tiny", "F32", 3, 1e-4f},
                      HfCase{"gemma3_tiny", "F32", 1, 1e-4f}, HfCase{"phi3_tiny", "F32", 1, 1e-4f},
                      HfCase{"qwen3_tiny", "BF16", 2, 0.1f}),
    [](const ::testing::TestParamInfo<HfCase>& info) {
      return std::string(info.param.golden) + "_" + info.param.dtype;
    });

TEST(HfFamilyTest, UnsupportedCheckpointsAreRefusedByName) {
  absl::StatusOr<golden::Golden> golden = golden::LoadGolden("qwen3_tiny");
  const std::string dir = TempDir("hf_bad");
  std::map<std::string, std::string> files = HfFromModel(*golden->model, "F32");
  auto config_with = [&](const std::string& key, nlohmann::json value) {
    nlohmann::json c = nlohmann::json::parse(files["config.json"]);
    c[key] = value;
    std::map<std::string, std::string> changed = files;
    changed["config.json"] = c.dump();
    WriteFiles(changed, dir);
    return std::string(ImportHuggingFace(dir).status().message());
  };
  EXPECT_THAT(config_with("model_type", "mamba"), HasSubstr("model_type 'mamba' is not supported"));
  EXPECT_THAT(config_with("rope_scaling", {{"rope_type", "yarn"}, {"factor", 4}}),
              HasSubstr("rope_scaling type 'yarn' is not supported"));
  EXPECT_THAT(config_with("final_logit_softcapping", 30.0),
              HasSubstr("'final_logit_softcapping' is not supported"));
  EXPECT_THAT(config_with("hidden_act", "relu"), HasSubstr("'hidden_act' is 'relu'"));
  EXPECT_THAT(config_with("hidden_size", -4), HasSubstr("'hidden_size' is not a positive integer"));
  EXPECT_THAT(config_with("vocab_size", 8), HasSubstr("tokenizer.json has 64 tokens"));
  // A shard the index names but the directory lacks.
  std::map<std::string, std::string> sharded = HfFromModel(*golden->model, "F32", 2);
  sharded.erase("model-00002-of-00002.safetensors");
  const std::string shard_dir = TempDir("hf_missing_shard");
  WriteFiles(sharded, shard_dir);
  EXPECT_THAT(std::string(ImportHuggingFace(shard_dir).status().message()),
              HasSubstr("model-00002-of-00002.safetensors"));
}

absl::Status ParseHeader(const std::string& json, uint64_t data_bytes = 0) {
  std::string file;
  const uint64_t length = json.size();
  file.append(reinterpret_cast<const char*>(&length), 8);
  file += json + std::string(data_bytes, '\0');
  return ParseSafetensors(absl::MakeConstSpan(
                              reinterpret_cast<const uint8_t*>(file.data()),
                              file.size()))
      .status();
}

TEST(SafetensorsTest, MalformedHeadersAreErrors) {
  EXPECT_THAT(ParseHeader("{not json").message(), HasSubstr("not valid JSON"));
  EXPECT_THAT(ParseHeader(R"({"a": {"dtype": "F32", "shape": [2],
                                    "data_offsets": [0, 80]}})", 8).message(),
              HasSubstr("lie outside the 8-byte data section"));
  EXPECT_THAT(ParseHeader(R"({"a": {"dtype": "F32", "shape": [3],
                                    "data_offsets": [0, 8]}})", 8).message(),
              HasSubstr("8 bytes do not match F32 of 3 elements"));
  EXPECT_THAT(ParseHeader(R"({"a": {"dtype": "I64", "shape": [1],
                                    "data_offsets": [0, 8]}})", 8).message(),
              HasSubstr("dtype I64 is not supported"));
  EXPECT_THAT(ParseHeader(R"({"a": {"dtype": "F32"}})").message(),
              HasSubstr("needs dtype, shape and two data_offsets"));
  EXPECT_TRUE(ParseHeader(R"({"a": {"dtype": "F32", "shape": [2],
                                   "data_offsets": [0, 8]}})", 8).ok());
  std::string file(8, '\0');
  const uint64_t huge = 1 << 20;
  std::memcpy(file.data(), &huge, 8);
  EXPECT_THAT(ParseSafetensors(absl::MakeConstSpan(
                                   reinterpret_cast<const uint8_t*>(file.data()), 8))
                  .status()
                  .message(),
              HasSubstr("runs past the end"));
}

TEST(SafetensorsTest, MissingFilesAndUnsupportedModels) {
  const std::string dir = TempDir("hf_empty");
  EXPECT_THAT(ImportHuggingFace(dir).status().message(),
              HasSubstr("cannot read"));
  const std::string config = R"({"model_type": "t5"})";
  WriteBytes(dir + "/config.json", config.data(), config.size());
  EXPECT_THAT(ImportHuggingFace(dir).status().message(),
              HasSubstr("'t5' is not supported"));
  const std::string nomic = R"({"model_type": "nomic_bert", "n_embd": 8, "n_layer": 1,
      "n_head": 2, "n_inner": 16, "n_positions": 8, "vocab_size": 4, "prenorm": true})";
  WriteBytes(dir + "/config.json", nomic.data(), nomic.size());
  EXPECT_THAT(ImportHuggingFace(dir).status().message(),
              HasSubstr("nomic_bert with 'prenorm' true is not supported"));
}

}  // namespace
}  // namespace smallmind::formats
