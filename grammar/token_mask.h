// Which tokens of a vocabulary a grammar allows next. The vocabulary's
// pieces are kept as a byte trie, so tokens sharing a prefix share the
// matcher's steps over it and a rejected prefix prunes every token below
// it. The walk meets the same few matcher states over and over (inside a
// JSON string every ordinary byte leads back to one state), so states are
// numbered as they are met and each one's step by a byte is computed once,
// after which it is a table lookup. Masks are remembered per numbered
// state, for as long as the TokenMask lives: one per grammar, shared by
// every generation of it (a server answering many requests of one schema
// computes each state's mask once).
//
// A state that most bytes leave where it was (inside a JSON string: every
// character but a quote, a backslash or a control character) allows most of
// the vocabulary, and walking all of it would visit every node of the trie.
// Such a state's mask starts instead from word-wide set algebra over the
// trie's per-byte token sets (the tokens holding none of the bytes that
// leave the state), and the walk visits only the branches holding such a
// byte.
#ifndef SMALLMIND_GRAMMAR_TOKEN_MASK_H_
#define SMALLMIND_GRAMMAR_TOKEN_MASK_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"
#include "grammar/matcher.h"

namespace smallmind::grammar {

class TokenTrie {
 public:
  // `piece(id)` is the bytes of token id; tokens with no bytes (control
  // tokens) are left out: no grammar allows them.
  TokenTrie(int32_t vocab_size, absl::FunctionRef<absl::string_view(int32_t)> piece);

  struct Node {
    uint32_t first_child = 0, child_count = 0;  // children are contiguous
    uint32_t first_token = 0, token_count = 0;  // in token_ids(): tokens ending here
    uint8_t byte = 0;                           // the edge from the parent
  };
  // What the tokens at or below a node are made of.
  struct Contents {
    uint64_t ascii[2] = {0, 0};  // the ASCII bytes they hold
    bool non_ascii = false;      // whether one holds a byte past ASCII
    bool malformed = false;      // whether one is not UTF-8 (Utf8Reading's)
  };
  const std::vector<Node>& nodes() const { return nodes_; }
  const std::vector<Contents>& contents() const { return contents_; }  // by node
  const std::vector<int32_t>& token_ids() const { return ids_; }
  int32_t vocab_size() const { return vocab_size_; }

  // Sets of tokens, words() words of a bit per id (as TokenMask's masks).
  size_t words() const { return words_; }
  const uint64_t* holding(uint8_t ascii_byte) const { return &holding_[ascii_byte * words_]; }
  // The same as a list when few tokens hold the byte (control characters),
  // cheaper to take out of a set bit by bit than word by word; else null.
  const std::vector<int32_t>* few_holding(uint8_t ascii_byte) const {
    return few_[ascii_byte] ? &few_holding_[ascii_byte] : nullptr;
  }
  const uint64_t* spelled() const { return spelled_.data(); }  // with bytes
  const uint64_t* non_ascii() const { return non_ascii_.data(); }
  // Not well-formed UTF-8; a character cut short at the token's end is not
  // malformed (the next token may finish it).
  const uint64_t* malformed() const { return malformed_.data(); }

 private:
  void Build(uint32_t node, size_t lo, size_t hi, size_t depth,
             absl::FunctionRef<absl::string_view(int32_t)> piece);
  static void Add(const Contents& from, Contents* to);

  std::vector<Node> nodes_;
  std::vector<Contents> contents_;
  std::vector<int32_t> ids_;  // sorted by piece
  int32_t vocab_size_;
  size_t words_;
  std::vector<uint64_t> holding_;  // 128 sets, by ASCII byte
  std::array<bool, 128> few_;
  std::vector<std::vector<int32_t>> few_holding_;
  std::vector<uint64_t> spelled_, non_ascii_, malformed_;
};

class TokenMask {
 public:
  // Both must outlive the mask. Not thread-safe.
  TokenMask(const TokenTrie* trie, const Grammar* grammar);

  // A bit per token, set when its bytes can follow text that left a
  // matcher of the grammar in `state` (Allowed reads it). Valid until the
  // next call.
  const std::vector<uint64_t>& Compute(const MatchState& state);
  static bool Allowed(const std::vector<uint64_t>& bits, int32_t token) {
    return (bits[token >> 6] >> (token & 63)) & 1;
  }

 private:
  static constexpr int32_t kRejected = -1, kUnknown = -2;

  // A state's loops: the bytes after which it is as it was.
  struct Loops {
    bool known = false;
    uint64_t ascii[2] = {0, 0};
    bool non_ascii = false;  // every whole character past ASCII is one
    int count() const;
    // Whether tokens made of `tokens`' bytes are all made of loops.
    bool Cover(const TokenTrie::Contents& tokens) const;
  };
  const Loops& LoopsOf(int32_t state);
  // Whether every stack of `state` takes all of the characters past ASCII
  // or none of them.
  bool NonAsciiAlike(const MatchState& state) const;
  // Into *allowed_: the tokens made only of `loops`' bytes.
  void AddLooping(const Loops& loops);
  // Adds the tokens below `node` that `state` allows.
  void Walk(uint32_t node, int32_t state);
  // Adds the tokens ending at `node`, reached in `state`, and those below.
  void AddFrom(uint32_t node, int32_t state);
  // The same where the path to `node` is made of `state`'s loops (so still
  // in `state`, `reading` the character in progress): the tokens made only
  // of loops are in *allowed_ already and are skipped.
  void WalkLoops(uint32_t node, int32_t state, const Loops& loops, Utf8Reading reading);
  // The number of `state`, numbering it if new.
  int32_t Number(const MatchState& state);
  int32_t Next(int32_t state, uint8_t byte);

  const TokenTrie* trie_;
  const Grammar* grammar_;
  Matcher stepper_;  // for its Step
  // Each ASCII byte's stand-in: the lowest byte that every character class
  // of the grammar treats alike, whose steps it shares.
  std::array<uint8_t, 128> stand_in_;
  std::vector<uint64_t>* allowed_ = nullptr;
  // Masks by state number (-1: none yet), in masks_.
  std::vector<int32_t> mask_of_;
  std::vector<std::vector<uint64_t>> masks_;
  // The states met, their numbers by content, and their steps by byte.
  std::vector<MatchState> states_;
  absl::flat_hash_map<std::string, int32_t> numbers_;
  std::vector<std::array<int32_t, 256>> next_;
  std::vector<Loops> loops_;
  MatchState scratch_;
  std::string key_;
};

}  // namespace smallmind::grammar

#endif  // SMALLMIND_GRAMMAR_TOKEN_MASK_H_
