#include "text/tokenizer.h"

#include <unicode/normalizer2.h>
#include <unicode/regex.h>
#include <unicode/unistr.h>
#include <unicode/utext.h>

#include <algorithm>
#include <queue>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "core/status.h"
#include "text/bert_words.h"

namespace smallmind::text {
namespace {

constexpr absl::string_view kSpaceMarker = "\xE2\x96\x81";  // U+2581 '▁'

// Length of the UTF-8 character starting at s[i]; 1 for an invalid byte.
size_t CharLength(absl::string_view s, size_t i) {
  const uint8_t c = static_cast<uint8_t>(s[i]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3
                                             : (c >> 3) == 30 ? 4 : 1;
  if (i + n > s.size()) return 1;
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<uint8_t>(s[i + k]) & 0xC0) != 0x80) return 1;
  }
  return n;
}

uint32_t DecodeChar(absl::string_view s, size_t i, size_t n) {
  const uint8_t c = static_cast<uint8_t>(s[i]);
  if (n == 1) return c;
  uint32_t cp = c & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (s[i + k] & 0x3F);
  return cp;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// GPT-2's table: which code point stands for each byte.
struct ByteTable {
  uint32_t to_cp[256];
  absl::flat_hash_map<uint32_t, uint8_t> to_byte;
  ByteTable() {
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) ||
                             (b >= 0xAE && b <= 0xFF);
      to_cp[b] = printable ? b : next++;
      to_byte[to_cp[b]] = static_cast<uint8_t>(b);
    }
  }
};

const ByteTable& Bytes() {
  static const ByteTable* table = new ByteTable;
  return *table;
}

// The patterns are written for Oniguruma and Rust's regex (Hugging Face's
// tokenizers), where \s is Unicode's White_Space; ICU's \s leaves out \v
// and U+0085, so it is spelled out.
std::string ToIcuSyntax(absl::string_view pattern) {
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\' && i + 1 < pattern.size()) {
      const char next = pattern[++i];
      if (next == 's') {
        out += "\\p{White_Space}";
      } else if (next == 'S') {
        out += "\\P{White_Space}";
      } else {
        out += '\\';
        out += next;
      }
      continue;
    }
    out += pattern[i];
  }
  return out;
}

uint64_t PairKey(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) |
         static_cast<uint32_t>(right);
}

// One symbol of a word being merged: a token id (-1: no token) for the bytes
// [start, start + length) of the word, in a doubly linked list.
struct Symbol {
  int32_t id;
  size_t start, length;
  int prev, next;
};

// A candidate merge: lower rank first, then the leftmost.
struct Candidate {
  double rank;
  int left;
  int32_t left_id, right_id;
  bool operator>(const Candidate& o) const {
    return rank != o.rank ? rank > o.rank : left > o.left;
  }
};

// Merges `symbols` (in order) while `merge(left_id, right_id, start,
// length)` offers a (rank, merged id) for an adjacent pair, lowest rank
// first and leftmost on ties; O(n log n). Returns the surviving ids in
// order (possibly -1 for symbols with no token).
template <class MergeFn>
std::vector<Symbol> MergeByRank(std::vector<Symbol> symbols, const MergeFn& merge) {
  const int n = static_cast<int>(symbols.size());
  for (int i = 0; i < n; ++i) {
    symbols[i].prev = i - 1;
    symbols[i].next = i + 1 < n ? i + 1 : -1;
  }
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue;
  auto offer = [&](int left) {
    if (left < 0) return;
    const int right = symbols[left].next;
    if (right < 0 || symbols[left].id < 0 || symbols[right].id < 0) return;
    const std::optional<std::pair<double, int32_t>> m =
        merge(symbols[left].id, symbols[right].id, symbols[left].start,
              symbols[left].length + symbols[right].length);
    if (m) queue.push({m->first, left, symbols[left].id, symbols[right].id});
  };
  for (int i = 0; i + 1 < n; ++i) offer(i);
  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    Symbol& left = symbols[c.left];
    if (left.id != c.left_id || left.next < 0) continue;  // stale
    Symbol& right = symbols[left.next];
    if (right.id != c.right_id) continue;
    const std::optional<std::pair<double, int32_t>> m =
        merge(left.id, right.id, left.start, left.length + right.length);
    left.id = m->second;
    left.length += right.length;
    right.id = -2;  // gone
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = c.left;
    offer(left.prev);
    offer(c.left);
  }
  std::vector<Symbol> out;
  for (int i = n > 0 ? 0 : -1; i >= 0; i = symbols[i].next) out.push_back(symbols[i]);
  return out;
}

model::PreTokenizer PreTokenizerOf(std::vector<std::string> patterns, bool nfc,
                                   bool ignore_merges) {
  model::PreTokenizer p;
  for (std::string& pattern : patterns) p.add_split_patterns(std::move(pattern));
  p.set_nfc(nfc);
  p.set_ignore_merges(ignore_merges);
  return p;
}

// The known pre-tokenizers, by GGUF's tokenizer.ggml.pre name: the
// patterns and flags of each vocabulary's tokenizer.json (GPT-2's is
// OpenAI's). The GGUF importer reads them by name, the GGUF writer finds the
// name of what a Hugging Face tokenizer.json gave.
const std::vector<std::pair<std::vector<std::string>, model::PreTokenizer>>& KnownPreTokenizers() {
  static const std::string kGpt2 =
      "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
  static const auto* known = new std::vector<std::pair<std::vector<std::string>, model::PreTokenizer>>{
      {{"gpt-2", "default", "phi-2"}, PreTokenizerOf({kGpt2}, false, false)},
      // Llama 3's tokenizer.json sets ignore_merges.
      {{"llama-bpe", "llama3", "llama-v3"},
       PreTokenizerOf({"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
                       "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
                      false, true)},
      // Qwen's normalizes to NFC first.
      {{"qwen2"},
       PreTokenizerOf({"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
                       "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
                      true, false)},
      // SmolLM's tokenizer.json: single digits, then GPT-2's split.
      {{"smollm"}, PreTokenizerOf({"\\p{N}", kGpt2}, false, false)},
  };
  return *known;
}

}  // namespace

// The pre-tokenizer's compiled patterns (ICU's RegexPattern is immutable and
// may be shared by threads; each use makes its own matcher).
struct Tokenizer::Patterns {
  std::vector<std::unique_ptr<icu::RegexPattern>> list;
};

namespace {

absl::StatusOr<std::unique_ptr<icu::RegexPattern>> Compile(const std::string& pattern) {
  UErrorCode status = U_ZERO_ERROR;
  UParseError error;
  std::unique_ptr<icu::RegexPattern> p(icu::RegexPattern::compile(
      icu::UnicodeString::fromUTF8(ToIcuSyntax(pattern)), 0, error, status));
  if (U_FAILURE(status)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tokenizer: pre-tokenizer pattern /", pattern, "/ does not compile (",
        u_errorName(status), " at offset ", error.offset, ")"));
  }
  return p;
}

// Splits each piece of `pieces` into the matches of `pattern` and the text
// between them.
std::vector<absl::string_view> Split(const std::vector<absl::string_view>& pieces,
                                     const icu::RegexPattern& pattern) {
  std::vector<absl::string_view> out;
  UErrorCode status = U_ZERO_ERROR;
  std::unique_ptr<icu::RegexMatcher> matcher(pattern.matcher(status));
  for (absl::string_view piece : pieces) {
    status = U_ZERO_ERROR;
    UText* text = utext_openUTF8(nullptr, piece.data(), static_cast<int64_t>(piece.size()),
                                 &status);
    matcher->reset(text);
    size_t done = 0;
    while (U_SUCCESS(status) && matcher->find(status)) {
      // Indexes of a UTF-8 UText are byte offsets.
      const size_t start = static_cast<size_t>(matcher->start64(status));
      const size_t end = static_cast<size_t>(matcher->end64(status));
      if (end == start) continue;
      if (start > done) out.push_back(piece.substr(done, start - done));
      out.push_back(piece.substr(start, end - start));
      done = end;
    }
    if (done < piece.size()) out.push_back(piece.substr(done));
    utext_close(text);
  }
  return out;
}

}  // namespace

std::string Gpt2EncodeBytes(absl::string_view bytes) {
  std::string out;
  for (char c : bytes) AppendUtf8(Bytes().to_cp[static_cast<uint8_t>(c)], &out);
  return out;
}

absl::StatusOr<model::PreTokenizer> KnownPreTokenizer(absl::string_view name) {
  std::vector<std::string> names;
  for (const auto& [aliases, known] : KnownPreTokenizers()) {
    for (const std::string& alias : aliases) {
      if (alias == name) return known;
      names.push_back(alias);
    }
  }
  return absl::UnimplementedError(absl::StrCat(
      "pre-tokenizer '", name, "' is not supported (", absl::StrJoin(names, ", "), ")"));
}

absl::StatusOr<std::vector<std::string>> PreTokenizerPatterns(absl::string_view name) {
  SM_ASSIGN_OR_RETURN(model::PreTokenizer known, KnownPreTokenizer(name));
  return std::vector<std::string>(known.split_patterns().begin(), known.split_patterns().end());
}

absl::StatusOr<std::string> PreTokenizerName(const model::PreTokenizer& pre) {
  for (const auto& [aliases, known] : KnownPreTokenizers()) {
    if (std::equal(known.split_patterns().begin(), known.split_patterns().end(),
                   pre.split_patterns().begin(), pre.split_patterns().end()) &&
        known.nfc() == pre.nfc() && known.ignore_merges() == pre.ignore_merges()) {
      return aliases.front();
    }
  }
  return absl::NotFoundError(
      "no GGUF pre-tokenizer name has these patterns, NFC and ignore_merges settings");
}

absl::StatusOr<std::vector<std::string>> PreTokenize(
    absl::string_view text, const std::vector<std::string>& patterns) {
  std::vector<absl::string_view> pieces = {text};
  for (const std::string& p : patterns) {
    SM_ASSIGN_OR_RETURN(std::unique_ptr<icu::RegexPattern> compiled, Compile(p));
    pieces = Split(pieces, *compiled);
  }
  return std::vector<std::string>(pieces.begin(), pieces.end());
}

Tokenizer::Tokenizer() : patterns_(std::make_unique<Patterns>()) {}
Tokenizer::~Tokenizer() = default;

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::Create(
    const model::TokenizerSpec& spec) {
  std::unique_ptr<Tokenizer> t(new Tokenizer);
  t->kind_ = spec.kind();
  if (t->kind_ != model::CHAR && t->kind_ != model::GPT2_BPE &&
      t->kind_ != model::SENTENCEPIECE_BPE && t->kind_ != model::WORDPIECE &&
      t->kind_ != model::UNIGRAM) {
    return absl::InvalidArgumentError("tokenizer: kind is not set");
  }
  const int n = spec.tokens_size();
  if (n == 0) return absl::InvalidArgumentError("tokenizer: no tokens");
  auto check_id = [&](const char* what, int32_t id) -> absl::Status {
    if (id < 0 || id >= n) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tokenizer: ", what, " id ", id, " is outside the vocabulary of ", n));
    }
    return absl::OkStatus();
  };
  if (spec.has_bos_id()) {
    SM_RETURN_IF_ERROR(check_id("bos", spec.bos_id()));
    t->bos_ = spec.bos_id();
  }
  if (spec.has_eos_id()) {
    SM_RETURN_IF_ERROR(check_id("eos", spec.eos_id()));
    t->eos_ = spec.eos_id();
    t->end_of_generation_.push_back(spec.eos_id());
  }
  if (spec.has_unknown_id()) {
    SM_RETURN_IF_ERROR(check_id("unknown", spec.unknown_id()));
    t->unknown_ = spec.unknown_id();
  }
  if (spec.has_separator_id()) {
    SM_RETURN_IF_ERROR(check_id("separator", spec.separator_id()));
    t->separator_ = spec.separator_id();
  }
  // EOS always ends generation, whatever the file lists.
  if (t->eos_) t->end_of_generation_.push_back(*t->eos_);
  for (int32_t id : spec.end_of_generation_ids()) {
    SM_RETURN_IF_ERROR(check_id("end-of-generation", id));
    if (!t->IsEndOfGeneration(id)) t->end_of_generation_.push_back(id);
  }
  t->add_bos_ = spec.add_bos() && t->bos_.has_value();
  const model::PreTokenizer& pre = spec.pre_tokenizer();
  t->add_space_prefix_ = !pre.has_add_space_prefix() || pre.add_space_prefix();
  t->ignore_merges_ = pre.ignore_merges();
  t->nfc_ = pre.nfc();
  t->bert_.lowercase = !pre.has_lowercase() || pre.lowercase();
  t->bert_.strip_accents = pre.has_strip_accents() ? pre.strip_accents() : t->bert_.lowercase;
  if (t->kind_ == model::UNIGRAM) {
    absl::StatusOr<SpmNormalizer> spm = SpmNormalizer::Create(
        pre.precompiled_charsmap(), t->add_space_prefix_,
        !pre.has_remove_extra_whitespaces() || pre.remove_extra_whitespaces());
    if (!spm.ok()) return core::Prefixed(spm.status(), "tokenizer");
    t->spm_ = std::make_unique<SpmNormalizer>(*std::move(spm));
  }
  for (const std::string& p : pre.split_patterns()) {
    SM_ASSIGN_OR_RETURN(std::unique_ptr<icu::RegexPattern> compiled, Compile(p));
    t->patterns_->list.push_back(std::move(compiled));
  }
  if (t->kind_ == model::GPT2_BPE && t->patterns_->list.empty()) {
    SM_ASSIGN_OR_RETURN(std::vector<std::string> gpt2, PreTokenizerPatterns("gpt-2"));
    SM_ASSIGN_OR_RETURN(std::unique_ptr<icu::RegexPattern> compiled, Compile(gpt2[0]));
    t->patterns_->list.push_back(std::move(compiled));
  }
  t->scores_.assign(spec.scores().begin(), spec.scores().end());
  t->scores_.resize(n, 0.0f);
  t->is_control_.resize(n, false);
  std::fill(std::begin(t->byte_ids_), std::end(t->byte_ids_), -1);
  if (t->kind_ == model::UNIGRAM) t->in_lattice_.resize(n, false);
  std::optional<float> lowest_score;  // of the lattice's normal pieces
  const ByteTable& bytes = Bytes();
  for (int id = 0; id < n; ++id) t->texts_.Add(spec.tokens(id));
  t->ids_.reserve(n);
  std::string piece;
  for (int id = 0; id < n; ++id) {
    const std::string& token = spec.tokens(id);
    t->ids_.emplace(t->texts_[id], id);
    const model::TokenType type = id < spec.token_types_size() ? spec.token_types(id) : model::NORMAL;
    const bool control = type == model::CONTROL || (t->bos_ && *t->bos_ == id) ||
                         (t->eos_ && *t->eos_ == id) || (t->separator_ && *t->separator_ == id);
    t->is_control_[id] = control;
    if ((type == model::CONTROL || type == model::USER_DEFINED) && !token.empty() && t->kind_ != model::CHAR) {
      t->added_.emplace(token, id);
      t->longest_added_ = std::max(t->longest_added_, token.size());
    }
    piece.clear();
    if (control) {
      t->pieces_.Add(piece);
      continue;
    }
    if (t->kind_ == model::UNIGRAM && !token.empty() &&
        (type == model::NORMAL || type == model::USER_DEFINED ||
         type == model::TOKEN_TYPE_UNSPECIFIED)) {
      if (type != model::USER_DEFINED) {
        lowest_score = std::min(lowest_score.value_or(t->scores_[id]), t->scores_[id]);
      }
      t->in_lattice_[id] = true;
      t->longest_lattice_piece_ = std::max(t->longest_lattice_piece_, token.size());
    }
    if (type == model::USER_DEFINED) {
      piece = t->kind_ == model::SENTENCEPIECE_BPE || t->kind_ == model::UNIGRAM
                  ? absl::StrReplaceAll(token, {{kSpaceMarker, " "}})
                  : token;
    } else if (t->kind_ == model::GPT2_BPE) {
      for (size_t i = 0; i < token.size();) {
        const size_t len = CharLength(token, i);
        auto it = bytes.to_byte.find(DecodeChar(token, i, len));
        if (it != bytes.to_byte.end()) {
          piece.push_back(static_cast<char>(it->second));
        } else {
          piece.append(token, i, len);
        }
        i += len;
      }
    } else if (t->kind_ == model::WORDPIECE) {
      // A word's first piece carries the marker of the space before it.
      piece = absl::StartsWith(token, kSpaceMarker)
                  ? absl::StrCat(" ", absl::string_view(token).substr(kSpaceMarker.size()))
                  : token;
    } else if (t->kind_ == model::SENTENCEPIECE_BPE || t->kind_ == model::UNIGRAM) {
      unsigned byte = 0;
      if (token.size() == 6 && token.compare(0, 3, "<0x") == 0 && token[5] == '>' &&
          absl::SimpleHexAtoi(absl::string_view(token).substr(3, 2), &byte)) {
        piece = std::string(1, static_cast<char>(byte));
        if (t->byte_ids_[byte] < 0) t->byte_ids_[byte] = id;
      } else {
        piece = absl::StrReplaceAll(token, {{kSpaceMarker, " "}});
      }
    } else {
      piece = token;
    }
    t->max_piece_bytes_ = std::max(t->max_piece_bytes_, piece.size());
    t->pieces_.Add(piece);
  }
  constexpr float kUnknownPenalty = 10.0f;
  t->unknown_score_ = lowest_score.value_or(0.0f) - kUnknownPenalty;
  for (int r = 0; r < spec.merges_size(); ++r) {
    const std::string& merge = spec.merges(r);
    const size_t space = merge.find(' ');
    if (space == std::string::npos || space == 0 || space + 1 == merge.size() ||
        merge.find(' ', space + 1) != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("tokenizer: merge ", r, " \"", merge, "\" is not \"left right\""));
    }
    const std::optional<int32_t> left = t->Find(absl::string_view(merge).substr(0, space));
    const std::optional<int32_t> right = t->Find(absl::string_view(merge).substr(space + 1));
    const std::optional<int32_t> merged =
        t->Find(absl::StrCat(merge.substr(0, space), merge.substr(space + 1)));
    // A merge whose parts or result the vocabulary lacks can never apply.
    if (!left || !right || !merged) continue;
    t->merges_.emplace(PairKey(*left, *right), std::make_pair(r, *merged));
  }
  if (t->kind_ == model::GPT2_BPE && spec.merges_size() == 0 && n > 256) {
    return absl::InvalidArgumentError("tokenizer: byte-level BPE without merges");
  }
  return t;
}

bool Tokenizer::IsEndOfGeneration(int32_t id) const {
  return std::find(end_of_generation_.begin(), end_of_generation_.end(), id) !=
         end_of_generation_.end();
}

std::optional<int32_t> Tokenizer::Find(absl::string_view token) const {
  auto it = ids_.find(token);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

absl::StatusOr<std::vector<int32_t>> Tokenizer::Encode(absl::string_view text, bool add_bos,
                                                       bool parse_special) const {
  std::vector<int32_t> ids;
  if (add_bos && bos_) ids.push_back(*bos_);
  // Cut out added tokens, leftmost and longest first; the text between
  // them is tokenized on its own.
  bool first = true;  // at the start, or just after an added token
  size_t done = 0;
  for (size_t i = 0; i < text.size() && longest_added_ > 0;) {
    std::optional<int32_t> match;
    size_t length = 0;
    for (size_t len = std::min(longest_added_, text.size() - i); len > 0; --len) {
      auto it = added_.find(text.substr(i, len));
      if (it != added_.end() && (parse_special || !is_control_[it->second])) {
        match = it->second;
        length = len;
        break;
      }
    }
    if (!match) {
      ++i;
      continue;
    }
    if (i > done) SM_RETURN_IF_ERROR(EncodeText(text.substr(done, i - done), first, &ids));
    ids.push_back(*match);
    first = true;
    i += length;
    done = i;
  }
  if (done < text.size()) SM_RETURN_IF_ERROR(EncodeText(text.substr(done), first, &ids));
  if (add_bos && bos_ && kind_ == model::WORDPIECE && separator_) ids.push_back(*separator_);
  return ids;
}

absl::StatusOr<std::vector<int32_t>> Tokenizer::EncodePair(absl::string_view first,
                                                           absl::string_view second,
                                                           size_t* second_start) const {
  // What closes a segment: [SEP], or RoBERTa's </s> (its separator, which
  // llama.cpp's converter writes as EOS too).
  std::optional<int32_t> close = kind_ == model::WORDPIECE ? separator_
                                 : kind_ == model::UNIGRAM ? eos_
                                                           : std::nullopt;
  if (!bos_ || !close) {
    return absl::FailedPreconditionError(
        "text pairs need a WordPiece vocabulary with [CLS] and [SEP] tokens or a Unigram one "
        "with <s> and </s>");
  }
  SM_ASSIGN_OR_RETURN(std::vector<int32_t> ids, Encode(first, true, true));
  if (kind_ == model::UNIGRAM) {
    ids.push_back(*close);
    ids.push_back(separator_.value_or(*close));
  }
  *second_start = ids.size();
  SM_ASSIGN_OR_RETURN(std::vector<int32_t> rest, Encode(second, false, true));
  ids.insert(ids.end(), rest.begin(), rest.end());
  ids.push_back(*close);
  return ids;
}

absl::Status Tokenizer::EncodeText(absl::string_view text, bool first,
                                   std::vector<int32_t>* ids) const {
  std::string normalized;
  if (nfc_) {
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(status);
    const icu::UnicodeString u = icu::UnicodeString::fromUTF8(
        icu::StringPiece(text.data(), static_cast<int32_t>(text.size())));
    // Invalid UTF-8 would come back changed: such text is left as it is.
    std::string round_trip;
    u.toUTF8String(round_trip);
    if (U_SUCCESS(status) && round_trip == text && !nfc->isNormalized(u, status)) {
      nfc->normalize(u, status).toUTF8String(normalized);
      text = normalized;
    }
  }
  switch (kind_) {
    case model::CHAR: return EncodeChar(text, ids);
    case model::GPT2_BPE: return EncodeByteLevel(text, ids);
    case model::WORDPIECE: return EncodeWordPiece(text, ids);
    case model::UNIGRAM: return EncodeUnigram(text, ids);
    default: return EncodeSentencePiece(text, first, ids);
  }
}

absl::Status Tokenizer::EncodeChar(absl::string_view text, std::vector<int32_t>* ids) const {
  for (size_t i = 0; i < text.size();) {
    const size_t n = CharLength(text, i);
    if (std::optional<int32_t> id = Find(text.substr(i, n))) {
      ids->push_back(*id);
    } else {
      for (size_t k = 0; k < n; ++k) {
        std::optional<int32_t> byte = Find(text.substr(i + k, 1));
        if (!byte) {
          return absl::InvalidArgumentError(absl::StrFormat(
              "the character \"%s\" at byte %d has no token in this vocabulary",
              text.substr(i, n), i));
        }
        ids->push_back(*byte);
      }
    }
    i += n;
  }
  return absl::OkStatus();
}

absl::Status Tokenizer::EncodeByteLevel(absl::string_view text,
                                        std::vector<int32_t>* ids) const {
  std::vector<absl::string_view> words = {text};
  for (const auto& pattern : patterns_->list) words = Split(words, *pattern);
  const ByteTable& bytes = Bytes();
  auto merge = [&](int32_t left, int32_t right, size_t,
                   size_t) -> std::optional<std::pair<double, int32_t>> {
    auto it = merges_.find(PairKey(left, right));
    if (it == merges_.end()) return std::nullopt;
    return std::make_pair(static_cast<double>(it->second.first), it->second.second);
  };
  std::string encoded;
  for (absl::string_view word : words) {
    encoded = Gpt2EncodeBytes(word);
    if (ignore_merges_) {
      if (std::optional<int32_t> whole = Find(encoded)) {
        ids->push_back(*whole);
        continue;
      }
    }
    std::vector<Symbol> symbols;
    for (size_t i = 0; i < word.size(); ++i) {
      std::string ch;
      AppendUtf8(bytes.to_cp[static_cast<uint8_t>(word[i])], &ch);
      const std::optional<int32_t> id = Find(ch);
      if (!id) {
        return absl::InvalidArgumentError(absl::StrCat(
            "the byte 0x", absl::Hex(static_cast<uint8_t>(word[i]), absl::kZeroPad2),
            " has no token in this byte-level vocabulary"));
      }
      symbols.push_back({*id, i, 1, 0, 0});
    }
    for (const Symbol& s : MergeByRank(std::move(symbols), merge)) ids->push_back(s.id);
  }
  return absl::OkStatus();
}

absl::Status Tokenizer::EncodeSentencePiece(absl::string_view text, bool first,
                                            std::vector<int32_t>* ids) const {
  if (text.empty()) return absl::OkStatus();
  std::string marked;
  if (first && add_space_prefix_) absl::StrAppend(&marked, kSpaceMarker);
  for (char c : text) {
    if (c == ' ') {
      absl::StrAppend(&marked, kSpaceMarker);
    } else {
      marked += c;
    }
  }
  std::vector<Symbol> symbols;
  for (size_t i = 0; i < marked.size();) {
    const size_t len = CharLength(marked, i);
    const std::optional<int32_t> id = Find(absl::string_view(marked).substr(i, len));
    symbols.push_back({id.value_or(-1), i, len, 0, 0});
    i += len;
  }
  // Ranked merges when the vocabulary has them (Hugging Face's BPE), else
  // the merged token's score (SentencePiece's), highest first.
  const absl::string_view all(marked);
  auto merge = [&](int32_t left, int32_t right, size_t start,
                   size_t length) -> std::optional<std::pair<double, int32_t>> {
    if (!merges_.empty()) {
      auto it = merges_.find(PairKey(left, right));
      if (it == merges_.end()) return std::nullopt;
      return std::make_pair(static_cast<double>(it->second.first), it->second.second);
    }
    const std::optional<int32_t> id = Find(all.substr(start, length));
    if (!id || is_control_[*id]) return std::nullopt;
    return std::make_pair(-static_cast<double>(scores_[*id]), *id);
  };
  for (const Symbol& s : MergeByRank(std::move(symbols), merge)) {
    if (s.id >= 0) {
      ids->push_back(s.id);
    } else {
      SM_RETURN_IF_ERROR(EncodeUnknown(all.substr(s.start, s.length), ids));
    }
  }
  return absl::OkStatus();
}

absl::Status Tokenizer::EncodeUnknown(absl::string_view marked, std::vector<int32_t>* ids) const {
  for (char byte : marked) {
    const uint8_t c = static_cast<uint8_t>(byte);
    if (byte_ids_[c] >= 0) {
      ids->push_back(byte_ids_[c]);
    } else if (unknown_) {
      ids->push_back(*unknown_);
      break;  // one unknown token for it all
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "\"", marked, "\" has no token and the vocabulary has no <0x",
          absl::Hex(c, absl::kZeroPad2), "> byte token"));
    }
  }
  return absl::OkStatus();
}

// SentencePiece's Unigram: over the normalised text, the best-scoring path
// through every vocabulary piece that matches at each character, a
// character no one-character piece covers standing alone at the unknown
// score. Ties go to the first path found (shorter pieces first), as
// SentencePiece's lattice has it; a run of unknown characters is one unknown.
absl::Status Tokenizer::EncodeUnigram(absl::string_view text, std::vector<int32_t>* ids) const {
  const std::string normalized = spm_->Normalize(text);
  const absl::string_view all(normalized);
  const size_t n = all.size();
  // As SentencePiece's lattice: a path's score is kept as a float, and a
  // candidate (a piece's score plus the float before it, in double) beats
  // it when greater. Paths that tie in exact arithmetic (the same pieces
  // in another order) are told apart by that rounding, the same way.
  struct Node {
    float score = 0;
    size_t from = 0;   // where the last piece of the best path to here starts
    int32_t id = -1;   // that piece; -1 for an unknown character
    bool reached = false;
  };
  std::vector<Node> best(n + 1);
  best[0].reached = true;
  const auto relax = [&](size_t from, size_t to, float score, int32_t id) {
    Node& node = best[to];
    const double total = double{score} + best[from].score;
    if (!node.reached || total > node.score) node = {static_cast<float>(total), from, id, true};
  };
  for (size_t i = 0; i < n;) {
    const size_t char_length = CharLength(all, i);
    bool one_character = false;
    for (size_t end = i + char_length; end - i <= longest_lattice_piece_;) {
      if (std::optional<int32_t> id = Find(all.substr(i, end - i)); id && in_lattice_[*id]) {
        relax(i, end, scores_[*id], *id);
        one_character |= end == i + char_length;
      }
      if (end >= n) break;
      end += CharLength(all, end);
    }
    if (!one_character) relax(i, i + char_length, unknown_score_, -1);
    i += char_length;
  }
  // The path backwards: (start, id) of each piece.
  std::vector<std::pair<size_t, int32_t>> path;
  for (size_t at = n; at > 0; at = best[at].from) path.emplace_back(best[at].from, best[at].id);
  for (size_t k = path.size(); k-- > 0;) {
    const auto [start, id] = path[k];
    if (id >= 0) {
      ids->push_back(id);
      continue;
    }
    size_t end = k == 0 ? n : path[k - 1].first;
    while (k > 0 && path[k - 1].second < 0) {
      --k;
      end = k == 0 ? n : path[k - 1].first;
    }
    SM_RETURN_IF_ERROR(EncodeUnknown(all.substr(start, end - start), ids));
  }
  return absl::OkStatus();
}

// Hugging Face's WordPiece: within each word, the longest piece in the
// vocabulary from the left, again and again; a word with a remainder no
// piece matches, or of more than 100 characters, is one unknown token.
absl::Status Tokenizer::EncodeWordPiece(absl::string_view text,
                                        std::vector<int32_t>* ids) const {
  constexpr size_t kMaxWordChars = 100;
  std::vector<size_t> starts;  // byte offsets of the word's characters
  std::string key;
  for (const std::string& word : BertWords(text, bert_)) {
    starts.clear();
    for (size_t i = 0; i < word.size(); i += CharLength(word, i)) starts.push_back(i);
    const size_t n = starts.size();
    starts.push_back(word.size());
    const size_t before = ids->size();
    bool known = n <= kMaxWordChars;
    for (size_t begin = 0; known && begin < n;) {
      size_t end = n;
      for (; end > begin; --end) {
        key.assign(begin == 0 ? kSpaceMarker.data() : "", begin == 0 ? kSpaceMarker.size() : 0);
        key.append(word, starts[begin], starts[end] - starts[begin]);
        if (std::optional<int32_t> id = Find(key); id && !is_control_[*id]) {
          ids->push_back(*id);
          break;
        }
      }
      known = end > begin;
      begin = end;
    }
    if (known) continue;
    if (!unknown_) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the word \"", word, "\" has no pieces in this vocabulary and it has no unknown token"));
    }
    ids->resize(before);
    ids->push_back(*unknown_);
  }
  return absl::OkStatus();
}

std::string Tokenizer::Decode(absl::Span<const int32_t> ids) const {
  std::string out;
  bool after_start = true;  // at the start, or just after BOS
  for (int32_t id : ids) {
    if (id < 0 || id >= vocab_size()) continue;
    absl::string_view piece = pieces_[id];
    const bool space_marked =
        ((kind_ == model::SENTENCEPIECE_BPE || kind_ == model::UNIGRAM) && add_space_prefix_) ||
        kind_ == model::WORDPIECE;
    if (space_marked && after_start && !piece.empty() && piece[0] == ' ') {
      piece.remove_prefix(1);
    }
    after_start = bos_ && id == *bos_;
    out.append(piece.data(), piece.size());
  }
  return out;
}

}  // namespace smallmind::text
