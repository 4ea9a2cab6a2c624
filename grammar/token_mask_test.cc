#include "grammar/token_mask.h"

#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "grammar/grammar.h"
#include "grammar/json_schema.h"
#include "grammar/matcher.h"

namespace smallmind::grammar {
namespace {

// A vocabulary like a byte-level BPE one: every byte, JSON's punctuation
// runs, words with and without a leading space, digits, multi-byte
// characters split mid-way, and one empty (control) token.
std::vector<std::string> Vocabulary() {
  std::vector<std::string> v;
  for (int b = 0; b < 256; ++b) v.push_back(std::string(1, static_cast<char>(b)));
  for (const char* t : {"{\"", "\":", "\",", "\"}", "},", "}}", "[{", "\": \"", "\n  ", "  ", "    ",
                        "true", "false", "null", " true", "12", "345", "-0", "0.", ".5", "e+",
                        "name", " name", "age", "\"name", "\\n", "\\\"", "\\u00", "\xc3\xa9",
                        "\xe2\x82", "\xac", "\xf0\x9f", "\x98\x80", "ab\"c", "\"\"", "",
                        // whole, cut short and malformed UTF-8 (overlong, a
                        // surrogate, past U+10FFFF, a continuation byte astray)
                        "\xe4\xb8\xad\xe6\x96\x87", "\xe4\xb8\xad\xe6", " caf\xc3\xa9", "\xc0\xaf",
                        "\xed\xa0\x80", "\xf4\x90\x80\x80", "a\x80" "b", "\xe2\x82" "a", "x\ty", "ab\x01",
                        "\"\n", "\n\n"}) {
    v.push_back(t);
  }
  std::mt19937 rng(7);
  const std::string alphabet = "abcdefghij \"{}[],:0123456789.-\\\n";
  for (int i = 0; i < 3000; ++i) {
    std::string t;
    const int n = 1 + rng() % 6;
    for (int k = 0; k < n; ++k) t += alphabet[rng() % alphabet.size()];
    v.push_back(t);
  }
  // Text past ASCII, whole characters and their pieces among ASCII.
  const std::vector<std::string> pieces = {"a", " ", "\"", "\\", "\n", "\xc3\xa9", "\xe4\xb8\xad",
                                           "\xf0\x9f\x98\x80", "\xe4", "\xb8", "\x80", "\xf0\x9f"};
  for (int i = 0; i < 1500; ++i) {
    std::string t;
    const int n = 1 + rng() % 4;
    for (int k = 0; k < n; ++k) t += pieces[rng() % pieces.size()];
    v.push_back(t);
  }
  return v;
}

// The trie's mask equals asking the matcher about each token on its own,
// along random walks through the grammar.
void ExpectMaskIsBruteForce(const std::string& gbnf, int walks, int steps) {
  absl::StatusOr<Grammar> g = Grammar::Parse(gbnf);
  ASSERT_TRUE(g.ok()) << g.status();
  const std::vector<std::string> vocab = Vocabulary();
  TokenTrie trie(static_cast<int32_t>(vocab.size()),
                 [&](int32_t id) { return absl::string_view(vocab[id]); });
  std::mt19937 rng(1);
  for (int w = 0; w < walks; ++w) {
    Matcher m(&*g);
    Matcher probe(&*g);
    TokenMask mask(&trie, &*g);
    for (int s = 0; s < steps && m.CanContinue(); ++s) {
      const std::vector<uint64_t>& allowed = mask.Compute(m.state());
      std::vector<int32_t> ids;
      for (size_t id = 0; id < vocab.size(); ++id) {
        probe = m;
        const bool expected = !vocab[id].empty() && probe.Accept(vocab[id]);
        ASSERT_EQ(TokenMask::Allowed(allowed, static_cast<int32_t>(id)), expected)
            << "token '" << vocab[id] << "' at step " << s;
        if (expected) ids.push_back(static_cast<int32_t>(id));
      }
      ASSERT_FALSE(ids.empty()) << "stuck at step " << s;  // every byte is a token
      ASSERT_TRUE(m.Accept(vocab[ids[rng() % ids.size()]]));
    }
  }
}

TEST(TokenMaskTest, JsonObjectMaskIsBruteForce) {
  ExpectMaskIsBruteForce(JsonObjectGbnf(), 3, 40);
}

TEST(TokenMaskTest, SchemaMaskIsBruteForce) {
  absl::StatusOr<std::string> gbnf = JsonSchemaToGbnf(R"({"type": "object",
      "properties": {"name": {"type": "string", "maxLength": 5}, "tags": {"type": "array",
      "items": {"enum": ["a", "b"]}, "maxItems": 3}}, "required": ["name"]})");
  ASSERT_TRUE(gbnf.ok()) << gbnf.status();
  ExpectMaskIsBruteForce(*gbnf, 3, 30);
}

TEST(TokenMaskTest, Utf8ClassesMaskIsBruteForce) {
  ExpectMaskIsBruteForce(R"(root ::= ([a-c] | [é€😀] | " ")+)", 2, 20);
}

// States that most bytes leave as they were start from the trie's token
// sets: strings of any character, of ASCII only, of all but some
// characters past ASCII, and any text before a mark.
TEST(TokenMaskTest, LoopingStatesMaskIsBruteForce) {
  ExpectMaskIsBruteForce(R"(root ::= "\"" [^"\\]* "\"" " "?)", 3, 30);
  ExpectMaskIsBruteForce(R"(root ::= ("'" [ -~]* "'")+)", 3, 30);
  ExpectMaskIsBruteForce(R"(root ::= [^"\x00-\x1F€]* "\"" [0-9]+)", 3, 30);
  ExpectMaskIsBruteForce(R"(root ::= . . .* "\n")", 3, 30);
}

TEST(TokenMaskTest, RepeatedStatesComeFromTheCache) {
  absl::StatusOr<Grammar> g = Grammar::Parse(R"(root ::= "x"*)");
  ASSERT_TRUE(g.ok());
  const std::vector<std::string> vocab = {"x", "xx", "y", ""};
  TokenTrie trie(4, [&](int32_t id) { return absl::string_view(vocab[id]); });
  Matcher m(&*g);
  TokenMask mask(&trie, &*g);
  const std::vector<uint64_t>* first = &mask.Compute(m.state());
  EXPECT_EQ(*first, (std::vector<uint64_t>{0b0011}));
  ASSERT_TRUE(m.Accept("x"));
  EXPECT_EQ(&mask.Compute(m.state()), first);  // the same state
  // Another matcher of the grammar (another generation) in that state.
  Matcher other(&*g);
  EXPECT_EQ(&mask.Compute(other.state()), first);
}

}  // namespace
}  // namespace smallmind::grammar
