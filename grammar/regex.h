// A regular expression (JSON Schema's `pattern`, ECMA-262 syntax) as a GBNF
// expression for the inside of a JSON string: what a string matching it
// looks like between the quotes, JSON escapes included ("\"" for a quote,
// "\\" for a backslash, "\n" for a newline).
//
// Supported: literals and escaped metacharacters, `.`, classes ([a-z],
// [^...]), \d \w \s \D \W \S, groups ((...) and (?:...)), `|`, the
// quantifiers * + ? {m} {m,} {m,n} (lazy forms alike), and ^ / $ at the
// ends. A pattern is generated as a whole-string match, which also matches
// it unanchored. Anything else (backreferences, lookaround, anchors
// inside, \b, Unicode property escapes) is an error naming it.
#ifndef SMALLMIND_GRAMMAR_REGEX_H_
#define SMALLMIND_GRAMMAR_REGEX_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace smallmind::grammar {

absl::StatusOr<std::string> RegexToJsonStringGbnf(absl::string_view pattern);

}  // namespace smallmind::grammar

#endif  // SMALLMIND_GRAMMAR_REGEX_H_
