// Runs a Grammar over bytes as a pushdown automaton: the state is the set
// of rule stacks (positions to return to, the top one a character class to
// match next) that the text so far leaves open, plus the first bytes of a
// UTF-8 character not yet complete (those are checked against the code
// points they can still become). Only well-formed UTF-8 is accepted: an
// overlong form of '{' is not '{'. One Matcher per generation; not
// thread-safe (it keeps scratch space so stepping allocates nothing once
// warm).
#ifndef SMALLMIND_GRAMMAR_MATCHER_H_
#define SMALLMIND_GRAMMAR_MATCHER_H_

#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"
#include "grammar/grammar.h"

namespace smallmind::grammar {

// A UTF-8 character read a byte at a time, as the matcher reads text: only
// well-formed sequences pass (no overlong forms, no surrogates, nothing past
// U+10FFFF, no continuation byte out of place).
struct Utf8Reading {
  uint32_t value = 0;   // the character's bits so far
  uint8_t left = 0;     // continuation bytes it still needs (0: complete)
  uint8_t length = 0;   // its length in bytes

  // Reads `byte` after what was read so far (a fresh reading at a character
  // boundary); false when no well-formed character goes on so. [*lo, *hi]
  // are the code points the character can still become (one, once
  // complete).
  bool Read(uint8_t byte, uint32_t* lo, uint32_t* hi);
};

struct MatchState {
  // Stacks, each stored as its positions (bottom first, the top a kChars
  // element) followed by its length.
  std::vector<uint32_t> stacks;
  bool can_end = false;      // the text so far is a sentence of the grammar
  bool overflow = false;     // too many stacks (an ambiguous grammar): dead
  uint8_t partial_left = 0;  // continuation bytes the current character needs
  uint8_t partial_length = 0;  // its length in bytes
  uint32_t partial = 0;      // the bits of that character so far

  bool alive() const { return !overflow && (!stacks.empty() || can_end); }
  bool operator==(const MatchState& o) const {
    return stacks == o.stacks && can_end == o.can_end && overflow == o.overflow &&
           partial_left == o.partial_left && partial_length == o.partial_length &&
           partial == o.partial;
  }
};

class Matcher {
 public:
  // `grammar` must outlive the matcher.
  explicit Matcher(const Grammar* grammar);

  const MatchState& state() const { return state_; }
  // Advances past `bytes`; false (and no change) when the grammar rejects
  // them.
  bool Accept(absl::string_view bytes);
  // Whether Accept(bytes) would succeed.
  bool Accepts(absl::string_view bytes);
  // Whether the text so far is complete, and whether more may follow.
  bool CanEnd() const { return state_.can_end && state_.partial_left == 0; }
  bool CanContinue() const { return !state_.stacks.empty() && !state_.overflow; }

  // One byte from `in` into `out` (overwritten); false when rejected.
  bool Step(const MatchState& in, uint8_t byte, MatchState* out);

 private:
  bool Advance(const MatchState& in, uint32_t code_point, MatchState* out);
  // Expands the stacks queued in work_ until each top is a character class,
  // adding them to `out`.
  void Expand(MatchState* out);
  void Emit(MatchState* out);

  const Grammar* grammar_;
  MatchState state_;
  MatchState scratch_[2];
  std::vector<uint32_t> work_;   // queued stacks, each followed by its length
  std::vector<uint32_t> stack_;  // the one being expanded
};

}  // namespace smallmind::grammar

#endif  // SMALLMIND_GRAMMAR_MATCHER_H_
