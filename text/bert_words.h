// BERT's text normalisation and pre-tokenisation (Hugging Face's
// BertNormalizer and BertPreTokenizer): the words a WordPiece vocabulary
// then splits into pieces.
#ifndef SMALLMIND_TEXT_BERT_WORDS_H_
#define SMALLMIND_TEXT_BERT_WORDS_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace smallmind::text {

struct BertNormalization {
  bool lowercase = true;      // full Unicode lowercasing (final sigma too)
  bool strip_accents = true;  // NFD, then combining marks (Mn) dropped
};

// Control and format characters, NUL and U+FFFD are dropped, whitespace
// becomes a space, CJK ideographs are set apart, then the text is
// lowercased and its accents stripped as `norm` says; the result is cut at
// whitespace and around each punctuation character (Unicode P* and ASCII
// symbols), which stand as words of their own. Invalid UTF-8 is dropped
// like U+FFFD.
std::vector<std::string> BertWords(absl::string_view text, const BertNormalization& norm);

}  // namespace smallmind::text

#endif  // SMALLMIND_TEXT_BERT_WORDS_H_
