#include "grammar/token_mask.h"

#include <algorithm>
#include <numeric>

namespace smallmind::grammar {
namespace {

// Masks remembered per generation: enough for the states a JSON document
// keeps returning to, at vocab_size bytes each.
constexpr size_t kCachedStates = 16;
// Numbered states kept between masks (1 KiB of steps each), beyond which
// the numbering starts over.
constexpr size_t kNumberedStates = 4096;

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

TokenMask::TokenMask(const TokenTrie* trie, Matcher* matcher) : trie_(trie), matcher_(matcher) {}

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
  }
  return it->second;
}

int32_t TokenMask::Next(int32_t state, uint8_t byte) {
  int32_t& next = next_[state][byte];
  if (next == kUnknown) {
    // `next` may move while numbering a new state: write through the index.
    const int32_t found =
        matcher_->Step(states_[state], byte, &scratch_) ? Number(scratch_) : kRejected;
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
      (*allowed_)[ids[t]] = 1;
    }
    if (child.child_count > 0) Walk(c, next);
  }
}

const std::vector<uint8_t>& TokenMask::Compute() {
  const MatchState& state = matcher_->state();
  ++clock_;
  for (Entry& e : cache_) {
    if (e.state == state) {
      e.used = clock_;
      return e.allowed;
    }
  }
  Entry* entry;
  if (cache_.size() < kCachedStates) {
    entry = &cache_.emplace_back();
  } else {
    entry = &*std::min_element(cache_.begin(), cache_.end(),
                               [](const Entry& a, const Entry& b) { return a.used < b.used; });
  }
  entry->state = state;
  entry->used = clock_;
  entry->allowed.assign(trie_->vocab_size(), 0);
  allowed_ = &entry->allowed;
  if (states_.size() > kNumberedStates) {
    states_.clear();
    numbers_.clear();
    next_.clear();
  }
  Walk(0, Number(state));
  return entry->allowed;
}

}  // namespace smallmind::grammar
