// A context-free grammar over Unicode characters, parsed from GBNF
// (llama.cpp's grammar format, so its .gbnf files work):
//
//   root   ::= "{" ws pair ("," ws pair)* "}"   # comments run to the line's end
//   pair   ::= [a-z]+ ws ":" ws ([0-9] | "-")+ ws
//   ws     ::= [ \t\n]*
//
// Terminals are "literals" and [character classes] ([^...] negated, . any
// character) with \n \r \t \\ \" \[ \] \- \xHH \uHHHH \UHHHHHHHH escapes;
// `( )` groups; `* + ?` and `{m}`, `{m,}`, `{m,n}` repeat what precedes
// them. A rule's alternatives are `|`-separated; a newline ends a rule
// except inside parentheses and after `::=` or `|`.
//
// Compiled to flat element sequences (repetitions become right-recursive
// rules), the form Matcher runs as a pushdown automaton. Left recursion
// (which that automaton cannot run) is refused at compile time, naming the
// rule. Immutable, so one grammar serves any number of matchers.
#ifndef SMALLMIND_GRAMMAR_GRAMMAR_H_
#define SMALLMIND_GRAMMAR_GRAMMAR_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace smallmind::grammar {

// A set of code points: ranges, possibly negated.
struct CharClass {
  std::vector<std::pair<uint32_t, uint32_t>> ranges;  // inclusive
  bool negated = false;
  uint64_t ascii[2] = {0, 0};  // membership of code points < 128, precomputed

  bool Matches(uint32_t c) const {
    if (c < 128) return (ascii[c >> 6] >> (c & 63)) & 1;
    return MatchesSlow(c);
  }
  // Whether some code point in [lo, hi] is a member: a character whose
  // first UTF-8 bytes are known could still match.
  bool MatchesAnyIn(uint32_t lo, uint32_t hi) const;
  // Whether every code point in [lo, hi] is a member.
  bool MatchesAllIn(uint32_t lo, uint32_t hi) const;
  bool MatchesSlow(uint32_t c) const;

 private:
  // Whether some point of [lo, hi] lies outside every range.
  bool RangesMissSomeOf(uint32_t lo, uint32_t hi) const;
  bool RangesMeet(uint32_t lo, uint32_t hi) const;
};

enum class ElementKind : uint8_t {
  kChars,  // one character of class `value`
  kRule,   // rule `value`
  kEnd,    // the end of an alternative
};

struct Element {
  ElementKind kind;
  uint32_t value;
};

class Grammar {
 public:
  // Errors name the line and column, an undefined or twice-defined rule, a
  // missing start rule, or left recursion.
  static absl::StatusOr<Grammar> Parse(absl::string_view gbnf, absl::string_view start = "root");

  const std::vector<Element>& elements() const { return elements_; }
  const CharClass& char_class(uint32_t i) const { return classes_[i]; }
  size_t class_count() const { return classes_.size(); }
  // Positions in elements() where each alternative of `rule` begins.
  const std::vector<uint32_t>& alternatives(uint32_t rule) const { return alternatives_[rule]; }
  uint32_t start_rule() const { return start_; }
  const std::string& rule_name(uint32_t rule) const { return names_[rule]; }
  size_t rule_count() const { return names_.size(); }

 private:
  friend class GrammarBuilder;
  std::vector<Element> elements_;
  std::vector<CharClass> classes_;
  std::vector<std::vector<uint32_t>> alternatives_;
  std::vector<std::string> names_;  // generated rules are "name-N"
  uint32_t start_ = 0;
};

}  // namespace smallmind::grammar

#endif  // SMALLMIND_GRAMMAR_GRAMMAR_H_
