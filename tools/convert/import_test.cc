// The llama2.c and Hugging Face safetensors importers: golden models written
// out in each format, converted back, must compute the golden logits; and
// malformed inputs are errors that say what is wrong.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "runtime/model.h"
#include "runtime/tensor_codec.h"
#include "runtime/tokenizer.h"
#include "tests/golden_util.h"
#include "tools/convert/llama2c_import.h"
#include "tools/convert/safetensors_import.h"

namespace smallmind::convert {
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

void Append(std::string& out, const void* data, size_t size) {
  out.append(static_cast<const char*>(data), size);
}

std::vector<float> Weights(const runtime::Model& m, const std::string& name) {
  return runtime::DecodeAll(*m.file().Tensor(name));
}

absl::StatusOr<std::unique_ptr<runtime::Model>> WriteAndLoad(
    absl::StatusOr<ConvertedModel> model, const std::string& path) {
  if (!model.ok()) return model.status();
  absl::Status s = WriteConverted(path, *model, std::nullopt, nullptr);
  if (!s.ok()) return s;
  return runtime::Model::Load(path);
}

// ---- llama2.c -------------------------------------------------------------

// llama_tiny as a llama2.c checkpoint and tokenizer.bin in `dir`.
void WriteLlama2c(const runtime::Model& m, const std::string& dir) {
  const runtime::Architecture& a = m.arch();
  const int32_t header[7] = {
      static_cast<int32_t>(a.embedding_dim()), static_cast<int32_t>(a.hidden_dim()),
      static_cast<int32_t>(a.num_layers()),    static_cast<int32_t>(a.num_heads()),
      static_cast<int32_t>(a.num_kv_heads()),  static_cast<int32_t>(a.vocab_size()),
      static_cast<int32_t>(a.context_length())};
  std::string out;
  Append(out, header, sizeof(header));
  auto put = [&](const std::vector<float>& v, size_t begin, size_t count) {
    Append(out, v.data() + begin, count * 4);
  };
  const int64_t dim = a.embedding_dim(), hidden = a.hidden_dim();
  const int64_t q = a.num_heads() * a.head_dim(), kv = a.num_kv_heads() * a.head_dim();
  const std::vector<float> emb = Weights(m, "token_embd.weight");
  put(emb, 0, emb.size());
  auto per_layer = [&](const char* name, size_t begin, size_t count) {
    for (uint32_t l = 0; l < a.num_layers(); ++l) {
      put(Weights(m, absl::StrCat("blk.", l, ".", name)), begin, count);
    }
  };
  per_layer("attn_norm.weight", 0, dim);
  per_layer("attn_qkv.weight", 0, q * dim);
  per_layer("attn_qkv.weight", q * dim, kv * dim);
  per_layer("attn_qkv.weight", (q + kv) * dim, kv * dim);
  per_layer("attn_output.weight", 0, dim * q);
  per_layer("ffn_norm.weight", 0, dim);
  per_layer("ffn_gate_up.weight", 0, hidden * dim);          // w1: gate
  per_layer("ffn_down.weight", 0, dim * hidden);             // w2
  per_layer("ffn_gate_up.weight", hidden * dim, hidden * dim);  // w3: up
  put(Weights(m, "output_norm.weight"), 0, dim);
  const std::vector<float> freqs(a.context_length() * a.head_dim(), 0.0f);
  put(freqs, 0, freqs.size());  // freq_cis_real, freq_cis_imag
  WriteBytes(dir + "/model.bin", out.data(), out.size());

  std::string tok;
  const int32_t max_length = 8;
  Append(tok, &max_length, 4);
  for (int i = 0; i < m.description().tokenizer().tokens_size(); ++i) {
    std::string piece = m.description().tokenizer().tokens(i);
    if (i == 0) piece = "<unk>";
    if (i == 1) piece = "\n<s>\n";
    if (i == 2) piece = "\n</s>\n";
    if (i == 10) piece = " x";  // export.py wrote ▁ as a space
    const float score = -i;
    const int32_t length = piece.size();
    Append(tok, &score, 4);
    Append(tok, &length, 4);
    tok += piece;
  }
  WriteBytes(dir + "/tokenizer.bin", tok.data(), tok.size());
}

TEST(Llama2cTest, ConvertedModelComputesTheGoldenLogits) {
  absl::StatusOr<golden::Golden> golden = golden::LoadGolden("llama_tiny");
  ASSERT_TRUE(golden.ok()) << golden.status();
  const std::string dir = TempDir("llama2c");
  WriteLlama2c(*golden->model, dir);
  absl::StatusOr<std::unique_ptr<runtime::Model>> model = WriteAndLoad(
      ImportLlama2c(dir + "/model.bin", dir + "/tokenizer.bin"), dir + "/out.smm");
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_TRUE((*model)->arch().tied_output());
  EXPECT_EQ((*model)->arch().num_kv_heads(), 2u);
  absl::StatusOr<float> error = golden::MaxLogitError(**model, *golden);
  ASSERT_TRUE(error.ok()) << error.status();
  EXPECT_LE(*error, 1e-4f);
  // The vocabulary is SentencePiece's: ▁ for space, <s> and </s> control.
  const runtime::TokenizerSpec& tok = (*model)->description().tokenizer();
  EXPECT_EQ(tok.tokens(1), "<s>");
  EXPECT_EQ(tok.kind(), runtime::SENTENCEPIECE_BPE);
  EXPECT_EQ(tok.tokens(3), golden->model->description().tokenizer().tokens(3));
  EXPECT_EQ(tok.tokens(10), "\xe2\x96\x81x");
}

TEST(Llama2cTest, SizeMismatchAndBadHeaderAreErrors) {
  absl::StatusOr<golden::Golden> golden = golden::LoadGolden("llama_tiny");
  const std::string dir = TempDir("llama2c_bad");
  WriteLlama2c(*golden->model, dir);
  std::filesystem::resize_file(dir + "/model.bin",
                               std::filesystem::file_size(dir + "/model.bin") - 4);
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

// ---- Hugging Face GPT-2 safetensors -----------------------------------------

// gpt2_tiny as a Hugging Face GPT2LMHeadModel directory.
void WriteHuggingFace(const runtime::Model& m, const std::string& dir,
                      const std::string& dtype = "F32") {
  const runtime::Architecture& a = m.arch();
  struct Entry {
    std::string name;
    std::vector<int64_t> shape;
    std::vector<float> values;
  };
  std::vector<Entry> entries;
  auto add = [&](const std::string& hf, const std::string& ours, bool conv1d) {
    core::TensorView view = *m.file().Tensor(ours);
    std::vector<float> v = runtime::DecodeAll(view);
    std::vector<int64_t> shape(view.shape().dims().begin(), view.shape().dims().end());
    if (conv1d) {  // stored [in, out]
      const int64_t rows = shape[0], cols = shape[1];
      std::vector<float> t(v.size());
      for (int64_t r = 0; r < rows; ++r) {
        for (int64_t c = 0; c < cols; ++c) t[c * rows + r] = v[r * cols + c];
      }
      v = std::move(t);
      shape = {cols, rows};
    }
    entries.push_back({"transformer." + hf, shape, std::move(v)});
  };
  add("wte.weight", "token_embd.weight", false);
  add("wpe.weight", "position_embd.weight", false);
  for (uint32_t l = 0; l < a.num_layers(); ++l) {
    const std::string h = absl::StrCat("h.", l, "."), b = absl::StrCat("blk.", l, ".");
    add(h + "ln_1.weight", b + "attn_norm.weight", false);
    add(h + "ln_1.bias", b + "attn_norm.bias", false);
    add(h + "attn.c_attn.weight", b + "attn_qkv.weight", true);
    add(h + "attn.c_attn.bias", b + "attn_qkv.bias", false);
    add(h + "attn.c_proj.weight", b + "attn_output.weight", true);
    add(h + "attn.c_proj.bias", b + "attn_output.bias", false);
    add(h + "ln_2.weight", b + "ffn_norm.weight", false);
    add(h + "ln_2.bias", b + "ffn_norm.bias", false);
    add(h + "mlp.c_fc.weight", b + "ffn_up.weight", true);
    add(h + "mlp.c_fc.bias", b + "ffn_up.bias", false);
    add(h + "mlp.c_proj.weight", b + "ffn_down.weight", true);
    add(h + "mlp.c_proj.bias", b + "ffn_down.bias", false);
  }
  add("ln_f.weight", "output_norm.weight", false);
  add("ln_f.bias", "output_norm.bias", false);
  entries.push_back({"lm_head.weight", {a.vocab_size(), a.embedding_dim()},
                     runtime::DecodeAll(*m.file().Tensor("output.weight"))});

  nlohmann::json header;
  header["__metadata__"] = {{"format", "pt"}};
  std::string data;
  const core::DType d = dtype == "F16" ? core::DType::kF16 : core::DType::kF32;
  for (const Entry& e : entries) {
    std::vector<uint8_t> bytes = *runtime::EncodeF32(e.values, e.shape.back(), d);
    header[e.name] = {{"dtype", dtype},
                      {"shape", e.shape},
                      {"data_offsets", {data.size(), data.size() + bytes.size()}}};
    Append(data, bytes.data(), bytes.size());
  }
  const std::string text = header.dump();
  const uint64_t length = text.size();
  std::string file;
  Append(file, &length, 8);
  file += text + data;
  WriteBytes(dir + "/model.safetensors", file.data(), file.size());

  nlohmann::json config = {{"model_type", "gpt2"},
                           {"activation_function", "gelu_new"},
                           {"n_embd", a.embedding_dim()},
                           {"n_layer", a.num_layers()},
                           {"n_head", a.num_heads()},
                           {"n_positions", a.context_length()},
                           {"n_inner", a.hidden_dim()},
                           {"vocab_size", a.vocab_size()},
                           {"layer_norm_epsilon", a.norm_eps()}};
  const std::string config_text = config.dump(2);
  WriteBytes(dir + "/config.json", config_text.data(), config_text.size());
  nlohmann::json vocab;
  for (int i = 0; i < m.description().tokenizer().tokens_size(); ++i) {
    vocab[runtime::Gpt2EncodeBytes(m.description().tokenizer().tokens(i))] = i;
  }
  const std::string vocab_text = vocab.dump();
  WriteBytes(dir + "/vocab.json", vocab_text.data(), vocab_text.size());
  const std::string merges = "#version: 0.2\nA B\n";
  WriteBytes(dir + "/merges.txt", merges.data(), merges.size());
}

TEST(SafetensorsTest, ConvertedModelComputesTheGoldenLogits) {
  absl::StatusOr<golden::Golden> golden = golden::LoadGolden("gpt2_tiny");
  ASSERT_TRUE(golden.ok()) << golden.status();
  const std::string dir = TempDir("hf");
  WriteHuggingFace(*golden->model, dir);
  absl::StatusOr<std::unique_ptr<runtime::Model>> model =
      WriteAndLoad(ImportHuggingFaceGpt2(dir), dir + "/out.smm");
  ASSERT_TRUE(model.ok()) << model.status();
  absl::StatusOr<float> error = golden::MaxLogitError(**model, *golden);
  ASSERT_TRUE(error.ok()) << error.status();
  EXPECT_LE(*error, 1e-4f);
  const runtime::TokenizerSpec& tok = (*model)->description().tokenizer();
  EXPECT_EQ(tok.kind(), runtime::GPT2_BPE);
  EXPECT_EQ(tok.tokens(0), "Ġ");  // the golden vocabulary's " "
  ASSERT_EQ(tok.merges_size(), 1);
  EXPECT_EQ(tok.merges(0), "A B");
}

TEST(SafetensorsTest, HalfPrecisionCheckpointsConvert) {
  absl::StatusOr<golden::Golden> golden = golden::LoadGolden("gpt2_tiny");
  const std::string dir = TempDir("hf16");
  WriteHuggingFace(*golden->model, dir, "F16");
  absl::StatusOr<std::unique_ptr<runtime::Model>> model =
      WriteAndLoad(ImportHuggingFaceGpt2(dir), dir + "/out.smm");
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->weight_dtype(), core::DType::kF32);  // transposed
  EXPECT_EQ(runtime::DTypeFromProto((*model)->description().tensors(0).dtype()),
            core::DType::kF16);  // wte kept as it was
  EXPECT_LE(*golden::MaxLogitError(**model, *golden), 2e-2f);
}

absl::Status ParseHeader(const std::string& json, uint64_t data_bytes = 0) {
  std::string file;
  const uint64_t length = json.size();
  Append(file, &length, 8);
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
  EXPECT_THAT(ImportHuggingFaceGpt2(dir).status().message(),
              HasSubstr("cannot read"));
  const std::string config = R"({"model_type": "bert"})";
  WriteBytes(dir + "/config.json", config.data(), config.size());
  EXPECT_THAT(ImportHuggingFaceGpt2(dir).status().message(),
              HasSubstr("only gpt2 is supported"));
}

}  // namespace
}  // namespace smallmind::convert
