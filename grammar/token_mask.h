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
  const std::vector<Node>& nodes() const { return nodes_; }
  const std::vector<int32_t>& token_ids() const { return ids_; }
  int32_t vocab_size() const { return vocab_size_; }

 private:
  void Build(uint32_t node, size_t lo, size_t hi, size_t depth,
             absl::FunctionRef<absl::string_view(int32_t)> piece);

  std::vector<Node> nodes_;
  std::vector<int32_t> ids_;  // sorted by piece
  int32_t vocab_size_;
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

  void Walk(uint32_t node, int32_t state);
  // The number of `state`, numbering it if new.
  int32_t Number(const MatchState& state);
  int32_t Next(int32_t state, uint8_t byte);

  const TokenTrie* trie_;
  Matcher stepper_;  // for its Step
  std::vector<uint64_t>* allowed_ = nullptr;
  // Masks by state number (-1: none yet), in masks_.
  std::vector<int32_t> mask_of_;
  std::vector<std::vector<uint64_t>> masks_;
  // The states met, their numbers by content, and their steps by byte.
  std::vector<MatchState> states_;
  absl::flat_hash_map<std::string, int32_t> numbers_;
  std::vector<std::array<int32_t, 256>> next_;
  MatchState scratch_;
  std::string key_;
};

}  // namespace smallmind::grammar

#endif  // SMALLMIND_GRAMMAR_TOKEN_MASK_H_
