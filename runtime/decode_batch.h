// Sequences decoded together (continuous batching), and the one decode
// engine: a Session is a batch of one slot. Each Step runs one
// forward pass holding one new token of every generating sequence and
// chunks of the prompts still being prefilled (up to a token budget), with
// per-row positions and per-sequence KV caches: every weight matrix is read
// once per step for all of them. Sequences join and leave between steps;
// sampling stays per sequence, so each produces what a Session would.
//
// The sequences live in slots that keep their KV cache and history between
// generations: a prompt that extends a slot's history (a chat resending
// its conversation) prefills only its new tokens. A prompt longer than the
// free context is cut (truncate_prompt) and a full context is shifted
// (context_shift) here, for every caller.
//
// Not thread-safe: one thread drives Start, Step and Cancel (the server's
// engine thread); callbacks run on it.
#ifndef SMALLMIND_RUNTIME_DECODE_BATCH_H_
#define SMALLMIND_RUNTIME_DECODE_BATCH_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/arena.h"
#include "core/thread_pool.h"
#include "grammar/grammar.h"
#include "grammar/token_mask.h"
#include "runtime/generation.h"
#include "runtime/prompt_cache.h"
#include "runtime/transformer.h"
#include "text/tokenizer.h"

namespace smallmind::runtime {

struct DecodeBatchOptions {
  int32_t slots = 4;
  int64_t context = 0;         // per slot; 0: the model's
  int64_t prompt_budget = 256;  // prompt tokens per step, over all sequences
  int32_t threads = 1;
  bool pin_threads = false;
  KvTypes kv_types;  // of every slot's cache
  // Positions the slots' caches may hold together (llama-server's unified
  // cache); 0: every slot its whole context. At least one slot's context.
  int64_t kv_budget = 0;
  // Off: each sequence's rows run in a forward pass of their own (for
  // comparison; the results are the same).
  bool batched = true;
  // Where slots keep the histories they give up, and look for longer
  // prefixes than their own (shared, outliving the batch); null: nowhere.
  PromptCache* prompt_cache = nullptr;
};

// A grammar and its masks over the batch's vocabulary.
struct CompiledGrammar {
  std::string text;
  std::unique_ptr<grammar::Grammar> grammar;
  std::unique_ptr<grammar::TokenMask> mask;
};

class DecodeBatch {
 public:
  using DoneCallback = std::function<void(absl::StatusOr<GenerationStats>)>;

  static absl::StatusOr<std::unique_ptr<DecodeBatch>> Create(const Transformer& transformer,
                                                             const text::Tokenizer& tokenizer,
                                                             const DecodeBatchOptions& options);

  int32_t slots() const { return static_cast<int32_t>(slots_.size()); }
  int64_t context() const { return context_; }
  bool busy(int slot) const { return slots_[slot]->active; }
  // The tokens slot `slot` holds in its KV cache.
  absl::Span<const int32_t> history(int slot) const { return slots_[slot]->history; }
  // Sequences generating or prefilling.
  int active() const;
  // Forgets the history of the free slot `slot`.
  void Reset(int slot) { slots_[slot]->history.clear(); }
  size_t arena_high_water() const { return arena_.high_water(); }
  size_t kv_cache_bytes(int slot) const { return slots_[slot]->cache.bytes(); }
  size_t kv_resident_bytes(int slot) const { return slots_[slot]->cache.ResidentBytes(); }
  // KV cache positions the slots hold: what each generation may reach
  // (PositionsFor), and the histories free slots keep.
  int64_t kv_positions() const;
  // options.kv_budget, or slots * context when it was 0.
  int64_t kv_budget() const { return kv_budget_; }
  // Positions a generation reserves: its prompt and max_tokens, at most the
  // context.
  int64_t PositionsFor(int64_t prompt_tokens, const GenerateOptions& options) const;
  // With a KV budget, before a generation reserving `positions` starts in
  // free slot `slot` (whose own history it replaces or reuses): whether they
  // fit beside what the running generations reserve, once free slots give
  // up their histories, least recently used first (into the prompt cache,
  // when there is one). Gives nothing up when they cannot fit. Always true
  // without a budget. Running generations never outgrow their reservation,
  // so none is ever cut short for another.
  bool MakeRoom(int64_t positions, int slot);

  // Starts a generation in the free slot `slot` for `prompt`, the whole
  // history (the slot keeps the longest prefix of it that it holds).
  // `on_text` streams as Session's does; `on_done` runs once, when the
  // generation ends, with its stats (an error when the grammar allowed no
  // token); `on_token` gets each token's log
  // probabilities when options.logprobs asks for them. What is not held must fit the free
  // context, or with options.truncate_prompt is cut to its first token when
  // that is BOS and its tail, leaving a quarter of the free context to
  // generate in. Errors (nothing started) on a busy slot, invalid options
  // (a grammar that does not parse included), or a prompt that does not
  // fit.
  absl::Status Start(int slot, absl::Span<const int32_t> prompt, const GenerateOptions& options,
                     TextCallback on_text, DoneCallback on_done, TokenCallback on_token = nullptr);

  // Starts a generation in the free slot `slot` that shares the prompt slot
  // `source` is prefilling (started, nothing generated yet): when that
  // prompt is in, its KV cache rows are copied here and this generation
  // samples its first token from the same logits, so n sequences of one
  // prompt prefill it once (OpenAI's n). Errors (nothing started) on a busy
  // slot, a source that is not prefilling, or invalid options. A fork whose
  // source is cancelled before its prompt is in ends cancelled too.
  absl::Status StartFork(int slot, int source, const GenerateOptions& options,
                         TextCallback on_text, DoneCallback on_done,
                         TokenCallback on_token = nullptr);

  // Ends slot `slot`'s generation before its next token (on_done reports
  // StopReason::kCancelled). Any thread may call it.
  void Cancel(int slot) { slots_[slot]->cancelled.store(true); }

  // Runs one step; false when no sequence is active.
  absl::StatusOr<bool> Step();

 private:
  struct Slot {
    KvCache cache;
    std::vector<int32_t> history;   // tokens in the cache
    std::vector<int32_t> pending;   // prompt tokens still to prefill
    std::optional<int32_t> next;    // a sampled token to run
    GenerateOptions options;
    std::shared_ptr<CompiledGrammar> grammar;  // options.grammar's
    std::optional<Generation> generation;  // once the prompt is in
    TextCallback on_text;
    DoneCallback on_done;
    TokenCallback on_token;
    // With options.prompt_logprobs: measures the prompt rows' logits, and
    // the position of this step's first prompt row.
    std::optional<LogprobMeter> prompt_meter;
    int64_t prefill_base = 0;
    int fork_source = -1;  // StartFork: the slot whose prompt this waits for
    GenerationStats stats;
    Generation::Clock::time_point start;
    int64_t allocations_before = -1;  // the heap's count when decoding began
    int64_t reserved = 0;    // positions this generation may reach (PositionsFor)
    uint64_t last_used = 0;  // when it last started or ended a generation
    bool active = false;
    std::atomic<bool> cancelled{false};
  };

  DecodeBatch(const Transformer& transformer, const text::Tokenizer& tokenizer,
              const DecodeBatchOptions& options, int64_t context, core::Arena arena);
  void End(Slot& slot);
  // What Start and StartFork share: checks the options, compiles the
  // grammar and readies the slot's callbacks and stats.
  absl::Status Prepare(Slot& slot, const GenerateOptions& options, TextCallback on_text,
                       DoneCallback on_done, TokenCallback on_token);
  // The forks of `source` (whose prompt is now in, `logits` its last row's)
  // take its KV cache rows and sample their first tokens.
  void StartForksOf(const Slot& source, const float* logits);
  // options.grammar compiled, from grammars_ or new.
  absl::StatusOr<std::shared_ptr<CompiledGrammar>> Compile(const std::string& gbnf);
  // When the context is full: keeps its last half, to be run again from
  // position 0 ahead of the sampled token.
  void ShiftContext(Slot& slot);
  // Positions `slot` holds: its reservation while active, else its history.
  int64_t Held(const Slot& slot) const;

  const Transformer& transformer_;
  const text::Tokenizer& tokenizer_;
  DecodeBatchOptions options_;
  int64_t context_;
  int64_t kv_budget_;
  uint64_t clock_ = 0;  // counts starts and ends, for Slot::last_used
  core::Arena arena_;
  core::ThreadPool pool_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<BatchRow> rows_;          // of one step
  std::vector<Slot*> row_slot_;         // which slot each row is
  std::vector<float> logits_;           // [slots, vocab]
  std::vector<float> fork_logits_;      // a fork's copy of its source's logits
  // The vocabulary as a trie, built for the first grammar.
  std::unique_ptr<grammar::TokenTrie> token_trie_;
  // Grammars by text, the most recently used last, with their masks: a
  // schema asked for again reuses the masks its earlier requests computed.
  std::vector<std::shared_ptr<CompiledGrammar>> grammars_;
};

}  // namespace smallmind::runtime

#endif  // SMALLMIND_RUNTIME_DECODE_BATCH_H_
