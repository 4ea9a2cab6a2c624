#include "grammar/token_mask.h"

#include <algorithm>
#include <map>

namespace smallmind::grammar {
namespace {

// Masks remembered (a bit per token: 19 KiB for 152k tokens): the states
// the documents of one schema keep coming back to.
constexpr size_t kCachedMasks = 1024;
// Numbered states kept (1 KiB of steps each), beyond which the numbering,
// and the masks, start over.
constexpr size_t kNumberedStates = 1 << 14;
// From this many looping ASCII bytes on, a state's mask starts from the set
// algebra (a pass over the words per byte that does not loop) rather than
// from a walk that would visit most of the trie.
constexpr int kManyLoops = 32;

// A byte is held by "few" tokens when by at most one per this many words
// of a set: taking those out bit by bit beats a pass over the words.
constexpr size_t kFewPerWords = 16;

void SetBit(uint64_t* bits, uint32_t i) { bits[i >> 6] |= uint64_t{1} << (i & 63); }
void ClearBit(uint64_t* bits, uint32_t i) { bits[i >> 6] &= ~(uint64_t{1} << (i & 63)); }
bool HasBit(const uint64_t* bits, uint32_t i) { return (bits[i >> 6] >> (i & 63)) & 1; }

}  // namespace

TokenTrie::TokenTrie(int32_t vocab_size, absl::FunctionRef<absl::string_view(int32_t)> piece)
    : vocab_size_(vocab_size), words_((static_cast<size_t>(vocab_size) + 63) / 64) {
  holding_.assign(128 * words_, 0);
  spelled_.assign(words_, 0);
  non_ascii_.assign(words_, 0);
  malformed_.assign(words_, 0);
  std::vector<Contents> of_token(vocab_size);
  for (int32_t id = 0; id < vocab_size; ++id) {
    const absl::string_view bytes = piece(id);
    if (bytes.empty()) continue;
    ids_.push_back(id);
    SetBit(spelled_.data(), id);
    Contents& c = of_token[id];
    Utf8Reading reading;
    uint32_t lo, hi;
    for (char ch : bytes) {
      const uint8_t byte = static_cast<uint8_t>(ch);
      if (byte < 128) {
        SetBit(c.ascii, byte);
        SetBit(&holding_[byte * words_], id);
      } else {
        c.non_ascii = true;
      }
      c.malformed |= !reading.Read(byte, &lo, &hi);
    }
    if (c.non_ascii) SetBit(non_ascii_.data(), id);
    if (c.malformed) SetBit(malformed_.data(), id);
  }
  few_holding_.resize(128);
  for (int b = 0; b < 128; ++b) {
    const uint64_t* set = &holding_[b * words_];
    size_t count = 0;
    for (size_t i = 0; i < words_; ++i) count += __builtin_popcountll(set[i]);
    few_[b] = count <= words_ / kFewPerWords;
    if (!few_[b]) continue;
    for (size_t i = 0; i < words_; ++i) {
      for (uint64_t w = set[i]; w != 0; w &= w - 1) {
        few_holding_[b].push_back(static_cast<int32_t>(i * 64 + __builtin_ctzll(w)));
      }
    }
  }
  std::stable_sort(ids_.begin(), ids_.end(),
                   [&](int32_t a, int32_t b) { return piece(a) < piece(b); });
  nodes_.emplace_back();
  Build(0, 0, ids_.size(), 0, piece);
  // Children come after their parents: summing from the back sees every
  // child before its parent.
  contents_.resize(nodes_.size());
  for (size_t i = nodes_.size(); i-- > 0;) {
    const Node& n = nodes_[i];
    Contents& c = contents_[i];
    for (uint32_t k = n.first_child; k < n.first_child + n.child_count; ++k) {
      Add(contents_[k], &c);
    }
    for (uint32_t t = n.first_token; t < n.first_token + n.token_count; ++t) {
      Add(of_token[ids_[t]], &c);
    }
  }
}

void TokenTrie::Add(const Contents& from, Contents* to) {
  to->ascii[0] |= from.ascii[0];
  to->ascii[1] |= from.ascii[1];
  to->non_ascii |= from.non_ascii;
  to->malformed |= from.malformed;
}

// ids_[lo, hi) share their first `depth` bytes, the path to `node`.
void TokenTrie::Build(uint32_t node, size_t lo, size_t hi, size_t depth,
                      absl::FunctionRef<absl::string_view(int32_t)> piece) {
  size_t i = lo;
  while (i < hi && piece(ids_[i]).size() == depth) ++i;  // sorted: these come first
  nodes_[node].first_token = static_cast<uint32_t>(lo);
  nodes_[node].token_count = static_cast<uint32_t>(i - lo);
  // One child per distinct next byte, laid out together before recursing.
  std::vector<std::pair<size_t, size_t>> groups;
  while (i < hi) {
    const char byte = piece(ids_[i])[depth];
    size_t j = i;
    while (j < hi && piece(ids_[j])[depth] == byte) ++j;
    groups.push_back({i, j});
    i = j;
  }
  const uint32_t first = static_cast<uint32_t>(nodes_.size());
  nodes_[node].first_child = first;
  nodes_[node].child_count = static_cast<uint32_t>(groups.size());
  nodes_.resize(nodes_.size() + groups.size());
  for (size_t g = 0; g < groups.size(); ++g) {
    nodes_[first + g].byte = static_cast<uint8_t>(piece(ids_[groups[g].first])[depth]);
    Build(first + static_cast<uint32_t>(g), groups[g].first, groups[g].second, depth + 1, piece);
  }
}

TokenMask::TokenMask(const TokenTrie* trie, const Grammar* grammar)
    : trie_(trie), grammar_(grammar), stepper_(grammar) {
  // Bytes alike to every class step alike: group them by their membership.
  std::map<std::vector<bool>, uint8_t> first_of;
  for (int b = 0; b < 128; ++b) {
    std::vector<bool> membership(grammar->class_count());
    for (size_t k = 0; k < membership.size(); ++k) {
      membership[k] = grammar->char_class(static_cast<uint32_t>(k)).Matches(b);
    }
    stand_in_[b] = first_of.emplace(std::move(membership), b).first->second;
  }
}

int32_t TokenMask::Number(const MatchState& state) {
  key_.assign(reinterpret_cast<const char*>(state.stacks.data()),
              state.stacks.size() * sizeof(uint32_t));
  key_ += static_cast<char>(state.can_end | state.overflow << 1);
  key_ += static_cast<char>(state.partial_left);
  key_ += static_cast<char>(state.partial_length);
  key_.append(reinterpret_cast<const char*>(&state.partial), sizeof(state.partial));
  auto [it, inserted] = numbers_.emplace(key_, static_cast<int32_t>(states_.size()));
  if (inserted) {
    states_.push_back(state);
    next_.emplace_back().fill(kUnknown);
    loops_.emplace_back();
    mask_of_.push_back(-1);
  }
  return it->second;
}

int32_t TokenMask::Next(int32_t state, uint8_t byte) {
  if (byte < 128) byte = stand_in_[byte];
  int32_t& next = next_[state][byte];
  if (next == kUnknown) {
    // `next` may move while numbering a new state: write through the index.
    const int32_t found =
        stepper_.Step(states_[state], byte, &scratch_) ? Number(scratch_) : kRejected;
    next_[state][byte] = found;
    return found;
  }
  return next;
}

int TokenMask::Loops::count() const {
  return __builtin_popcountll(ascii[0]) + __builtin_popcountll(ascii[1]);
}

bool TokenMask::NonAsciiAlike(const MatchState& state) const {
  // Surrogates are never read, so the classes may differ on them.
  constexpr uint32_t kBelow[2] = {0x80, 0xE000}, kAbove[2] = {0xD7FF, 0x10FFFF};
  for (size_t end = state.stacks.size(); end > 0;) {
    const CharClass& c = grammar_->char_class(grammar_->elements()[state.stacks[end - 2]].value);
    bool all = true, any = false;
    for (int r = 0; r < 2; ++r) {
      all &= c.MatchesAllIn(kBelow[r], kAbove[r]);
      any |= c.MatchesAnyIn(kBelow[r], kAbove[r]);
    }
    if (any && !all) return false;
    end -= state.stacks[end - 1] + 1;
  }
  return true;
}

const TokenMask::Loops& TokenMask::LoopsOf(int32_t state) {
  if (!loops_[state].known) {
    Loops loops;
    loops.known = true;
    // A character past ASCII leaves the state where it was if one does,
    // when the state cannot tell them apart.
    const bool alike = NonAsciiAlike(states_[state]);
    for (int b = 0; b < 128; ++b) {
      if (Next(state, static_cast<uint8_t>(b)) == state) SetBit(loops.ascii, b);
    }
    if (alike) {
      const int32_t lead = Next(state, 0xC2);  // U+0080, 0xC2 0x80
      loops.non_ascii = lead >= 0 && Next(lead, 0x80) == state;
    }
    loops_[state] = loops;  // Next may have moved loops_
  }
  return loops_[state];
}

void TokenMask::AddLooping(const Loops& loops) {
  uint64_t* __restrict allowed = allowed_->data();
  const size_t words = trie_->words();
  const uint64_t* unfit = loops.non_ascii ? trie_->malformed() : trie_->non_ascii();
  // A block at a time, so that the block being cut stays in L1 while the
  // sets of the bytes that do not loop stream past it.
  constexpr size_t kBlock = 512;
  for (size_t begin = 0; begin < words; begin += kBlock) {
    const size_t end = std::min(words, begin + kBlock);
    for (size_t i = begin; i < end; ++i) allowed[i] = trie_->spelled()[i] & ~unfit[i];
    for (int b = 0; b < 128; ++b) {
      if (HasBit(loops.ascii, b) || trie_->few_holding(static_cast<uint8_t>(b)) != nullptr) continue;
      const uint64_t* __restrict holding = trie_->holding(static_cast<uint8_t>(b));
      for (size_t i = begin; i < end; ++i) allowed[i] &= ~holding[i];
    }
  }
  for (int b = 0; b < 128; ++b) {
    const std::vector<int32_t>* few = trie_->few_holding(static_cast<uint8_t>(b));
    if (HasBit(loops.ascii, b) || few == nullptr) continue;
    for (int32_t id : *few) ClearBit(allowed, static_cast<uint32_t>(id));
  }
}

void TokenMask::AddFrom(uint32_t node, int32_t state) {
  const TokenTrie::Node& n = trie_->nodes()[node];
  const std::vector<int32_t>& ids = trie_->token_ids();
  for (uint32_t t = n.first_token; t < n.first_token + n.token_count; ++t) {
    SetBit(allowed_->data(), static_cast<uint32_t>(ids[t]));
  }
  if (n.child_count > 0) Walk(node, state);
}

void TokenMask::Walk(uint32_t node, int32_t state) {
  const TokenTrie::Node& n = trie_->nodes()[node];
  for (uint32_t c = n.first_child; c < n.first_child + n.child_count; ++c) {
    const int32_t next = Next(state, trie_->nodes()[c].byte);
    if (next != kRejected) AddFrom(c, next);
  }
}

bool TokenMask::Loops::Cover(const TokenTrie::Contents& tokens) const {
  return (tokens.ascii[0] & ~ascii[0]) == 0 && (tokens.ascii[1] & ~ascii[1]) == 0 &&
         (!tokens.non_ascii || (non_ascii && !tokens.malformed));
}

void TokenMask::WalkLoops(uint32_t node, int32_t state, const Loops& loops, Utf8Reading reading) {
  const TokenTrie::Node& n = trie_->nodes()[node];
  for (uint32_t c = n.first_child; c < n.first_child + n.child_count; ++c) {
    const uint8_t byte = trie_->nodes()[c].byte;
    if (byte < 128 ? reading.left == 0 && HasBit(loops.ascii, byte) : loops.non_ascii) {
      // Still made of loops (the tokens here are in already), which a
      // character past ASCII is whenever it is well-formed: go on only where
      // some token below holds a byte that is not a loop.
      Utf8Reading after = reading;
      uint32_t lo, hi;
      if (byte >= 128 && !after.Read(byte, &lo, &hi)) continue;
      if (!loops.Cover(trie_->contents()[c])) WalkLoops(c, state, loops, after);
      continue;
    }
    if (reading.left > 0) continue;  // ASCII inside a character
    const int32_t next = Next(state, byte);
    if (next != kRejected) AddFrom(c, next);
  }
}

const std::vector<uint64_t>& TokenMask::Compute(const MatchState& state) {
  if (states_.size() > kNumberedStates) {  // start the numbering (and masks) over
    states_.clear();
    numbers_.clear();
    next_.clear();
    loops_.clear();
    mask_of_.clear();
    masks_.clear();
  }
  const int32_t number = Number(state);
  if (mask_of_[number] >= 0) return masks_[mask_of_[number]];
  if (masks_.size() >= kCachedMasks) {  // forget them all: simpler than LRU, rare
    masks_.clear();
    std::fill(mask_of_.begin(), mask_of_.end(), -1);
  }
  mask_of_[number] = static_cast<int32_t>(masks_.size());
  allowed_ = &masks_.emplace_back(trie_->words(), 0);
  if (state.partial_left == 0) {
    const Loops loops = LoopsOf(number);  // a copy: Walk may move loops_
    if (loops.count() >= kManyLoops) {
      AddLooping(loops);
      WalkLoops(0, number, loops, Utf8Reading());
      return *allowed_;
    }
  }
  Walk(0, number);
  return *allowed_;
}

}  // namespace smallmind::grammar
