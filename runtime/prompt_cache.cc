#include "runtime/prompt_cache.h"

#include <algorithm>

namespace smallmind::runtime {

size_t SharedPrefix(absl::Span<const int32_t> a, absl::Span<const int32_t> b) {
  const size_t n = std::min(a.size(), b.size());
  return static_cast<size_t>(std::mismatch(a.begin(), a.begin() + n, b.begin()).first - a.begin());
}

size_t ReusablePrefix(absl::Span<const int32_t> held, absl::Span<const int32_t> prompt) {
  return prompt.empty() ? 0 : std::min(SharedPrefix(held, prompt), prompt.size() - 1);
}

size_t PromptCache::Reuse(absl::Span<const int32_t> held, absl::Span<const int32_t> prompt,
                          size_t common, KvCache& cache) {
  std::lock_guard<std::mutex> lock(mu_);
  if (common < held.size()) Store(held, cache);
  auto best = entries_.end();
  size_t best_common = common;
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->types != cache.types()) {
      continue;
    }
    const size_t n =
        std::min(ReusablePrefix(it->tokens, prompt), static_cast<size_t>(cache.context()));
    if (n > best_common) {
      best = it;
      best_common = n;
    }
  }
  if (best == entries_.end()) return common;
  cache.LoadPrefix(best->kv.data(), static_cast<int64_t>(best->tokens.size()),
                   static_cast<int64_t>(best_common));
  entries_.splice(entries_.begin(), entries_, best);
  ++hits_;
  tokens_restored_ += best_common - common;
  return best_common;
}

void PromptCache::Keep(absl::Span<const int32_t> held, const KvCache& cache) {
  std::lock_guard<std::mutex> lock(mu_);
  Store(held, cache);
}

void PromptCache::Store(absl::Span<const int32_t> tokens, const KvCache& cache) {
  const size_t bytes = tokens.size() * (sizeof(int32_t) + cache.PositionBytes());
  if (tokens.empty() || bytes > budget_) return;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->types != cache.types()) {
      ++it;
      continue;
    }
    const size_t n = SharedPrefix(it->tokens, tokens);
    if (n == tokens.size()) {  // already here, perhaps with more after
      entries_.splice(entries_.begin(), entries_, it);
      return;
    }
    if (n == it->tokens.size()) {  // a shorter form of these: replaced
      bytes_ -= it->bytes();
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  Entry entry;
  // An evicted entry's buffer has its pages mapped already: taking it
  // spares the new entry the page faults of fresh memory (which cost more
  // than the copy), and shrinking it writes nothing.
  entry.kv = Evict(bytes);
  entry.tokens.assign(tokens.begin(), tokens.end());
  entry.types = cache.types();
  entry.kv.resize(tokens.size() * cache.PositionBytes());
  cache.SavePrefix(static_cast<int64_t>(tokens.size()), entry.kv.data());
  bytes_ += entry.bytes();
  entries_.push_front(std::move(entry));
  Evict(0);  // a reused buffer may be larger than `bytes`
}

std::vector<uint8_t> PromptCache::Evict(size_t room) {
  std::vector<uint8_t> buffer;
  while (!entries_.empty() && bytes_ + room > budget_) {
    bytes_ -= entries_.back().bytes();
    buffer = std::move(entries_.back().kv);
    entries_.pop_back();
  }
  return buffer;
}

PromptCache::Stats PromptCache::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {entries_.size(), bytes_, hits_, tokens_restored_};
}

}  // namespace smallmind::runtime
