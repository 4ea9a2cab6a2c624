#include "text/spm_normalizer.h"

#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace smallmind::text {
namespace {

constexpr absl::string_view kSpaceMarker = "\xE2\x96\x81";  // U+2581 '▁'
constexpr absl::string_view kReplacementChar = "\xEF\xBF\xBD";

// The fields of one unit of the double-array trie (darts-clone's layout,
// which SentencePiece's maps use): a child's label, whether the node ends a
// key, the key's value, and the XOR offset to the node's children.
bool HasLeaf(uint32_t unit) { return (unit >> 8) & 1; }
uint32_t Value(uint32_t unit) { return unit & 0x7FFFFFFFu; }
uint32_t Label(uint32_t unit) { return unit & 0x800000FFu; }
uint32_t Offset(uint32_t unit) { return (unit >> 10) << ((unit & (1u << 9)) >> 6); }

// Length of a valid UTF-8 character starting at s[0], 0 when it is not one
// (overlong forms and surrogates included, as SentencePiece checks).
size_t ValidCharLength(absl::string_view s) {
  const auto b = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
  const auto cont = [&](size_t i) { return i < s.size() && (b(i) & 0xC0) == 0x80; };
  const uint8_t c = b(0);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    const uint32_t cp = ((c & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    return cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    const uint32_t cp = ((c & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) |
                        (b(3) & 0x3F);
    return cp >= 0x10000 && cp <= 0x10FFFF ? 4 : 0;
  }
  return 0;
}

}  // namespace

absl::StatusOr<SpmNormalizer> SpmNormalizer::Create(std::string charsmap, bool add_dummy_prefix,
                                                    bool remove_extra_whitespaces) {
  SpmNormalizer n;
  n.add_dummy_prefix_ = add_dummy_prefix;
  n.remove_extra_whitespaces_ = remove_extra_whitespaces;
  if (charsmap.empty()) return n;
  uint32_t trie_bytes = 0;
  if (charsmap.size() < 4) {
    return absl::InvalidArgumentError("precompiled charsmap: shorter than its size field");
  }
  std::memcpy(&trie_bytes, charsmap.data(), 4);  // little-endian, as x86 reads it
  if (trie_bytes == 0 || trie_bytes % 4 != 0 || trie_bytes > charsmap.size() - 4) {
    return absl::InvalidArgumentError(absl::StrCat(
        "precompiled charsmap: a trie of ", trie_bytes, " bytes in a map of ", charsmap.size()));
  }
  n.units_.resize(trie_bytes / 4);
  std::memcpy(n.units_.data(), charsmap.data() + 4, trie_bytes);
  n.replacements_ = charsmap.substr(4 + trie_bytes);
  return n;
}

std::pair<absl::string_view, size_t> SpmNormalizer::NormalizePrefix(absl::string_view text) const {
  size_t longest = 0;
  uint32_t value = 0;
  if (!units_.empty()) {
    size_t pos = Offset(units_[0]);
    for (size_t i = 0; i < text.size(); ++i) {
      const uint8_t c = static_cast<uint8_t>(text[i]);
      pos ^= c;
      if (pos >= units_.size() || Label(units_[pos]) != c) break;
      const bool leaf = HasLeaf(units_[pos]);
      pos ^= Offset(units_[pos]);
      if (pos >= units_.size()) break;
      if (leaf) {
        longest = i + 1;
        value = Value(units_[pos]);
      }
    }
  }
  // A value that points outside the strings, or at one without its NUL,
  // is a broken map: such a match is not taken.
  if (longest > 0 && value < replacements_.size()) {
    const size_t end = replacements_.find('\0', value);
    if (end != std::string::npos) {
      return {absl::string_view(replacements_).substr(value, end - value), longest};
    }
  }
  const size_t length = ValidCharLength(text);
  if (length == 0) return {kReplacementChar, 1};
  return {text.substr(0, length), length};
}

std::string SpmNormalizer::Normalize(absl::string_view text) const {
  if (remove_extra_whitespaces_) {
    while (!text.empty()) {
      const auto [replacement, consumed] = NormalizePrefix(text);
      if (replacement != " ") break;
      text.remove_prefix(consumed);
    }
  }
  std::string out;
  if (text.empty()) return out;
  if (add_dummy_prefix_) out.append(kSpaceMarker.data(), kSpaceMarker.size());
  bool after_space = remove_extra_whitespaces_;
  while (!text.empty()) {
    auto [replacement, consumed] = NormalizePrefix(text);
    text.remove_prefix(consumed);
    if (after_space) {
      while (!replacement.empty() && replacement[0] == ' ') replacement.remove_prefix(1);
    }
    if (!replacement.empty()) {
      for (char c : replacement) {
        if (c == ' ') {
          out.append(kSpaceMarker.data(), kSpaceMarker.size());
        } else {
          out += c;
        }
      }
      after_space = replacement.back() == ' ';
    }
    if (!remove_extra_whitespaces_) after_space = false;
  }
  if (remove_extra_whitespaces_) {
    while (absl::EndsWith(out, kSpaceMarker)) out.resize(out.size() - kSpaceMarker.size());
  }
  return out;
}

}  // namespace smallmind::text
