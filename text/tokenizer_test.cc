#include "text/tokenizer.h"

#include <algorithm>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "text/test_vocabulary.h"

namespace smallmind::text {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::unique_ptr<Tokenizer> Make(const model::TokenizerSpec& spec) {
  absl::StatusOr<std::unique_ptr<Tokenizer>> t = Tokenizer::Create(spec);
  EXPECT_TRUE(t.ok()) << t.status();
  return std::move(*t);
}

int32_t Id(const model::TokenizerSpec& spec, const std::string& token) {
  for (int i = 0; i < spec.tokens_size(); ++i) {
    if (spec.tokens(i) == token) return i;
  }
  ADD_FAILURE() << "no token " << token;
  return -1;
}

// ---- char -----------------------------------------------------------------

model::TokenizerSpec CharSpec() {
  model::TokenizerSpec spec;
  spec.set_kind(model::CHAR);
  for (const char* t : {"<eos>", "a", "b", " ", "é"}) spec.add_tokens(t);
  for (int b = 0x80; b < 0x100; ++b) spec.add_tokens(std::string(1, char(b)));
  spec.set_eos_id(0);
  return spec;
}

TEST(CharTokenizerTest, OneTokenPerCharacter) {
  auto t = Make(CharSpec());
  EXPECT_THAT(*t->Encode("ab é", false), ElementsAre(1, 2, 3, 4));
  EXPECT_EQ(t->Decode({1, 2, 3, 4, 0}), "ab é");  // EOS decodes to nothing
}

TEST(CharTokenizerTest, MissingCharacterFallsBackToBytes) {
  auto t = Make(CharSpec());
  const std::vector<int32_t> ids = *t->Encode("a€", false);  // E2 82 AC
  ASSERT_EQ(ids.size(), 4u);
  EXPECT_EQ(t->Decode(ids), "a€");
}

TEST(CharTokenizerTest, CharacterWithNoTokenIsAnError) {
  auto t = Make(CharSpec());
  EXPECT_THAT(t->Encode("c", false).status().message(),
              HasSubstr("\"c\" at byte 0 has no token"));
}

TEST(CharTokenizerTest, SpecialIdsAreChecked) {
  model::TokenizerSpec spec = CharSpec();
  spec.set_bos_id(9999);
  EXPECT_FALSE(Tokenizer::Create(spec).ok());
  EXPECT_FALSE(Tokenizer::Create(model::TokenizerSpec()).ok());  // no kind
}

// ---- GPT-2 byte-level BPE ---------------------------------------------------

TEST(Gpt2Test, ByteMappingIsGpt2s) {
  EXPECT_EQ(Gpt2EncodeBytes(" "), "Ġ");
  EXPECT_EQ(Gpt2EncodeBytes("\n"), "Ċ");
  EXPECT_EQ(Gpt2EncodeBytes("a!~"), "a!~");
  EXPECT_EQ(Gpt2EncodeBytes("\xff"), "ÿ");
  EXPECT_EQ(Gpt2EncodeBytes(std::string(1, '\0')), "Ā");
}

std::vector<std::string> Split(const std::string& name, const std::string& text) {
  return *PreTokenize(text, *PreTokenizerPatterns(name));
}

TEST(Gpt2Test, PreTokenizerSplitsLikeGpt2) {
  EXPECT_THAT(Split("gpt-2", "Hello, world! It's 2024."),
              ElementsAre("Hello", ",", " world", "!", " It", "'s", " 2024",
                          "."));
  EXPECT_THAT(Split("gpt-2", "a  b\n\nc"),
              ElementsAre("a", " ", " b", "\n", "\n", "c"));
  EXPECT_THAT(Split("gpt-2", "they'll we've I'M"),
              ElementsAre("they", "'ll", " we", "'ve", " I", "'", "M"));
  EXPECT_THAT(Split("gpt-2", "naïve über"), ElementsAre("naïve", " über"));
  EXPECT_THAT(Split("gpt-2", "x  "), ElementsAre("x", "  "));
}

// Llama 3's split: case-insensitive contractions, digits in threes, a
// punctuation run keeps its newlines, a letter run takes one leading
// non-letter.
TEST(PreTokenizerTest, Llama3Qwen2AndSmolLmSplits) {
  EXPECT_THAT(Split("llama-bpe", "I'M 12345 fine!!\n\n$x"),
              ElementsAre("I", "'M", " ", "123", "45", " fine", "!!\n\n", "$x"));
  EXPECT_THAT(Split("qwen2", "ab 12345"), ElementsAre("ab", " ", "1", "2", "3", "4", "5"));
  EXPECT_THAT(Split("smollm", "x 2024 y"),
              ElementsAre("x", " ", "2", "0", "2", "4", " y"));
  EXPECT_THAT(PreTokenizerPatterns("falcon-9000").status().message(),
              HasSubstr("pre-tokenizer 'falcon-9000' is not supported (gpt-2,"));
  EXPECT_THAT(PreTokenize("x", {"(unclosed"}).status().message(),
              HasSubstr("does not compile"));
}

model::TokenizerSpec Gpt2Spec() {
  model::TokenizerSpec spec;
  spec.set_kind(model::GPT2_BPE);
  for (int b = 0; b < 256; ++b) {
    spec.add_tokens(Gpt2EncodeBytes(std::string(1, static_cast<char>(b))));
  }
  for (const char* m : {"h e", "l l", "he ll", "hell o", "Ġ w", "Ġw o"}) {
    spec.add_merges(m);
    std::string merged = m;
    merged.erase(merged.find(' '), 1);
    spec.add_tokens(merged);
  }
  spec.add_tokens("<|endoftext|>");
  spec.set_eos_id(spec.tokens_size() - 1);
  spec.set_bos_id(spec.tokens_size() - 1);
  return spec;
}

TEST(Gpt2Test, MergesApplyByRank) {
  const model::TokenizerSpec spec = Gpt2Spec();
  auto t = Make(spec);
  EXPECT_THAT(*t->Encode("hello world", false),
              ElementsAre(Id(spec, "hello"), Id(spec, "Ġwo"), 'r', 'l', 'd'));
  EXPECT_THAT(*t->Encode("hello", true),
              ElementsAre(Id(spec, "<|endoftext|>"), Id(spec, "hello")));
}

TEST(Gpt2Test, RoundTripsAnyBytes) {
  auto t = Make(Gpt2Spec());
  for (const std::string& text : std::vector<std::string>{
           "hello world", "  spaces\tand\nnewlines ", "ünïcödé ✓ 日本",
        std::string("\0\x01\xff", 3), std::string()}) {
    absl::StatusOr<std::vector<int32_t>> ids = t->Encode(text, false);
    ASSERT_TRUE(ids.ok());
    EXPECT_EQ(t->Decode(*ids), text);
  }
}

// Added tokens: user-defined ones always, control ones only when the text
// is allowed to hold them.
TEST(Gpt2Test, SpecialTokensOnlyWhenAsked) {
  model::TokenizerSpec spec = Gpt2Spec();
  spec.add_tokens("<|im_start|>");
  spec.add_tokens("<tool>");
  for (int i = spec.token_types_size(); i < spec.tokens_size(); ++i) spec.add_token_types(model::NORMAL);
  const int32_t im_start = spec.tokens_size() - 2, tool = spec.tokens_size() - 1;
  spec.set_token_types(im_start, model::CONTROL);
  spec.set_token_types(tool, model::USER_DEFINED);
  spec.add_end_of_generation_ids(im_start);
  auto t = Make(spec);
  const std::vector<int32_t> parsed = *t->Encode("<|im_start|>hello<tool>", false, true);
  EXPECT_THAT(parsed, ElementsAre(im_start, Id(spec, "hello"), tool));
  const std::vector<int32_t> plain = *t->Encode("<|im_start|>hello<tool>", false, false);
  EXPECT_EQ(plain.back(), tool);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), im_start), 0);
  EXPECT_EQ(t->Decode(plain), "<|im_start|>hello<tool>");
  EXPECT_TRUE(t->IsEndOfGeneration(im_start));
  EXPECT_TRUE(t->IsEndOfGeneration(*t->eos_id()));
  EXPECT_FALSE(t->IsEndOfGeneration(tool));
}

// Llama 3's ignore_merges: a word in the vocabulary is one token even when
// the merges would not build it.
TEST(Gpt2Test, IgnoreMergesTakesWholeWords) {
  model::TokenizerSpec spec = Gpt2Spec();
  spec.add_tokens("lo");  // no merge makes "lo"
  auto without = Make(spec);
  EXPECT_THAT(*without->Encode("lo", false), ElementsAre('l', 'o'));
  spec.mutable_pre_tokenizer()->set_ignore_merges(true);
  auto with = Make(spec);
  EXPECT_THAT(*with->Encode("lo", false), ElementsAre(Id(spec, "lo")));
}

TEST(Gpt2Test, NfcNormalisesComposableText) {
  model::TokenizerSpec spec = Gpt2Spec();
  spec.mutable_pre_tokenizer()->set_nfc(true);
  auto t = Make(spec);
  // e + combining acute accent becomes é (C3 A9) before encoding.
  EXPECT_EQ(t->Decode(*t->Encode("e\xCC\x81", false)), "\xC3\xA9");
  // Invalid UTF-8 is left as it is.
  EXPECT_EQ(t->Decode(*t->Encode("\xff\xfe", false)), "\xff\xfe");
}

TEST(Gpt2Test, LongWordsMergeInLinearithmicTime) {
  auto t = Make(Gpt2Spec());
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "hell";  // one 80,000-byte word
  EXPECT_EQ(t->Decode(*t->Encode(text, false)), text);
}

TEST(Gpt2Test, MalformedMergeIsAnError) {
  model::TokenizerSpec spec = Gpt2Spec();
  spec.add_merges("nospace");
  EXPECT_THAT(Tokenizer::Create(spec).status().message(),
              HasSubstr("is not \"left right\""));
}

// ---- SentencePiece BPE ----------------------------------------------------

TEST(SentencePieceTest, HighestScoringMergeWins) {
  const model::TokenizerSpec spec = SmallSentencePieceSpec();
  auto t = Make(spec);
  EXPECT_THAT(*t->Encode("hello world", true),
              ElementsAre(1, Id(spec, "▁hello"), Id(spec, "▁w"), Id(spec, "o"),
                          Id(spec, "r"), Id(spec, "l"), Id(spec, "d")));
  EXPECT_TRUE(t->add_bos());
}

TEST(SentencePieceTest, ByteFallbackForUnknownCharacters) {
  const model::TokenizerSpec spec = SmallSentencePieceSpec();
  auto t = Make(spec);
  EXPECT_THAT(*t->Encode("h€", false),
              ElementsAre(Id(spec, "▁"), Id(spec, "h"), Id(spec, "<0xE2>"),
                          Id(spec, "<0x82>"), Id(spec, "<0xAC>")));
}

TEST(SentencePieceTest, NoSpacePrefixWhenTheFileSaysSo) {
  model::TokenizerSpec spec = SmallSentencePieceSpec();
  spec.mutable_pre_tokenizer()->set_add_space_prefix(false);
  auto t = Make(spec);
  EXPECT_THAT(*t->Encode("he", false), ElementsAre(Id(spec, "he")));
  EXPECT_EQ(t->Decode(*t->Encode(" he", true)), " he");
}

// Hugging Face's BPE form of a SentencePiece vocabulary: ranked merges
// decide, not scores.
TEST(SentencePieceTest, RankedMergesWinOverScores) {
  model::TokenizerSpec spec = SmallSentencePieceSpec();
  spec.add_merges("l l");    // rank 0: first, though "he" scores higher
  spec.add_merges("h e");
  spec.add_merges("ll o");
  auto t = Make(spec);
  EXPECT_THAT(*t->Encode("hello", false),
              ElementsAre(Id(spec, "▁"), Id(spec, "he"), Id(spec, "llo")));
}

TEST(SentencePieceTest, DecodeDropsTheLeadingSpaceAfterBos) {
  auto t = Make(SmallSentencePieceSpec());
  for (const std::string text : {"hello world", "h€ llo", " lead", "a\nb"}) {
    std::vector<int32_t> ids = *t->Encode(text, true);
    EXPECT_EQ(t->Decode(ids), text);
    ids.push_back(2);  // EOS
    EXPECT_EQ(t->Decode(ids), text);
  }
  EXPECT_EQ(t->Piece(t->Encode("hello", false)->front()), " hello");
}

// ---- SentencePiece Unigram -----------------------------------------------

// XLM-R's layout: <s> <pad> </s> <unk>, then scored pieces; no character
// map (the real one is tested against SentencePiece in formats/).
model::TokenizerSpec UnigramSpec() {
  model::TokenizerSpec spec;
  spec.set_kind(model::UNIGRAM);
  for (const char* t : {"<s>", "<pad>", "</s>", "<unk>"}) {
    spec.add_tokens(t);
    spec.add_scores(0);
    spec.add_token_types(model::CONTROL);
  }
  spec.set_token_types(3, model::UNKNOWN);
  const std::pair<const char*, float> pieces[] = {
      {"▁", -2}, {"▁a", -3}, {"b", -3}, {"a", -3}, {"▁ab", -5}, {"c", -3}, {"▁abc", -9.5f}};
  for (const auto& [text, score] : pieces) {
    spec.add_tokens(text);
    spec.add_scores(score);
    spec.add_token_types(model::NORMAL);
  }
  spec.set_bos_id(0);
  spec.set_eos_id(2);
  spec.set_unknown_id(3);
  spec.set_add_bos(true);
  return spec;
}

TEST(UnigramTest, TheBestScoringPathWins) {
  const model::TokenizerSpec spec = UnigramSpec();
  auto t = Make(spec);
  // ▁ab + c (-8) beats ▁abc (-9.5) and ▁a + b + c (-9).
  EXPECT_THAT(*t->Encode("abc", true), ElementsAre(0, Id(spec, "▁ab"), Id(spec, "c")));
  // Whitespace: runs collapsed, the ends trimmed, tabs left as characters.
  EXPECT_THAT(*t->Encode("  a   b  ", false),
              ElementsAre(Id(spec, "▁a"), Id(spec, "▁"), Id(spec, "b")));
  EXPECT_EQ(t->Decode(*t->Encode("  a   b  ", true)), "a b");
  // A run of characters without pieces is one <unk>; another after a
  // piece is another.
  EXPECT_THAT(*t->Encode("a€€c€", false),
              ElementsAre(Id(spec, "▁a"), 3, Id(spec, "c"), 3));
  EXPECT_THAT(*t->Encode("", true), ElementsAre(0));
  EXPECT_THAT(*t->Encode("   ", false), ElementsAre());
  // Control tokens in text only when parsed; each fragment gets its prefix.
  EXPECT_THAT(*t->Encode("a</s>b", false, true),
              ElementsAre(Id(spec, "▁a"), 2, Id(spec, "▁"), Id(spec, "b")));
}

TEST(UnigramTest, WhitespaceOptions) {
  model::TokenizerSpec spec = UnigramSpec();
  spec.mutable_pre_tokenizer()->set_add_space_prefix(false);
  spec.mutable_pre_tokenizer()->set_remove_extra_whitespaces(false);
  auto t = Make(spec);
  EXPECT_THAT(*t->Encode("a  b", false),
              ElementsAre(Id(spec, "a"), Id(spec, "▁"), Id(spec, "▁"), Id(spec, "b")));
}

TEST(UnigramTest, ByteFallbackWhenTheVocabularyHasBytes) {
  model::TokenizerSpec spec = UnigramSpec();
  for (const char* b : {"<0xE2>", "<0x82>", "<0xAC>"}) {
    spec.add_tokens(b);
    spec.add_scores(0);
    spec.add_token_types(model::BYTE);
  }
  auto t = Make(spec);
  EXPECT_THAT(*t->Encode("a€", false),
              ElementsAre(Id(spec, "▁a"), Id(spec, "<0xE2>"), Id(spec, "<0x82>"),
                          Id(spec, "<0xAC>")));
  EXPECT_EQ(t->Decode(*t->Encode("a€", true)), "a€");
}

TEST(UnigramTest, PairsAreRobertasAndBadMapsAreRefused) {
  const model::TokenizerSpec spec = UnigramSpec();
  auto t = Make(spec);
  size_t second = 0;
  EXPECT_THAT(*t->EncodePair("a", "b", &second),
              ElementsAre(0, Id(spec, "▁a"), 2, 2, Id(spec, "▁"), Id(spec, "b"), 2));
  EXPECT_EQ(second, 4u);
  model::TokenizerSpec bad = spec;
  bad.mutable_pre_tokenizer()->set_precompiled_charsmap(std::string("\x08\0\0\0\0\0", 6));
  EXPECT_THAT(Tokenizer::Create(bad).status().message(),
              HasSubstr("precompiled charsmap: a trie of 8 bytes in a map of 6"));
  // A trie whose units point anywhere is read within bounds: text stays
  // as it is where nothing valid matches.
  std::string wild("\x08\0\0\0", 4);
  wild += std::string("\xff\xff\xff\xff\x61\x01\x00\x80", 8);
  wild += "x";  // a replacement without its NUL
  bad.mutable_pre_tokenizer()->set_precompiled_charsmap(wild);
  auto lenient = Make(bad);
  EXPECT_THAT(*lenient->Encode("abc", false), ElementsAre(Id(spec, "▁ab"), Id(spec, "c")));
}

}  // namespace
}  // namespace smallmind::text
