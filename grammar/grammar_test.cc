#include "grammar/grammar.h"

#include <string>

#include "gtest/gtest.h"
#include "grammar/matcher.h"

namespace smallmind::grammar {
namespace {

// Whether the grammar accepts `text` as a whole sentence.
bool Matches(const Grammar& g, const std::string& text) {
  Matcher m(&g);
  return m.Accept(text) && m.CanEnd();
}

// Whether `text` can begin a sentence.
bool Begins(const Grammar& g, const std::string& text) {
  Matcher m(&g);
  return m.Accept(text);
}

Grammar MustParse(const std::string& gbnf) {
  absl::StatusOr<Grammar> g = Grammar::Parse(gbnf);
  EXPECT_TRUE(g.ok()) << g.status();
  return g.ok() ? *std::move(g) : *Grammar::Parse("root ::= \"x\"");
}

TEST(GrammarTest, LiteralsClassesAndAlternatives) {
  const Grammar g = MustParse(R"(root ::= "ab" [0-9] | "c" [^a-z]  # a comment
)");
  EXPECT_TRUE(Matches(g, "ab7"));
  EXPECT_TRUE(Matches(g, "cX"));
  EXPECT_FALSE(Matches(g, "ab"));
  EXPECT_TRUE(Begins(g, "ab"));
  EXPECT_FALSE(Begins(g, "ax"));
  EXPECT_FALSE(Matches(g, "cq"));
  EXPECT_FALSE(Matches(g, "ab77"));
}

TEST(GrammarTest, Repetitions) {
  const Grammar g = MustParse(R"(root ::= "a"* "b"+ "c"? "d"{2} "e"{1,2} "f"{2,})");
  EXPECT_TRUE(Matches(g, "bddeff"));
  EXPECT_TRUE(Matches(g, "aaabbbcddeeffff"));
  EXPECT_FALSE(Matches(g, "ddeff"));     // no b
  EXPECT_FALSE(Matches(g, "bdeff"));     // one d
  EXPECT_FALSE(Matches(g, "bddeeeff"));  // three e
  EXPECT_FALSE(Matches(g, "bddef"));     // one f
}

TEST(GrammarTest, RepeatedLiteralIsRepeatedWhole) {
  const Grammar g = MustParse(R"(root ::= "ab"{2})");
  EXPECT_TRUE(Matches(g, "abab"));
  EXPECT_FALSE(Matches(g, "abb"));
}

TEST(GrammarTest, GroupsRulesAndMultilineBodies) {
  const Grammar g = MustParse(R"(
root ::=
  "[" (
     item
     ("," item)*
  )? "]"
item ::= [a-z]+ | num
num  ::= "-"? [0-9]+
)");
  EXPECT_TRUE(Matches(g, "[]"));
  EXPECT_TRUE(Matches(g, "[ab,-12,c]"));
  EXPECT_FALSE(Matches(g, "[ab,]"));
  EXPECT_FALSE(Matches(g, "[,]"));
}

TEST(GrammarTest, RecursionNests) {
  const Grammar g = MustParse(R"g(root ::= "(" root ")" | "x")g");
  EXPECT_TRUE(Matches(g, "x"));
  EXPECT_TRUE(Matches(g, "(((x)))"));
  EXPECT_FALSE(Matches(g, "((x)"));
}

TEST(GrammarTest, EscapesAndUnicode) {
  const Grammar g = MustParse(R"(root ::= "\"\n\t\\" [\x41-\x42] [\u00e9] [α-ω] "€")");
  EXPECT_TRUE(Matches(g, "\"\n\t\\A\xc3\xa9\xce\xb2\xe2\x82\xac"));
  EXPECT_FALSE(Matches(g, "\"\n\t\\C\xc3\xa9\xce\xb2\xe2\x82\xac"));
  // A character's first byte is kept while some class could still match.
  EXPECT_TRUE(Begins(g, "\"\n\t\\A\xc3"));
  EXPECT_FALSE(Begins(g, "\"\n\t\\A\xe2"));  // no class admits U+2000..U+2FFF here
}

TEST(GrammarTest, AnyCharacterAndNegatedClassesTakeUtf8) {
  const Grammar g = MustParse(R"(root ::= . [^"]*)");
  EXPECT_TRUE(Matches(g, "\xf0\x9f\x98\x80 h\xc3\xa9"));
  EXPECT_FALSE(Matches(g, "a\"b"));
  EXPECT_FALSE(Begins(g, "\xff"));       // never UTF-8
  EXPECT_FALSE(Begins(g, "a\xc3 "));     // a lead byte without its continuation
  // Overlong forms, surrogates and code points past U+10FFFF are not
  // characters, whatever they would decode to.
  EXPECT_FALSE(Begins(g, "\xc0\xa2"));
  EXPECT_FALSE(Begins(g, "\xe0\x80"));
  EXPECT_FALSE(Begins(g, "\xf0\x80\x81\xbb"));
  EXPECT_FALSE(Begins(g, "\xed\xa0\x80"));
  EXPECT_FALSE(Begins(g, "\xf4\x90\x80\x80"));
  EXPECT_TRUE(Begins(g, "\xed\x9f\xbf\xf4\x8f\xbf\xbf"));  // U+D7FF, U+10FFFF
}

TEST(GrammarTest, EmptyAlternativesAndEnd) {
  const Grammar g = MustParse(R"(root ::= "a" opt
opt ::= "b" | )");
  Matcher m(&g);
  ASSERT_TRUE(m.Accept("a"));
  EXPECT_TRUE(m.CanEnd());
  EXPECT_TRUE(m.CanContinue());
  ASSERT_TRUE(m.Accept("b"));
  EXPECT_TRUE(m.CanEnd());
  EXPECT_FALSE(m.CanContinue());
}

TEST(GrammarTest, RejectedBytesLeaveTheStateAlone) {
  const Grammar g = MustParse(R"(root ::= "abc")");
  Matcher m(&g);
  ASSERT_TRUE(m.Accept("a"));
  EXPECT_FALSE(m.Accept("bx"));
  EXPECT_TRUE(m.Accept("bc"));
  EXPECT_TRUE(m.CanEnd());
}

TEST(GrammarTest, LongRepetitionsKeepTheStackFlat) {
  const Grammar g = MustParse(R"(root ::= [a-z]*)");
  Matcher m(&g);
  for (int i = 0; i < 10000; ++i) ASSERT_TRUE(m.Accept("q"));
  EXPECT_LT(m.state().stacks.size(), 8u);
}

TEST(GrammarTest, ErrorsSayWhere) {
  auto error = [](const std::string& gbnf) {
    absl::StatusOr<Grammar> g = Grammar::Parse(gbnf);
    return g.ok() ? std::string("ok") : std::string(g.status().message());
  };
  EXPECT_EQ(error("root ::= foo"), "grammar: line 1, column 10: rule 'foo' is used but not defined");
  EXPECT_EQ(error("start ::= \"a\""), "grammar: no 'root' rule to start from");
  EXPECT_EQ(error("root ::= \"a\"\nroot ::= \"b\""), "grammar: line 2, column 10: rule 'root' is defined twice");
  EXPECT_EQ(error("root ::= \"a"), "grammar: line 1, column 12: unterminated string literal");
  EXPECT_EQ(error("root ::= [a-"), "grammar: line 1, column 13: unterminated character class");
  EXPECT_EQ(error("root ::= [z-a]"), "grammar: line 1, column 14: character range runs backwards");
  EXPECT_EQ(error("root ::= * \"a\""), "grammar: line 1, column 10: '*' repeats nothing");
  EXPECT_EQ(error("root ::= \"a\"{3,2}"), "grammar: line 1, column 18: repetition {m,n} with n < m");
  EXPECT_EQ(error("root ::= \"\\q\""), "grammar: line 1, column 11: unknown escape \\q");
  EXPECT_EQ(error("root = \"a\""), "grammar: line 1, column 6: expected '::=' after 'root'");
  EXPECT_EQ(error("root ::= (\"a\""), "grammar: line 1, column 14: expected ')'");
  EXPECT_EQ(error("root ::= \"a\"{0,2000000}"),
            "grammar: line 1, column 24: repetitions expand beyond 1M elements");
  EXPECT_EQ(error("root ::= root \"a\" | \"b\""),
            "grammar: rule 'root' is left-recursive (it can reach itself before matching a character)");
  // Left recursion through a rule that can match nothing.
  EXPECT_EQ(error("root ::= e root \"a\" | \"b\"\ne ::= \"c\" | "),
            "grammar: rule 'root' is left-recursive (it can reach itself before matching a character)");
}

TEST(GrammarTest, AmbiguityIsBounded) {
  // Exponentially many parses of "aaaa...": the stacks stay deduplicated.
  const Grammar g = MustParse(R"(root ::= ("a" | "a" "a" | x)*
x ::= "a"+)");
  Matcher m(&g);
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(m.Accept("a"));
  EXPECT_TRUE(m.CanEnd());
}

}  // namespace
}  // namespace smallmind::grammar
