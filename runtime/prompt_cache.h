// Keys and values of earlier prompts, kept across requests within a memory
// budget (the server's --cache-ram). When a slot is about to overwrite the
// history it holds with a different prompt, that history goes here; when a
// prompt shares a longer prefix with an entry than with its slot, the
// entry's keys and values are copied into the slot instead of being
// computed again. So conversations outnumbering the slots, or a system
// prompt shared by many, are prefilled once. Least recently used entries
// are evicted first.
//
// Thread-safe: slots running on their own threads share one cache.
#ifndef SMALLMIND_RUNTIME_PROMPT_CACHE_H_
#define SMALLMIND_RUNTIME_PROMPT_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <vector>

#include "absl/types/span.h"
#include "runtime/transformer.h"

namespace smallmind::runtime {

// How many leading tokens `a` and `b` share.
size_t SharedPrefix(absl::Span<const int32_t> a, absl::Span<const int32_t> b);
// How many of `prompt`'s leading tokens a KV cache holding `held` can keep:
// what they share, short of the prompt's last token, whose logits
// generation starts from.
size_t ReusablePrefix(absl::Span<const int32_t> held, absl::Span<const int32_t> prompt);

class PromptCache {
 public:
  struct Stats {
    size_t entries = 0;
    size_t bytes = 0;
    uint64_t hits = 0;             // prompts that took keys and values from here
    uint64_t tokens_restored = 0;  // positions copied instead of computed
  };

  explicit PromptCache(size_t budget_bytes) : budget_(budget_bytes) {}

  // A slot holding `held` in `cache` is given `prompt`, of which it keeps
  // the first `common` tokens. Keeps `held` here when the slot would lose
  // some of it; then, if an entry shares more than `common` tokens with
  // `prompt` (never its last token, whose logits the caller needs) and was
  // stored from a cache of `cache`'s types, loads them into `cache`. Returns the tokens `cache` now holds of `prompt`.
  size_t Reuse(absl::Span<const int32_t> held, absl::Span<const int32_t> prompt, size_t common,
               KvCache& cache);

  // Keeps `held`, which a slot is giving up along with its cache's pages.
  void Keep(absl::Span<const int32_t> held, const KvCache& cache);

  Stats stats() const;

 private:
  struct Entry {
    std::vector<int32_t> tokens;
    std::vector<uint8_t> kv;  // KvCache::SavePrefix's layout
    KvTypes types;             // of the cache it came from
    // What it holds, a reused buffer's spare capacity included.
    size_t bytes() const { return tokens.capacity() * sizeof(int32_t) + kv.capacity(); }
  };

  // With mu_ held.
  void Store(absl::Span<const int32_t> tokens, const KvCache& cache);
  // Evicts until `room` more bytes fit; returns the last evicted entry's
  // keys and values buffer, for reuse.
  std::vector<uint8_t> Evict(size_t room);

  const size_t budget_;
  mutable std::mutex mu_;
  std::list<Entry> entries_;  // most recently used first
  size_t bytes_ = 0;
  uint64_t hits_ = 0;
  uint64_t tokens_restored_ = 0;
};

}  // namespace smallmind::runtime

#endif  // SMALLMIND_RUNTIME_PROMPT_CACHE_H_
