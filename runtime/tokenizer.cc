#include "runtime/tokenizer.h"

#include <locale.h>
#include <wctype.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "core/status.h"

namespace smallmind::runtime {
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
  } else {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
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

enum class CharClass { kLetter, kNumber, kSpace, kOther };

CharClass Classify(uint32_t cp) {
  if (cp < 0x80) {
    if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z')) {
      return CharClass::kLetter;
    }
    if (cp >= '0' && cp <= '9') return CharClass::kNumber;
    if (cp == ' ' || (cp >= '\t' && cp <= '\r')) return CharClass::kSpace;
    return CharClass::kOther;
  }
  static const locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", nullptr);
  if (utf8 == nullptr) return CharClass::kLetter;
  const wint_t c = static_cast<wint_t>(cp);
  if (iswspace_l(c, utf8)) return CharClass::kSpace;
  if (iswdigit_l(c, utf8)) return CharClass::kNumber;
  if (iswalpha_l(c, utf8)) return CharClass::kLetter;
  return CharClass::kOther;
}

// Merges adjacent symbols, the pair with the lowest `rank` first (leftmost
// on ties), until `rank` allows no merge (returns nullopt for every pair).
template <typename RankFn>
void MergeByRank(std::vector<std::string>& symbols, const RankFn& rank) {
  while (symbols.size() > 1) {
    size_t best = 0;
    std::optional<double> best_rank;
    for (size_t i = 0; i + 1 < symbols.size(); ++i) {
      const std::optional<double> r = rank(symbols[i], symbols[i + 1]);
      if (r && (!best_rank || *r < *best_rank)) {
        best_rank = r;
        best = i;
      }
    }
    if (!best_rank) return;
    symbols[best] += symbols[best + 1];
    symbols.erase(symbols.begin() + best + 1);
  }
}

std::vector<std::string> SplitChars(absl::string_view text) {
  std::vector<std::string> chars;
  for (size_t i = 0; i < text.size();) {
    const size_t n = CharLength(text, i);
    chars.emplace_back(text.substr(i, n));
    i += n;
  }
  return chars;
}

}  // namespace

std::string Gpt2EncodeBytes(absl::string_view bytes) {
  std::string out;
  for (char c : bytes) AppendUtf8(Bytes().to_cp[static_cast<uint8_t>(c)], &out);
  return out;
}

std::vector<absl::string_view> Gpt2PreTokenize(absl::string_view text) {
  std::vector<absl::string_view> words;
  size_t i = 0;
  auto class_at = [&](size_t j) {
    return Classify(DecodeChar(text, j, CharLength(text, j)));
  };
  // End of the run of `cls` characters starting at j.
  auto run_end = [&](size_t j, CharClass cls) {
    while (j < text.size() && class_at(j) == cls) j += CharLength(text, j);
    return j;
  };
  while (i < text.size()) {
    const size_t start = i;
    if (text[i] == '\'') {
      absl::string_view rest = text.substr(i + 1);
      size_t n = 0;
      if (!rest.empty() && absl::string_view("stmd").find(rest[0]) !=
                               absl::string_view::npos) {
        n = 1;
      } else if (rest.size() >= 2 &&
                 (rest.substr(0, 2) == "re" || rest.substr(0, 2) == "ve" ||
                  rest.substr(0, 2) == "ll")) {
        n = 2;
      }
      if (n > 0) {
        words.push_back(text.substr(i, n + 1));
        i += n + 1;
        continue;
      }
    }
    size_t j = i;
    if (text[j] == ' ' && j + 1 < text.size() &&
        class_at(j + 1) != CharClass::kSpace) {
      ++j;  // the optional leading space of a letter, number or other run
    }
    const CharClass cls = class_at(j);
    if (cls != CharClass::kSpace) {
      i = run_end(j, cls);
    } else {
      const size_t end = run_end(j, CharClass::kSpace);
      // `\s+(?!\S)`: leave the last space for the next word when one follows.
      size_t last = end;
      if (end < text.size()) {
        size_t k = j, prev = j;
        while (k < end) {
          prev = k;
          k += CharLength(text, k);
        }
        last = prev;
      }
      i = last > j ? last : end;
    }
    words.push_back(text.substr(start, i - start));
  }
  return words;
}

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::Create(
    const TokenizerSpec& spec) {
  std::unique_ptr<Tokenizer> t(new Tokenizer);
  t->kind_ = spec.kind();
  if (t->kind_ != CHAR && t->kind_ != GPT2_BPE &&
      t->kind_ != SENTENCEPIECE_BPE) {
    return absl::InvalidArgumentError("tokenizer: kind is not set");
  }
  const int n = spec.tokens_size();
  if (n == 0) return absl::InvalidArgumentError("tokenizer: no tokens");
  auto check_id = [&](const char* what, bool has, int32_t id,
                      std::optional<int32_t>* out) -> absl::Status {
    if (!has) return absl::OkStatus();
    if (id < 0 || id >= n) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tokenizer: ", what, " id ", id, " is outside the vocabulary of ", n));
    }
    *out = id;
    return absl::OkStatus();
  };
  SM_RETURN_IF_ERROR(check_id("bos", spec.has_bos_id(), spec.bos_id(), &t->bos_));
  SM_RETURN_IF_ERROR(check_id("eos", spec.has_eos_id(), spec.eos_id(), &t->eos_));
  SM_RETURN_IF_ERROR(check_id("unknown", spec.has_unknown_id(),
                              spec.unknown_id(), &t->unknown_));
  t->add_bos_ = spec.add_bos() && t->bos_.has_value();
  t->scores_.assign(spec.scores().begin(), spec.scores().end());
  t->scores_.resize(n, 0.0f);
  t->is_control_.resize(n, false);
  std::fill(std::begin(t->byte_ids_), std::end(t->byte_ids_), -1);
  t->pieces_.resize(n);
  const ByteTable& bytes = Bytes();
  for (int id = 0; id < n; ++id) {
    const std::string& token = spec.tokens(id);
    t->ids_.emplace(token, id);
    const TokenType type =
        id < spec.token_types_size() ? spec.token_types(id) : NORMAL;
    const bool control = type == CONTROL || (t->bos_ && *t->bos_ == id) ||
                         (t->eos_ && *t->eos_ == id);
    t->is_control_[id] = control;
    if (control) continue;
    std::string& piece = t->pieces_[id];
    switch (t->kind_) {
      case GPT2_BPE:
        for (size_t i = 0; i < token.size();) {
          const size_t len = CharLength(token, i);
          const uint32_t cp = DecodeChar(token, i, len);
          auto it = bytes.to_byte.find(cp);
          if (it != bytes.to_byte.end() && len > 0) {
            piece.push_back(static_cast<char>(it->second));
          } else {
            piece.append(token, i, len);
          }
          i += len;
        }
        break;
      case SENTENCEPIECE_BPE: {
        unsigned byte = 0;
        if (token.size() == 6 && token.compare(0, 3, "<0x") == 0 &&
            token[5] == '>' &&
            absl::SimpleHexAtoi(absl::string_view(token).substr(3, 2), &byte)) {
          piece = std::string(1, static_cast<char>(byte));
          if (t->byte_ids_[byte] < 0) t->byte_ids_[byte] = id;
        } else {
          piece = absl::StrReplaceAll(token, {{kSpaceMarker, " "}});
        }
        break;
      }
      default:
        piece = token;
    }
    t->max_piece_bytes_ = std::max(t->max_piece_bytes_, piece.size());
  }
  for (int r = 0; r < spec.merges_size(); ++r) {
    const std::string& merge = spec.merges(r);
    const size_t space = merge.find(' ');
    if (space == std::string::npos || space == 0 || space + 1 == merge.size() ||
        merge.find(' ', space + 1) != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tokenizer: merge ", r, " \"", merge, "\" is not \"left right\""));
    }
    t->merge_ranks_.emplace(merge, r);
  }
  if (t->kind_ == GPT2_BPE && t->merge_ranks_.empty() && n > 256) {
    return absl::InvalidArgumentError("tokenizer: GPT-2 BPE without merges");
  }
  return t;
}

std::optional<int32_t> Tokenizer::Find(absl::string_view token) const {
  auto it = ids_.find(token);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

absl::StatusOr<std::vector<int32_t>> Tokenizer::Encode(absl::string_view text,
                                                       bool add_bos) const {
  std::vector<int32_t> ids;
  if (add_bos && bos_) ids.push_back(*bos_);
  switch (kind_) {
    case CHAR: SM_RETURN_IF_ERROR(EncodeChar(text, &ids)); break;
    case GPT2_BPE: SM_RETURN_IF_ERROR(EncodeGpt2(text, &ids)); break;
    default: SM_RETURN_IF_ERROR(EncodeSentencePiece(text, &ids)); break;
  }
  return ids;
}

absl::Status Tokenizer::EncodeChar(absl::string_view text,
                                   std::vector<int32_t>* ids) const {
  for (size_t i = 0; i < text.size();) {
    const size_t n = CharLength(text, i);
    if (std::optional<int32_t> id = Find(text.substr(i, n))) {
      ids->push_back(*id);
    } else {
      for (size_t k = 0; k < n; ++k) {
        std::optional<int32_t> byte = Find(text.substr(i + k, 1));
        if (!byte) {
          return absl::InvalidArgumentError(absl::StrFormat(
              "the character \"%s\" at byte %d has no token in this "
              "vocabulary", text.substr(i, n), i));
        }
        ids->push_back(*byte);
      }
    }
    i += n;
  }
  return absl::OkStatus();
}

absl::Status Tokenizer::EncodeGpt2(absl::string_view text,
                                   std::vector<int32_t>* ids) const {
  std::string key;
  auto rank = [&](const std::string& a,
                  const std::string& b) -> std::optional<double> {
    key.assign(a).append(" ").append(b);
    auto it = merge_ranks_.find(key);
    if (it == merge_ranks_.end()) return std::nullopt;
    return it->second;
  };
  for (absl::string_view word : Gpt2PreTokenize(text)) {
    std::vector<std::string> symbols = SplitChars(Gpt2EncodeBytes(word));
    MergeByRank(symbols, rank);
    for (const std::string& s : symbols) {
      std::optional<int32_t> id = Find(s);
      if (!id) id = unknown_;
      if (!id) {
        return absl::InvalidArgumentError(
            absl::StrCat("the text \"", word, "\" has no token for \"", s,
                         "\" in this vocabulary"));
      }
      ids->push_back(*id);
    }
  }
  return absl::OkStatus();
}

absl::Status Tokenizer::EncodeSentencePiece(absl::string_view text,
                                            std::vector<int32_t>* ids) const {
  if (text.empty()) return absl::OkStatus();
  const std::string marked = absl::StrReplaceAll(
      absl::StrCat(" ", text), {{" ", std::string(kSpaceMarker)}});
  std::vector<std::string> symbols = SplitChars(marked);
  // Highest score first: llama's vocabularies store merges as scored tokens.
  std::string joined;
  auto rank = [&](const std::string& a,
                  const std::string& b) -> std::optional<double> {
    joined.assign(a).append(b);
    std::optional<int32_t> id = Find(joined);
    if (!id || is_control_[*id]) return std::nullopt;
    return -scores_[*id];
  };
  MergeByRank(symbols, rank);
  for (const std::string& s : symbols) {
    if (std::optional<int32_t> id = Find(s)) {
      ids->push_back(*id);
      continue;
    }
    for (char c : s) {
      const int32_t byte = byte_ids_[static_cast<uint8_t>(c)];
      if (byte >= 0) {
        ids->push_back(byte);
      } else if (unknown_) {
        ids->push_back(*unknown_);
      } else {
        return absl::InvalidArgumentError(absl::StrCat(
            "\"", s, "\" has no token and the vocabulary has no <0x",
            absl::Hex(static_cast<uint8_t>(c), absl::kZeroPad2),
            "> byte token"));
      }
    }
  }
  return absl::OkStatus();
}

std::string Tokenizer::Decode(absl::Span<const int32_t> ids) const {
  std::string out;
  bool after_start = true;  // at the start, or just after BOS
  for (int32_t id : ids) {
    if (id < 0 || id >= vocab_size()) continue;
    absl::string_view piece = pieces_[id];
    if (kind_ == SENTENCEPIECE_BPE && after_start && !piece.empty() &&
        piece[0] == ' ') {
      piece.remove_prefix(1);
    }
    after_start = bos_ && id == *bos_;
    out.append(piece.data(), piece.size());
  }
  return out;
}

}  // namespace smallmind::runtime
