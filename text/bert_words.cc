#include "text/bert_words.h"

#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

namespace smallmind::text {
namespace {

// Cc, Cf, Co and Cs, except the tab and line breaks (which are spaces).
bool IsControl(UChar32 c) {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  switch (u_charType(c)) {
    case U_CONTROL_CHAR:
    case U_FORMAT_CHAR:
    case U_PRIVATE_USE_CHAR:
    case U_SURROGATE:
      return true;
    default:
      return false;
  }
}

// ECMAScript's \s (what transformers.js tests), which is the space
// separators and line terminators.
bool IsSpace(UChar32 c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000 || c == 0xFEFF;
}

// The CJK Unified Ideographs blocks and their compatibility forms.
bool IsChinese(UChar32 c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

// Unicode punctuation, and every ASCII symbol BERT treats as such ($, +,
// <, ^, `, |, ~ are not P* in Unicode).
bool IsPunctuation(UChar32 c) {
  if ((c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) ||
      (c >= 0x7B && c <= 0x7E)) {
    return true;
  }
  switch (u_charType(c)) {
    case U_DASH_PUNCTUATION:
    case U_START_PUNCTUATION:
    case U_END_PUNCTUATION:
    case U_CONNECTOR_PUNCTUATION:
    case U_OTHER_PUNCTUATION:
    case U_INITIAL_PUNCTUATION:
    case U_FINAL_PUNCTUATION:
      return true;
    default:
      return false;
  }
}

}  // namespace

std::vector<std::string> BertWords(absl::string_view text, const BertNormalization& norm) {
  // Invalid UTF-8 comes back as U+FFFD, which is dropped with the controls.
  const icu::UnicodeString in = icu::UnicodeString::fromUTF8(
      icu::StringPiece(text.data(), static_cast<int32_t>(text.size())));
  icu::UnicodeString s;
  for (int32_t i = 0; i < in.length(); i = in.moveIndex32(i, 1)) {
    const UChar32 c = in.char32At(i);
    if (c == 0 || c == 0xFFFD || IsControl(c)) continue;
    if (IsSpace(c)) {
      s.append(static_cast<UChar>(' '));
    } else if (IsChinese(c)) {
      s.append(static_cast<UChar>(' ')).append(c).append(static_cast<UChar>(' '));
    } else {
      s.append(c);
    }
  }
  if (norm.lowercase) s.toLower(icu::Locale::getRoot());
  if (norm.strip_accents) {
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* nfd = icu::Normalizer2::getNFDInstance(status);
    if (U_SUCCESS(status)) {
      const icu::UnicodeString decomposed = nfd->normalize(s, status);
      if (U_SUCCESS(status)) {
        s.remove();
        for (int32_t i = 0; i < decomposed.length(); i = decomposed.moveIndex32(i, 1)) {
          const UChar32 c = decomposed.char32At(i);
          if (u_charType(c) != U_NON_SPACING_MARK) s.append(c);
        }
      }
    }
  }
  std::vector<std::string> words;
  icu::UnicodeString word;
  auto finish = [&] {
    if (word.isEmpty()) return;
    words.emplace_back();
    word.toUTF8String(words.back());
    word.remove();
  };
  for (int32_t i = 0; i < s.length(); i = s.moveIndex32(i, 1)) {
    const UChar32 c = s.char32At(i);
    if (IsSpace(c)) {
      finish();
    } else if (IsPunctuation(c)) {
      finish();
      word.append(c);
      finish();
    } else {
      word.append(c);
    }
  }
  finish();
  return words;
}

}  // namespace smallmind::text
