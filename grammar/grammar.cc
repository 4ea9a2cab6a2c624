#include "grammar/grammar.h"

#include <algorithm>
#include <map>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "core/status.h"

namespace smallmind::grammar {

bool CharClass::MatchesSlow(uint32_t c) const {
  bool in = false;
  for (const auto& [lo, hi] : ranges) in |= lo <= c && c <= hi;
  return in != negated;
}

bool CharClass::MatchesAnyIn(uint32_t lo, uint32_t hi) const {
  return negated ? RangesMissSomeOf(lo, hi) : RangesMeet(lo, hi);
}

bool CharClass::MatchesAllIn(uint32_t lo, uint32_t hi) const {
  return negated ? !RangesMeet(lo, hi) : !RangesMissSomeOf(lo, hi);
}

bool CharClass::RangesMeet(uint32_t lo, uint32_t hi) const {
  for (const auto& [a, b] : ranges) {
    if (a <= hi && lo <= b) return true;
  }
  return false;
}

bool CharClass::RangesMissSomeOf(uint32_t lo, uint32_t hi) const {
  // Walk lo past the ranges that cover it.
  for (bool moved = true; moved && lo <= hi;) {
    moved = false;
    for (const auto& [a, b] : ranges) {
      if (a <= lo && lo <= b) {
        if (b >= hi) return false;
        lo = b + 1;
        moved = true;
      }
    }
  }
  return lo <= hi;
}

// Parses GBNF into rules of alternatives of items, then lays them out flat.
class GrammarBuilder {
 public:
  explicit GrammarBuilder(absl::string_view text) : text_(text) {}

  absl::StatusOr<Grammar> Build(absl::string_view start);

 private:
  struct Item {
    bool is_rule;
    uint32_t id;  // rule or class index
  };
  using Sequence = std::vector<Item>;
  struct Rule {
    std::string name;
    std::vector<Sequence> alternatives;
    bool defined = false;
    size_t first_use = 0;  // offset of its first reference, for errors
  };

  absl::Status Error(absl::string_view what) const;
  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek(size_t ahead = 0) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  }
  // Spaces and comments; newlines too when `newlines`.
  void SkipSpace(bool newlines);
  std::string ReadName();
  absl::StatusOr<uint32_t> ReadChar();  // a code point, escapes decoded
  absl::Status ParseAlternatives(uint32_t rule, bool nested);
  absl::Status ParseSequence(uint32_t rule, bool nested, Sequence* out);
  absl::Status Repeat(uint32_t rule, Sequence* out, size_t from, uint64_t min, uint64_t max);
  // `at`: where the name is used or defined, for errors.
  uint32_t RuleIndex(const std::string& name, size_t at);
  uint32_t NewRule(uint32_t parent);
  uint32_t ClassIndex(CharClass c);
  absl::Status CheckLeftRecursion() const;

  absl::string_view text_;
  size_t pos_ = 0;
  std::vector<Rule> rules_;
  absl::flat_hash_map<std::string, uint32_t> rule_index_;
  std::vector<CharClass> classes_;
  std::map<std::pair<bool, std::vector<std::pair<uint32_t, uint32_t>>>, uint32_t> class_index_;
  size_t generated_elements_ = 0;
};

// Grammars come from requests: a repetition's copies are bounded so a
// `{0,1000000}` cannot exhaust memory.
constexpr uint64_t kMaxElements = 1 << 20;

absl::Status GrammarBuilder::Error(absl::string_view what) const {
  size_t line = 1, column = 1;
  for (size_t i = 0; i < std::min(pos_, text_.size()); ++i) {
    if (text_[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return absl::InvalidArgumentError(absl::StrCat("grammar: line ", line, ", column ", column, ": ", what));
}

void GrammarBuilder::SkipSpace(bool newlines) {
  while (!AtEnd()) {
    const char c = Peek();
    if (c == '#') {
      while (!AtEnd() && Peek() != '\n') ++pos_;
    } else if (c == ' ' || c == '\t' || (newlines && (c == '\n' || c == '\r'))) {
      ++pos_;
    } else {
      return;
    }
  }
}

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

std::string GrammarBuilder::ReadName() {
  const size_t begin = pos_;
  while (!AtEnd() && IsNameChar(Peek())) ++pos_;
  return std::string(text_.substr(begin, pos_ - begin));
}

absl::StatusOr<uint32_t> GrammarBuilder::ReadChar() {
  if (AtEnd()) return Error("unexpected end");
  const unsigned char c = static_cast<unsigned char>(text_[pos_]);
  if (c == '\\') {
    const char e = Peek(1);
    pos_ += 2;
    switch (e) {
      case 'n': return uint32_t{'\n'};
      case 'r': return uint32_t{'\r'};
      case 't': return uint32_t{'\t'};
      case '\\': case '"': case '[': case ']': case '-': case '^': case '/':
        return static_cast<uint32_t>(e);
      case 'x': case 'u': case 'U': {
        const int digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
        uint32_t value = 0;
        for (int i = 0; i < digits; ++i, ++pos_) {
          const char h = Peek();
          int d = h >= '0' && h <= '9' ? h - '0'
                  : h >= 'a' && h <= 'f' ? h - 'a' + 10
                  : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
          if (d < 0) return Error(absl::StrCat("\\", std::string(1, e), " needs ", digits, " hex digits"));
          value = value << 4 | d;
        }
        if (value > 0x10FFFF) return Error("code point beyond U+10FFFF");
        return value;
      }
      default:
        pos_ -= 2;
        return Error(absl::StrCat("unknown escape \\", std::string(1, e)));
    }
  }
  // A UTF-8 character.
  const int length = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (length == 0 || pos_ + length > text_.size()) return Error("invalid UTF-8");
  uint32_t value = length == 1 ? c : c & (0x7F >> length);
  for (int i = 1; i < length; ++i) {
    const unsigned char next = static_cast<unsigned char>(text_[pos_ + i]);
    if ((next & 0xC0) != 0x80) return Error("invalid UTF-8");
    value = value << 6 | (next & 0x3F);
  }
  pos_ += length;
  return value;
}

uint32_t GrammarBuilder::RuleIndex(const std::string& name, size_t at) {
  auto [it, inserted] = rule_index_.emplace(name, static_cast<uint32_t>(rules_.size()));
  if (inserted) rules_.push_back({name, {}, false, at});
  return it->second;
}

uint32_t GrammarBuilder::NewRule(uint32_t parent) {
  const std::string name = absl::StrCat(rules_[parent].name, "-", rules_.size());
  const uint32_t index = RuleIndex(name, pos_);
  rules_[index].defined = true;
  return index;
}

uint32_t GrammarBuilder::ClassIndex(CharClass c) {
  std::sort(c.ranges.begin(), c.ranges.end());
  auto [it, inserted] = class_index_.emplace(std::make_pair(c.negated, c.ranges),
                                             static_cast<uint32_t>(classes_.size()));
  if (inserted) {
    for (uint32_t i = 0; i < 128; ++i) {
      if (c.MatchesSlow(i)) c.ascii[i >> 6] |= uint64_t{1} << (i & 63);
    }
    classes_.push_back(std::move(c));
  }
  return it->second;
}

absl::Status GrammarBuilder::ParseAlternatives(uint32_t rule, bool nested) {
  for (;;) {
    Sequence sequence;
    SM_RETURN_IF_ERROR(ParseSequence(rule, nested, &sequence));
    rules_[rule].alternatives.push_back(std::move(sequence));
    if (Peek() != '|') return absl::OkStatus();
    ++pos_;
    SkipSpace(/*newlines=*/true);
  }
}

absl::Status GrammarBuilder::ParseSequence(uint32_t rule, bool nested, Sequence* out) {
  size_t last_start = out->size();  // where the last element began, for repetitions
  bool have_last = false;
  while (!AtEnd()) {
    const char c = Peek();
    const size_t start = out->size();
    if (c == '"') {
      ++pos_;
      while (!AtEnd() && Peek() != '"') {
        SM_ASSIGN_OR_RETURN(const uint32_t ch, ReadChar());
        CharClass one;
        one.ranges.push_back({ch, ch});
        out->push_back({false, ClassIndex(std::move(one))});
      }
      if (AtEnd()) return Error("unterminated string literal");
      ++pos_;
      if (out->size() == start) {  // "" matches nothing: nothing to repeat either
        SkipSpace(nested);
        have_last = false;
        continue;
      }
    } else if (c == '[') {
      ++pos_;
      CharClass cls;
      if (Peek() == '^') {
        cls.negated = true;
        ++pos_;
      }
      while (!AtEnd() && Peek() != ']') {
        SM_ASSIGN_OR_RETURN(const uint32_t lo, ReadChar());
        uint32_t hi = lo;
        if (Peek() == '-' && Peek(1) != ']' && pos_ + 1 < text_.size()) {
          ++pos_;
          SM_ASSIGN_OR_RETURN(hi, ReadChar());
          if (hi < lo) return Error("character range runs backwards");
        }
        cls.ranges.push_back({lo, hi});
      }
      if (AtEnd()) return Error("unterminated character class");
      ++pos_;
      out->push_back({false, ClassIndex(std::move(cls))});
    } else if (c == '.') {
      ++pos_;
      CharClass any;
      any.ranges.push_back({0, 0x10FFFF});
      out->push_back({false, ClassIndex(std::move(any))});
    } else if (IsNameChar(c)) {
      const size_t at = pos_;
      const std::string name = ReadName();
      SkipSpace(false);
      if (Peek() == ':' && Peek(1) == ':' && Peek(2) == '=') {
        return Error(absl::StrCat("a newline must end the rule before '", name, " ::='"));
      }
      out->push_back({true, RuleIndex(name, at)});
    } else if (c == '(') {
      ++pos_;
      SkipSpace(true);
      const uint32_t group = NewRule(rule);
      SM_RETURN_IF_ERROR(ParseAlternatives(group, /*nested=*/true));
      if (Peek() != ')') return Error("expected ')'");
      ++pos_;
      out->push_back({true, group});
    } else if (c == '*' || c == '+' || c == '?' || c == '{') {
      if (!have_last) return Error(absl::StrCat("'", std::string(1, c), "' repeats nothing"));
      uint64_t min = 0, max = UINT64_MAX;
      ++pos_;
      if (c == '+') min = 1;
      if (c == '?') max = 1;
      if (c == '{') {
        SkipSpace(nested);
        auto number = [this](uint64_t* v) {
          bool any = false;
          for (*v = 0; Peek() >= '0' && Peek() <= '9'; ++pos_, any = true) {
            *v = std::min<uint64_t>(*v * 10 + (Peek() - '0'), kMaxElements);
          }
          return any;
        };
        if (!number(&min)) return Error("expected a number after '{'");
        SkipSpace(nested);
        if (Peek() == ',') {
          ++pos_;
          SkipSpace(nested);
          if (!number(&max)) max = UINT64_MAX;
          SkipSpace(nested);
        } else {
          max = min;
        }
        if (Peek() != '}') return Error("expected '}'");
        ++pos_;
        if (max < min) return Error("repetition {m,n} with n < m");
      }
      SM_RETURN_IF_ERROR(Repeat(rule, out, last_start, min, max));
      SkipSpace(nested);
      have_last = false;
      continue;
    } else {
      break;
    }
    last_start = start;
    have_last = true;
    SkipSpace(nested);
  }
  return absl::OkStatus();
}

// Replaces (*out)[from...] with its repetition min..max times: the copies,
// then a right-recursive rule for an unbounded tail (r ::= x r | "") or
// nested optional ones for a bounded tail (r ::= x r' | "").
absl::Status GrammarBuilder::Repeat(uint32_t rule, Sequence* out, size_t from, uint64_t min,
                                    uint64_t max) {
  const Sequence item(out->begin() + from, out->end());
  out->resize(from);
  const uint64_t copies = max == UINT64_MAX ? min + 1 : max;
  generated_elements_ += copies * (item.size() + 1);
  if (generated_elements_ > kMaxElements) return Error("repetitions expand beyond 1M elements");
  for (uint64_t i = 0; i < min; ++i) out->insert(out->end(), item.begin(), item.end());
  if (max == UINT64_MAX) {
    const uint32_t star = NewRule(rule);
    Sequence again = item;
    again.push_back({true, star});
    rules_[star].alternatives = {std::move(again), {}};
    out->push_back({true, star});
    return absl::OkStatus();
  }
  uint32_t tail = UINT32_MAX;  // innermost first
  for (uint64_t i = min; i < max; ++i) {
    const uint32_t optional = NewRule(rule);
    Sequence once = item;
    if (tail != UINT32_MAX) once.push_back({true, tail});
    rules_[optional].alternatives = {std::move(once), {}};
    tail = optional;
  }
  if (tail != UINT32_MAX) out->push_back({true, tail});
  return absl::OkStatus();
}

// A rule that can reach itself without consuming a character would make
// the automaton expand forever.
absl::Status GrammarBuilder::CheckLeftRecursion() const {
  const size_t n = rules_.size();
  std::vector<bool> nullable(n, false);
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t r = 0; r < n; ++r) {
      if (nullable[r]) continue;
      for (const Sequence& s : rules_[r].alternatives) {
        if (std::all_of(s.begin(), s.end(),
                        [&](const Item& i) { return i.is_rule && nullable[i.id]; })) {
          nullable[r] = changed = true;
          break;
        }
      }
    }
  }
  // Edges r -> q where q can come first in r; a cycle is left recursion.
  std::vector<std::vector<uint32_t>> first(n);
  for (size_t r = 0; r < n; ++r) {
    for (const Sequence& s : rules_[r].alternatives) {
      for (const Item& i : s) {
        if (!i.is_rule) break;
        first[r].push_back(i.id);
        if (!nullable[i.id]) break;
      }
    }
  }
  std::vector<uint8_t> mark(n, 0);  // 0 new, 1 on the path, 2 done
  std::vector<std::pair<uint32_t, size_t>> path;
  for (uint32_t root = 0; root < n; ++root) {
    if (mark[root]) continue;
    path.push_back({root, 0});
    mark[root] = 1;
    while (!path.empty()) {
      auto& [r, next] = path.back();
      if (next == first[r].size()) {
        mark[r] = 2;
        path.pop_back();
        continue;
      }
      const uint32_t q = first[r][next++];
      if (mark[q] == 1) {
        return absl::InvalidArgumentError(absl::StrCat(
            "grammar: rule '", rules_[q].name, "' is left-recursive (it can reach itself "
            "before matching a character)"));
      }
      if (mark[q] == 0) {
        mark[q] = 1;
        path.push_back({q, 0});
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Grammar> GrammarBuilder::Build(absl::string_view start) {
  for (;;) {
    SkipSpace(true);
    if (AtEnd()) break;
    if (!IsNameChar(Peek())) return Error(absl::StrCat("expected a rule name, found '", std::string(1, Peek()), "'"));
    const std::string name = ReadName();
    SkipSpace(false);
    if (!(Peek() == ':' && Peek(1) == ':' && Peek(2) == '=')) {
      return Error(absl::StrCat("expected '::=' after '", name, "'"));
    }
    pos_ += 3;
    SkipSpace(true);
    const uint32_t rule = RuleIndex(name, pos_);
    if (rules_[rule].defined) return Error(absl::StrCat("rule '", name, "' is defined twice"));
    rules_[rule].defined = true;
    SM_RETURN_IF_ERROR(ParseAlternatives(rule, /*nested=*/false));
    if (!AtEnd() && Peek() != '\n' && Peek() != '\r') {
      return Error(absl::StrCat("unexpected '", std::string(1, Peek()), "'"));
    }
  }
  for (const Rule& r : rules_) {
    if (!r.defined) {
      pos_ = r.first_use;
      return Error(absl::StrCat("rule '", r.name, "' is used but not defined"));
    }
  }
  auto found = rule_index_.find(std::string(start));
  if (found == rule_index_.end()) {
    return absl::InvalidArgumentError(absl::StrCat("grammar: no '", start, "' rule to start from"));
  }
  SM_RETURN_IF_ERROR(CheckLeftRecursion());

  Grammar g;
  g.start_ = found->second;
  g.classes_ = std::move(classes_);
  for (Rule& r : rules_) {
    std::vector<uint32_t> starts;
    for (const Sequence& s : r.alternatives) {
      starts.push_back(static_cast<uint32_t>(g.elements_.size()));
      for (const Item& i : s) {
        g.elements_.push_back({i.is_rule ? ElementKind::kRule : ElementKind::kChars, i.id});
      }
      g.elements_.push_back({ElementKind::kEnd, 0});
    }
    g.alternatives_.push_back(std::move(starts));
    g.names_.push_back(std::move(r.name));
  }
  return g;
}

absl::StatusOr<Grammar> Grammar::Parse(absl::string_view gbnf, absl::string_view start) {
  return GrammarBuilder(gbnf).Build(start);
}

}  // namespace smallmind::grammar
