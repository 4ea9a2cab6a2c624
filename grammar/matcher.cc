#include "grammar/matcher.h"

#include <algorithm>
#include <cstring>

namespace smallmind::grammar {
namespace {

// More stacks than this at once means a grammar so ambiguous that stepping
// would crawl; the state is then dead rather than slow.
constexpr size_t kMaxStackWords = 1 << 16;

}  // namespace

Matcher::Matcher(const Grammar* grammar) : grammar_(grammar) {
  for (uint32_t start : grammar_->alternatives(grammar_->start_rule())) {
    work_.push_back(start);
    work_.push_back(1);
  }
  Expand(&state_);
}

void Matcher::Emit(MatchState* out) {
  const uint32_t n = static_cast<uint32_t>(stack_.size());
  // The same stack reached two ways is one stack.
  for (size_t end = out->stacks.size(); end > 0;) {
    const uint32_t len = out->stacks[end - 1];
    const size_t begin = end - 1 - len;
    if (len == n && std::memcmp(&out->stacks[begin], stack_.data(), n * sizeof(uint32_t)) == 0) {
      return;
    }
    end = begin;
  }
  if (out->stacks.size() + n + 1 > kMaxStackWords) {
    out->overflow = true;
    return;
  }
  out->stacks.insert(out->stacks.end(), stack_.begin(), stack_.end());
  out->stacks.push_back(n);
}

void Matcher::Expand(MatchState* out) {
  const std::vector<Element>& elements = grammar_->elements();
  while (!work_.empty()) {
    const uint32_t n = work_.back();
    stack_.assign(work_.end() - 1 - n, work_.end() - 1);
    work_.resize(work_.size() - 1 - n);
    for (;;) {
      if (stack_.empty()) {
        out->can_end = true;
        break;
      }
      const uint32_t pos = stack_.back();
      const Element e = elements[pos];
      if (e.kind == ElementKind::kChars) {
        Emit(out);
        break;
      }
      stack_.pop_back();
      if (e.kind == ElementKind::kEnd) continue;
      // A rule: return past it (unless it ends the alternative: a tail call
      // needs no return, so repetitions do not deepen the stack), entering
      // each alternative.
      if (elements[pos + 1].kind != ElementKind::kEnd) stack_.push_back(pos + 1);
      if (work_.size() + (stack_.size() + 2) * grammar_->alternatives(e.value).size() >
          kMaxStackWords) {
        out->overflow = true;
        work_.clear();
        return;
      }
      for (uint32_t alternative : grammar_->alternatives(e.value)) {
        work_.insert(work_.end(), stack_.begin(), stack_.end());
        work_.push_back(alternative);
        work_.push_back(static_cast<uint32_t>(stack_.size() + 1));
      }
      break;
    }
  }
}

bool Matcher::Advance(const MatchState& in, uint32_t code_point, MatchState* out) {
  out->stacks.clear();
  out->can_end = false;
  out->overflow = false;
  out->partial_left = 0;
  out->partial_length = 0;
  out->partial = 0;
  const std::vector<Element>& elements = grammar_->elements();
  for (size_t end = in.stacks.size(); end > 0;) {
    const uint32_t len = in.stacks[end - 1];
    const size_t begin = end - 1 - len;
    const uint32_t top = in.stacks[end - 2];
    if (grammar_->char_class(elements[top].value).Matches(code_point)) {
      work_.insert(work_.end(), in.stacks.begin() + begin, in.stacks.begin() + end - 2);
      work_.push_back(top + 1);
      work_.push_back(len);
    }
    end = begin;
  }
  Expand(out);
  return out->alive();
}

bool Utf8Reading::Read(uint8_t byte, uint32_t* lo, uint32_t* hi) {
  if (left == 0) {
    length = 1;
    if (byte < 0x80) {
      value = *lo = *hi = byte;
      return true;
    }
    // A lead byte (no overlong two-byte forms, nothing past U+10FFFF).
    if (byte >= 0xC2 && byte <= 0xDF) {
      value = byte & 0x1F;
      left = 1;
    } else if (byte >= 0xE0 && byte <= 0xEF) {
      value = byte & 0x0F;
      left = 2;
    } else if (byte >= 0xF0 && byte <= 0xF4) {
      value = byte & 0x07;
      left = 3;
    } else {
      return false;
    }
    length = left + 1;
  } else {
    if ((byte & 0xC0) != 0x80) return false;
    value = value << 6 | (byte & 0x3F);
    --left;
  }
  // The code points these bits can still become, of those this length may
  // encode (no overlong forms, no surrogates, nothing past U+10FFFF).
  static constexpr uint32_t kMinimum[5] = {0, 0, 0x80, 0x800, 0x10000};
  *lo = std::max(value << (6 * left), kMinimum[length]);
  *hi = std::min<uint32_t>((value << (6 * left)) | ((1u << (6 * left)) - 1), 0x10FFFF);
  return *lo <= *hi && !(*lo >= 0xD800 && *hi <= 0xDFFF);
}

bool Matcher::Step(const MatchState& in, uint8_t byte, MatchState* out) {
  if (in.overflow) return false;
  if (in.partial_left == 0 && byte < 0x80) return Advance(in, byte, out);
  Utf8Reading reading{in.partial, in.partial_left, in.partial_length};
  uint32_t lo, hi;
  if (!reading.Read(byte, &lo, &hi)) return false;
  if (reading.left == 0) return Advance(in, reading.value, out);
  // Part of a character: go on while some stack could match a code point
  // that begins with these bits.
  const std::vector<Element>& elements = grammar_->elements();
  bool possible = false;
  for (size_t end = in.stacks.size(); end > 0 && !possible;) {
    const uint32_t len = in.stacks[end - 1];
    possible = grammar_->char_class(elements[in.stacks[end - 2]].value).MatchesAnyIn(lo, hi);
    end -= len + 1;
  }
  if (!possible) return false;
  out->stacks = in.stacks;
  out->can_end = false;
  out->overflow = false;
  out->partial = reading.value;
  out->partial_left = reading.left;
  out->partial_length = reading.length;
  return true;
}

bool Matcher::Accepts(absl::string_view bytes) {
  const MatchState* from = &state_;
  for (size_t i = 0; i < bytes.size(); ++i) {
    MatchState* to = &scratch_[i & 1];
    if (!Step(*from, static_cast<uint8_t>(bytes[i]), to)) return false;
    from = to;
  }
  return true;
}

bool Matcher::Accept(absl::string_view bytes) {
  if (!Accepts(bytes)) return false;
  if (!bytes.empty()) std::swap(state_, scratch_[(bytes.size() - 1) & 1]);
  return true;
}

}  // namespace smallmind::grammar
