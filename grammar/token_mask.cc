#include "grammar/token_mask.h"

#include <algorithm>
#include <numeric>

namespace smallmind::grammar {
namespace {

// Masks remembered (a bit per token: 19 KiB for 152k tokens): the states
// the documents of one schema keep coming back to.
constexpr size_t kCachedMasks = 1024;
// Numbered states kept (1 KiB of steps each), beyond which the numbering,
// and the masks, start over.
constexpr size_t kNumberedStates = 1 << 14;

}  // namespace

TokenTrie::TokenTrie(int32_t vocab_size, absl::FunctionRef<absl::string_view(int32_t)> piece)
    : vocab_size_(vocab_size) {
  for (int32_t id = 0; id < vocab_size; ++id) {
    if (!piece(id).empty()) ids_.push_back(id);
  }
  std::stable_sort(ids_.begin(), ids_.end(),
                   [&](int32_t a, int32_t b) { return piece(a) < piece(b); });
  nodes_.emplace_back();
  Build(0, 0, ids_.size(), 0, piece);
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
    : trie_(trie), stepper_(grammar) {}

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
    mask_of_.push_back(-1);
  }
  return it->second;
}

int32_t TokenMask::Next(int32_t state, uint8_t byte) {
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

void TokenMask::Walk(uint32_t node, int32_t state) {
  const TokenTrie::Node& n = trie_->nodes()[node];
  const std::vector<int32_t>& ids = trie_->token_ids();
  for (uint32_t c = n.first_child; c < n.first_child + n.child_count; ++c) {
    const TokenTrie::Node& child = trie_->nodes()[c];
    const int32_t next = Next(state, child.byte);
    if (next == kRejected) continue;
    for (uint32_t t = child.first_token; t < child.first_token + child.token_count; ++t) {
      (*allowed_)[ids[t] >> 6] |= uint64_t{1} << (ids[t] & 63);
    }
    if (child.child_count > 0) Walk(c, next);
  }
}

const std::vector<uint64_t>& TokenMask::Compute(const MatchState& state) {
  if (states_.size() > kNumberedStates) {  // start the numbering (and masks) over
    states_.clear();
    numbers_.clear();
    next_.clear();
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
  allowed_ = &masks_.emplace_back((trie_->vocab_size() + 63) / 64, 0);
  Walk(0, number);
  return *allowed_;
}

}  // namespace smallmind::grammar
