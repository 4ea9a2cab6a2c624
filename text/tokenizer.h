// Text <-> token ids for the vocabulary kinds a model file can carry:
//   CHAR               one token per UTF-8 character; a character missing from
//                      the vocabulary falls back to its single-byte tokens.
//   GPT2_BPE           byte-level BPE: the pre-tokenizer's regular
//                      expressions cut the text (GPT-2's, Llama 3's, Qwen2's,
//                      ...), bytes map to printable code points, then merges
//                      apply by rank (Llama 3: whole words in the vocabulary
//                      first, `ignore_merges`).
//   SENTENCEPIECE_BPE  spaces become `▁` (with one prepended unless the file
//                      says not to), merges apply by rank (or by the merged
//                      token's score), and characters with no token fall back
//                      to <0xXX> byte tokens.
//   WORDPIECE          BERT's: the text normalised and cut into words
//                      (bert_words.h), each word the longest pieces of the
//                      vocabulary from the left; [CLS] … [SEP] around it.
//   UNIGRAM            SentencePiece's Unigram (T5, XLM-RoBERTa): the text
//                      normalised by the vocabulary's character map
//                      (spm_normalizer.h), then cut into the pieces of the
//                      highest total score (Viterbi); a character no piece
//                      covers is <unk> (a run of them one <unk>).
// Before any of it, the text is cut at added tokens: user-defined ones
// always, control ones (<|im_start|>, <start_of_turn>, ...) only when the
// caller says the text may contain them (`parse_special`, as llama.cpp's),
// so user text never produces a control token. Immutable after Create, so
// thread-safe.
#ifndef SMALLMIND_TEXT_TOKENIZER_H_
#define SMALLMIND_TEXT_TOKENIZER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "model/model.pb.h"
#include "text/bert_words.h"
#include "text/spm_normalizer.h"

namespace smallmind::text {

class Tokenizer {
 public:
  // Errors on an unset kind, special ids out of range, a malformed merge or
  // an invalid pre-tokenizer pattern.
  static absl::StatusOr<std::unique_ptr<Tokenizer>> Create(
      const model::TokenizerSpec& spec);
  ~Tokenizer();

  // Token ids for `text`, with BOS first when `add_bos` and the vocabulary
  // has one. With `parse_special`, control tokens written in the text (a
  // chat template's <|im_start|>) become their ids; without, they are
  // tokenized as the text they are. Errors when a character has no token
  // and no byte fallback.
  absl::StatusOr<std::vector<int32_t>> Encode(absl::string_view text, bool add_bos,
                                              bool parse_special = false) const;
  // WordPiece frames with [SEP] too: `add_bos` gives [CLS] text [SEP].

  // A cross-encoder's input, special tokens in the texts parsed, as Hugging
  // Face's tokenizers do: [CLS] first [SEP] second [SEP] (WordPiece), or
  // RoBERTa's <s> first </s></s> second </s> (Unigram); *second_start is
  // where the second segment (token type 1) begins. Errors unless the
  // vocabulary is one of these with its framing tokens.
  absl::StatusOr<std::vector<int32_t>> EncodePair(absl::string_view first,
                                                  absl::string_view second,
                                                  size_t* second_start) const;

  // The text of `ids`. Control tokens (BOS, EOS, ...) decode to nothing; a
  // SentencePiece leading space after BOS is dropped, as llama.cpp does.
  std::string Decode(absl::Span<const int32_t> ids) const;

  // The bytes one token stands for, for streaming (no space stripping;
  // control tokens are empty). Bytes of a character may span tokens.
  absl::string_view Piece(int32_t id) const { return pieces_[id]; }

  int32_t vocab_size() const { return static_cast<int32_t>(pieces_.size()); }
  // The longest Piece(), in bytes.
  size_t max_piece_bytes() const { return max_piece_bytes_; }
  std::optional<int32_t> bos_id() const { return bos_; }
  std::optional<int32_t> eos_id() const { return eos_; }
  std::optional<int32_t> separator_id() const { return separator_; }
  bool add_bos() const { return add_bos_; }
  model::TokenizerKind kind() const { return kind_; }
  // Whether `id` ends a turn: EOS, EOT, EOM, ... (end_of_generation_ids).
  bool IsEndOfGeneration(int32_t id) const;
  const std::vector<int32_t>& end_of_generation_ids() const { return end_of_generation_; }

 private:
  struct Patterns;
  Tokenizer();
  absl::Status EncodeText(absl::string_view text, bool first,
                          std::vector<int32_t>* ids) const;
  absl::Status EncodeChar(absl::string_view text, std::vector<int32_t>* ids) const;
  absl::Status EncodeByteLevel(absl::string_view text, std::vector<int32_t>* ids) const;
  absl::Status EncodeWordPiece(absl::string_view text, std::vector<int32_t>* ids) const;
  absl::Status EncodeSentencePiece(absl::string_view text, bool first,
                                   std::vector<int32_t>* ids) const;
  absl::Status EncodeUnigram(absl::string_view text, std::vector<int32_t>* ids) const;
  // `marked`'s bytes as <0xXX> tokens, else one unknown token; an error
  // without either.
  absl::Status EncodeUnknown(absl::string_view marked, std::vector<int32_t>* ids) const;
  std::optional<int32_t> Find(absl::string_view token) const;

  model::TokenizerKind kind_ = model::TOKENIZER_UNSPECIFIED;
  // Strings end to end in one block: a 150k-token vocabulary's texts and
  // pieces without a heap block and a string header each.
  class PackedStrings {
   public:
    void Add(absl::string_view s) {
      bytes_.append(s.data(), s.size());
      ends_.push_back(bytes_.size());
    }
    absl::string_view operator[](size_t i) const {
      const size_t begin = i == 0 ? 0 : ends_[i - 1];
      return absl::string_view(bytes_).substr(begin, ends_[i] - begin);
    }
    size_t size() const { return ends_.size(); }

   private:
    std::string bytes_;
    std::vector<size_t> ends_;
  };

  PackedStrings pieces_;  // decoded bytes per id
  std::vector<float> scores_;
  std::vector<bool> is_control_;
  PackedStrings texts_;  // token text per id
  absl::flat_hash_map<absl::string_view, int32_t> ids_;  // text (in texts_) -> first id
  // Merges: the pair's two ids -> (rank, merged id).
  absl::flat_hash_map<uint64_t, std::pair<int32_t, int32_t>> merges_;
  // Added tokens cut out of text before tokenizing: text -> id.
  absl::flat_hash_map<std::string, int32_t> added_;
  size_t longest_added_ = 0;
  int32_t byte_ids_[256];  // SentencePiece <0xXX> tokens, -1 when absent
  std::optional<int32_t> bos_, eos_, unknown_, separator_;
  std::vector<int32_t> end_of_generation_;
  bool add_bos_ = false;
  bool add_space_prefix_ = true;
  bool ignore_merges_ = false;
  bool nfc_ = false;
  BertNormalization bert_;  // WordPiece's
  // Unigram's: its normaliser, which ids its lattice may use (not control,
  // unknown, unused or byte tokens), the longest such token in bytes, and
  // the score of an unknown character (the lowest piece's, less 10, as
  // SentencePiece has it).
  std::unique_ptr<SpmNormalizer> spm_;
  std::vector<bool> in_lattice_;
  size_t longest_lattice_piece_ = 0;
  float unknown_score_ = 0;
  std::unique_ptr<Patterns> patterns_;
  size_t max_piece_bytes_ = 0;
};

// GPT-2's byte <-> code point mapping: printable bytes map to themselves,
// the rest to U+0100 onwards. Exposed for converters and tests.
std::string Gpt2EncodeBytes(absl::string_view bytes);

// The pre-tokenizer (patterns, NFC, ignore_merges) of GGUF's
// `tokenizer.ggml.pre` names (gpt-2, llama-bpe, qwen2, smollm, ...); an
// unknown name is an error listing the known ones.
absl::StatusOr<model::PreTokenizer> KnownPreTokenizer(absl::string_view name);
// Its patterns alone.
absl::StatusOr<std::vector<std::string>> PreTokenizerPatterns(absl::string_view name);

// The reverse: the first name whose pre-tokenizer is exactly `pre`, for
// writers of GGUF files; NotFound for one no name has.
absl::StatusOr<std::string> PreTokenizerName(const model::PreTokenizer& pre);

// Cuts `text` by `patterns` as the tokenizer does (each pattern splits every
// piece into its matches and the text between them). Errors on an invalid
// pattern.
absl::StatusOr<std::vector<std::string>> PreTokenize(
    absl::string_view text, const std::vector<std::string>& patterns);

}  // namespace smallmind::text

#endif  // SMALLMIND_TEXT_TOKENIZER_H_
