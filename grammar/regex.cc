#include "grammar/regex.h"

#include <cctype>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/status.h"

namespace smallmind::grammar {
namespace {

using Ranges = std::vector<std::pair<uint32_t, uint32_t>>;

// A code point in a GBNF class or literal.
std::string Escaped(uint32_t c) {
  if (c == '"' || c == '\\' || c == ']' || c == '[' || c == '-' || c == '^') {
    return absl::StrCat("\\", std::string(1, static_cast<char>(c)));
  }
  if (c < 0x20 || c == 0x7F) return absl::StrFormat("\\x%02X", c);
  if (c < 0x80) return std::string(1, static_cast<char>(c));
  return c <= 0xFFFF ? absl::StrFormat("\\u%04X", c) : absl::StrFormat("\\U%08X", c);
}

// The characters a JSON string writes escaped: the quote, the backslash and
// the controls.
bool NeedsEscape(uint32_t c) { return c == '"' || c == '\\' || c < 0x20; }

// How `c` appears inside a JSON string, as a GBNF literal.
std::string JsonChar(uint32_t c) {
  if (c == '"') return R"("\\\"")";
  if (c == '\\') return R"("\\\\")";
  if (c == '\n') return R"("\\n")";
  if (c == '\t') return R"("\\t")";
  if (c == '\r') return R"("\\r")";
  if (c < 0x20) return absl::StrFormat(R"("\\u%04x")", c);
  return absl::StrCat("\"", Escaped(c), "\"");
}

// A set of code points as a GBNF expression inside a JSON string: the
// plain ones as a class, the escaped ones as their escapes.
std::string SetExpression(const Ranges& ranges, bool negated) {
  std::vector<std::string> options;
  std::string plain;
  std::vector<uint32_t> escaped;
  for (uint32_t c : {uint32_t{'"'}, uint32_t{'\\'}, uint32_t{'\n'}, uint32_t{'\t'}, uint32_t{'\r'}}) {
    bool in = false;
    for (const auto& [lo, hi] : ranges) in |= lo <= c && c <= hi;
    if (in != negated) escaped.push_back(c);
  }
  if (negated) {
    plain = "[^";
    for (const auto& [lo, hi] : ranges) {
      plain += lo == hi ? Escaped(lo) : absl::StrCat(Escaped(lo), "-", Escaped(hi));
    }
    plain += "\"\\\\\\x00-\\x1F]";
  } else {
    std::string members;
    for (const auto& [lo, hi] : ranges) {
      // The part of the range a JSON string writes as itself.
      for (uint32_t a = lo; a <= hi;) {
        while (a <= hi && NeedsEscape(a)) ++a;
        if (a > hi) break;
        uint32_t b = a;
        while (b < hi && !NeedsEscape(b + 1)) ++b;
        members += a == b ? Escaped(a) : absl::StrCat(Escaped(a), "-", Escaped(b));
        a = b + 1;
        if (b == UINT32_MAX) break;
      }
    }
    if (!members.empty()) plain = absl::StrCat("[", members, "]");
  }
  if (!plain.empty()) options.push_back(plain);
  for (uint32_t c : escaped) options.push_back(JsonChar(c));
  if (options.empty()) return "";
  if (options.size() == 1) return options[0];
  std::string out = "(";
  for (size_t i = 0; i < options.size(); ++i) absl::StrAppend(&out, i ? " | " : "", options[i]);
  return out + ")";
}

class RegexParser {
 public:
  explicit RegexParser(absl::string_view p) : p_(p) {}

  absl::StatusOr<std::string> Parse() {
    if (Peek() == '^') ++pos_;
    SM_ASSIGN_OR_RETURN(std::string expr, Alternation());
    if (Peek() == '$') ++pos_;
    if (pos_ < p_.size()) return Error(absl::StrCat("'", std::string(1, p_[pos_]), "' here"));
    return expr;
  }

 private:
  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat("'pattern' '", p_, "': ", what, " is not supported (at ", pos_, ")"));
  }
  char Peek() const { return pos_ < p_.size() ? p_[pos_] : '\0'; }
  bool AtEnd() const { return pos_ >= p_.size(); }

  absl::StatusOr<std::string> Alternation() {
    std::vector<std::string> options;
    for (;;) {
      SM_ASSIGN_OR_RETURN(std::string seq, Sequence());
      options.push_back(seq.empty() ? "\"\"" : seq);
      if (Peek() != '|') break;
      ++pos_;
    }
    if (options.size() == 1) return options[0];
    std::string out = "(";
    for (size_t i = 0; i < options.size(); ++i) absl::StrAppend(&out, i ? " | " : "", options[i]);
    return out + ")";
  }

  absl::StatusOr<std::string> Sequence() {
    std::string out;
    while (!AtEnd() && Peek() != '|' && Peek() != ')') {
      if (Peek() == '$' && pos_ + 1 == p_.size()) break;
      SM_ASSIGN_OR_RETURN(std::string atom, Atom());
      SM_ASSIGN_OR_RETURN(atom, Quantified(std::move(atom)));
      if (!atom.empty()) absl::StrAppend(&out, out.empty() ? "" : " ", atom);
    }
    return out;
  }

  absl::StatusOr<std::string> Quantified(std::string atom) {
    const char c = Peek();
    std::string suffix;
    if (c == '*' || c == '+' || c == '?') {
      ++pos_;
      suffix = std::string(1, c);
    } else if (c == '{') {
      const size_t close = p_.find('}', pos_);
      if (close == absl::string_view::npos) return Error("'{' without '}'");
      suffix = std::string(p_.substr(pos_, close - pos_ + 1));
      for (char d : suffix.substr(1, suffix.size() - 2)) {
        if (!(d >= '0' && d <= '9') && d != ',') return Error(absl::StrCat("the quantifier ", suffix));
      }
      pos_ = close + 1;
    } else {
      return atom;
    }
    if (Peek() == '?') ++pos_;  // lazy: the same strings
    if (atom.empty()) return Error("a quantifier with nothing before it");
    return absl::StrCat("(", atom, ")", suffix);
  }

  // \d \w \s and their negations as ranges.
  static bool ClassEscape(char e, Ranges* r, bool* negated) {
    *negated = e == 'D' || e == 'W' || e == 'S';
    switch (e) {
      case 'd': case 'D': *r = {{'0', '9'}}; return true;
      case 'w': case 'W': *r = {{'a', 'z'}, {'A', 'Z'}, {'0', '9'}, {'_', '_'}}; return true;
      case 's': case 'S': *r = {{' ', ' '}, {'\t', '\r'}}; return true;
    }
    return false;
  }

  // One character of a pattern or a class (after a backslash when
  // `escaped`): its code point, UTF-8 decoded.
  absl::StatusOr<uint32_t> Char() {
    const unsigned char c = static_cast<unsigned char>(p_[pos_]);
    if (c == '\\') {
      if (pos_ + 1 >= p_.size()) return Error("a trailing '\\'");
      const char e = p_[pos_ + 1];
      pos_ += 2;
      switch (e) {
        case 'n': return uint32_t{'\n'};
        case 't': return uint32_t{'\t'};
        case 'r': return uint32_t{'\r'};
        case 'f': return uint32_t{'\f'};
        case 'v': return uint32_t{'\v'};
        case '0': return uint32_t{0};
      }
      if (e == 'x' || e == 'u') {
        const int digits = e == 'x' ? 2 : 4;
        uint32_t v = 0;
        for (int i = 0; i < digits; ++i, ++pos_) {
          const char h = Peek();
          const int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10
                        : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
          if (d < 0) return Error(absl::StrCat("\\", std::string(1, e), " without its hex digits"));
          v = v << 4 | d;
        }
        return v;
      }
      if (std::isalnum(static_cast<unsigned char>(e))) {
        pos_ -= 2;
        return Error(absl::StrCat("the escape \\", std::string(1, e)));
      }
      return static_cast<uint32_t>(static_cast<unsigned char>(e));
    }
    const int n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || pos_ + n > p_.size()) return Error("invalid UTF-8");
    uint32_t v = n == 1 ? c : c & (0x7F >> n);
    for (int i = 1; i < n; ++i) v = v << 6 | (static_cast<unsigned char>(p_[pos_ + i]) & 0x3F);
    pos_ += n;
    return v;
  }

  absl::StatusOr<std::string> Atom() {
    const char c = Peek();
    if (c == '(') {
      ++pos_;
      if (Peek() == '?') {
        if (pos_ + 1 < p_.size() && p_[pos_ + 1] == ':') {
          pos_ += 2;
        } else {
          return Error("the group (?");
        }
      }
      SM_ASSIGN_OR_RETURN(std::string inner, Alternation());
      if (Peek() != ')') return Error("'(' without ')'");
      ++pos_;
      return absl::StrCat("(", inner, ")");
    }
    if (c == '[') return Class();
    if (c == '.') {
      ++pos_;
      return SetExpression({{'\n', '\n'}, {'\r', '\r'}}, /*negated=*/true);
    }
    if (c == '^' || c == '$') return Error(absl::StrCat("the anchor '", std::string(1, c), "' inside"));
    if (c == '*' || c == '+' || c == '?' || c == '{') return Error("a quantifier with nothing before it");
    if (c == '\\' && pos_ + 1 < p_.size()) {
      Ranges r;
      bool negated;
      if (ClassEscape(p_[pos_ + 1], &r, &negated)) {
        pos_ += 2;
        return SetExpression(r, negated);
      }
    }
    SM_ASSIGN_OR_RETURN(const uint32_t ch, Char());
    return JsonChar(ch);
  }

  absl::StatusOr<std::string> Class() {
    ++pos_;  // [
    bool negated = false;
    if (Peek() == '^') {
      negated = true;
      ++pos_;
    }
    Ranges ranges;
    bool first = true;
    while (!AtEnd() && (Peek() != ']' || first)) {
      first = false;
      if (Peek() == '\\' && pos_ + 1 < p_.size()) {
        Ranges r;
        bool neg;
        if (ClassEscape(p_[pos_ + 1], &r, &neg)) {
          if (neg) return Error("a negated class escape inside [...]");
          pos_ += 2;
          ranges.insert(ranges.end(), r.begin(), r.end());
          continue;
        }
      }
      SM_ASSIGN_OR_RETURN(const uint32_t lo, Char());
      uint32_t hi = lo;
      if (Peek() == '-' && pos_ + 1 < p_.size() && p_[pos_ + 1] != ']') {
        ++pos_;
        SM_ASSIGN_OR_RETURN(hi, Char());
        if (hi < lo) return Error("a range that runs backwards");
      }
      ranges.push_back({lo, hi});
    }
    if (AtEnd()) return Error("'[' without ']'");
    ++pos_;
    std::string set = SetExpression(ranges, negated);
    if (set.empty()) return Error("a class no character is in");
    return set;
  }

  absl::string_view p_;
  size_t pos_ = 0;
};

}  // namespace

absl::StatusOr<std::string> RegexToJsonStringGbnf(absl::string_view pattern) {
  return RegexParser(pattern).Parse();
}

}  // namespace smallmind::grammar
