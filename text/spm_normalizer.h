// SentencePiece's text normalisation, as a Unigram vocabulary (T5, XLM-R)
// carries it: the model's precompiled character map (nmt_nfkc and the
// like: a double-array trie from UTF-8 sequences to their replacements),
// then whitespace: runs of spaces collapsed and the ends trimmed
// (remove_extra_whitespaces), a space put first (add_dummy_prefix), and
// every space written as `▁`.
#ifndef SMALLMIND_TEXT_SPM_NORMALIZER_H_
#define SMALLMIND_TEXT_SPM_NORMALIZER_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace smallmind::text {

class SpmNormalizer {
 public:
  // `charsmap` is SentencePiece's blob (normalizer_spec.precompiled_charsmap,
  // GGUF's tokenizer.ggml.precompiled_charsmap): a little-endian uint32 byte
  // size of the trie, the trie's units, then the NUL-terminated
  // replacements. Empty: no character map (text kept as it is). Errors on a
  // blob whose parts do not fit it.
  static absl::StatusOr<SpmNormalizer> Create(std::string charsmap, bool add_dummy_prefix,
                                              bool remove_extra_whitespaces);

  // The text the pieces are matched against.
  std::string Normalize(absl::string_view text) const;

 private:
  SpmNormalizer() = default;
  // The replacement of the longest prefix of `text` the map has, and how
  // many bytes it replaces; else the first character itself (U+FFFD for an
  // invalid byte).
  std::pair<absl::string_view, size_t> NormalizePrefix(absl::string_view text) const;

  std::vector<uint32_t> units_;  // the double-array trie
  std::string replacements_;     // NUL-terminated strings the trie points into
  bool add_dummy_prefix_ = true;
  bool remove_extra_whitespaces_ = true;
};

}  // namespace smallmind::text

#endif  // SMALLMIND_TEXT_SPM_NORMALIZER_H_
