// Text <-> token ids for the three vocabulary kinds a model file can carry:
//   CHAR               one token per UTF-8 character; a character missing from
//                      the vocabulary falls back to its single-byte tokens.
//   GPT2_BPE           GPT-2's pre-tokenizer split, bytes mapped to printable
//                      code points, then merges applied by rank.
//   SENTENCEPIECE_BPE  llama-style: spaces become `▁` (with one prepended),
//                      the highest-scoring merge in the vocabulary wins, and
//                      characters with no token fall back to <0xXX> tokens.
// Immutable after Create, so thread-safe.
#ifndef SMALLMIND_RUNTIME_TOKENIZER_H_
#define SMALLMIND_RUNTIME_TOKENIZER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "runtime/model.pb.h"

namespace smallmind::runtime {

class Tokenizer {
 public:
  // Errors on an unset kind, special ids out of range, or a malformed merge.
  static absl::StatusOr<std::unique_ptr<Tokenizer>> Create(
      const TokenizerSpec& spec);

  // Token ids for `text`, with BOS first when `add_bos` and the vocabulary
  // has one. Errors when a character has no token and no byte fallback.
  absl::StatusOr<std::vector<int32_t>> Encode(absl::string_view text,
                                              bool add_bos) const;

  // The text of `ids`. Control tokens (BOS, EOS, ...) decode to nothing; a
  // SentencePiece leading space after BOS is dropped, as llama.cpp does.
  std::string Decode(absl::Span<const int32_t> ids) const;

  // The bytes one token stands for, for streaming (no space stripping).
  // Bytes of a multi-byte character may be split across tokens.
  absl::string_view Piece(int32_t id) const { return pieces_[id]; }

  int32_t vocab_size() const { return static_cast<int32_t>(pieces_.size()); }
  // The longest Piece(), in bytes.
  size_t max_piece_bytes() const { return max_piece_bytes_; }
  std::optional<int32_t> bos_id() const { return bos_; }
  std::optional<int32_t> eos_id() const { return eos_; }
  bool add_bos() const { return add_bos_; }
  TokenizerKind kind() const { return kind_; }

 private:
  Tokenizer() = default;
  absl::Status EncodeChar(absl::string_view text,
                          std::vector<int32_t>* ids) const;
  absl::Status EncodeGpt2(absl::string_view text,
                          std::vector<int32_t>* ids) const;
  absl::Status EncodeSentencePiece(absl::string_view text,
                                   std::vector<int32_t>* ids) const;
  std::optional<int32_t> Find(absl::string_view token) const;

  TokenizerKind kind_ = TOKENIZER_UNSPECIFIED;
  std::vector<std::string> pieces_;  // decoded bytes per id
  std::vector<float> scores_;
  std::vector<bool> is_control_;
  absl::flat_hash_map<std::string, int32_t> ids_;  // token text -> first id
  absl::flat_hash_map<std::string, int32_t> merge_ranks_;  // "left right"
  int32_t byte_ids_[256];  // SentencePiece <0xXX> tokens, -1 when absent
  std::optional<int32_t> bos_, eos_, unknown_;
  bool add_bos_ = false;
  size_t max_piece_bytes_ = 0;
};

// GPT-2's byte <-> code point mapping: printable bytes map to themselves,
// the rest to U+0100 onwards. Exposed for converters and tests.
std::string Gpt2EncodeBytes(absl::string_view bytes);

// GPT-2's pre-tokenizer: contractions, letter runs, digit runs, other runs
// (each with an optional leading space) and whitespace. Letters and digits
// outside ASCII are classified by the C library's UTF-8 locale.
std::vector<absl::string_view> Gpt2PreTokenize(absl::string_view text);

}  // namespace smallmind::runtime

#endif  // SMALLMIND_RUNTIME_TOKENIZER_H_
