#include "runtime/decode_batch.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/heap_counter.h"
#include "core/status.h"

namespace smallmind::runtime {

absl::StatusOr<std::unique_ptr<DecodeBatch>> DecodeBatch::Create(
    const Transformer& transformer, const text::Tokenizer& tokenizer, const DecodeBatchOptions& options) {
  for (const auto& [name, value] : {std::pair<const char*, int64_t>{"slots", options.slots},
                                    {"prompt budget (batch size)", options.prompt_budget},
                                    {"threads", options.threads}}) {
    if (value < 1) {
      return absl::InvalidArgumentError(absl::StrCat(name, " is ", value, ", expected >= 1"));
    }
  }
  const model::Architecture& arch = transformer.model().arch();
  if (arch.bidirectional()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "this model is an encoder (", arch.name(),
        "): it embeds texts (smallmind embed, /v1/embeddings) and does not generate"));
  }
  const int64_t context = options.context == 0 ? arch.context_length() : options.context;
  if (context < 1 || context > static_cast<int64_t>(arch.context_length())) {
    return absl::InvalidArgumentError(absl::StrCat("context is ", context, "; the model's is ",
                                                   arch.context_length()));
  }
  if (options.kv_budget < 0 || (options.kv_budget > 0 && options.kv_budget < context)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the KV budget is ", options.kv_budget, " positions, less than a slot's context (",
        context, "): raise it, or lower the context"));
  }
  // A step runs at most every slot's token and every slot's whole context.
  const int64_t max_rows =
      options.slots + std::min<int64_t>(options.prompt_budget, options.slots * (context + 1));
  SM_ASSIGN_OR_RETURN(core::Arena arena, core::Arena::Create(transformer.ScratchBytes(
                                             max_rows, options.threads)));
  std::unique_ptr<DecodeBatch> batch(
      new DecodeBatch(transformer, tokenizer, options, context, std::move(arena)));
  for (int i = 0; i < options.slots; ++i) {
    auto slot = std::make_unique<Slot>();
    SM_ASSIGN_OR_RETURN(slot->cache, KvCache::Create(arch, context, options.kv_types));
    slot->history.reserve(static_cast<size_t>(context));
    slot->pending.reserve(static_cast<size_t>(context) + 1);
    batch->slots_.push_back(std::move(slot));
  }
  batch->rows_.reserve(static_cast<size_t>(max_rows));
  batch->row_slot_.reserve(static_cast<size_t>(max_rows));
  return batch;
}

DecodeBatch::DecodeBatch(const Transformer& transformer, const text::Tokenizer& tokenizer,
                         const DecodeBatchOptions& options, int64_t context, core::Arena arena)
    : transformer_(transformer),
      tokenizer_(tokenizer),
      options_(options),
      context_(context),
      kv_budget_(options.kv_budget == 0 ? options.slots * context
                                        : std::min<int64_t>(options.kv_budget, options.slots * context)),
      arena_(std::move(arena)),
      pool_(options.threads, options.pin_threads),
      logits_(static_cast<size_t>(options.slots) * transformer.model().arch().vocab_size()) {}

int DecodeBatch::active() const {
  return static_cast<int>(
      std::count_if(slots_.begin(), slots_.end(), [](const auto& s) { return s->active; }));
}

int64_t DecodeBatch::PositionsFor(int64_t prompt_tokens, const GenerateOptions& options) const {
  return std::min<int64_t>(context_, prompt_tokens + std::max(options.max_tokens, 1));
}

int64_t DecodeBatch::Held(const Slot& slot) const {
  return slot.active ? slot.reserved : static_cast<int64_t>(slot.history.size());
}

int64_t DecodeBatch::kv_positions() const {
  int64_t held = 0;
  for (const auto& slot : slots_) held += Held(*slot);
  return held;
}

bool DecodeBatch::MakeRoom(int64_t positions, int slot) {
  if (kv_budget_ >= slots() * context_) return true;
  // What running generations reserve stays; free slots' histories may go.
  int64_t reserved = positions, idle = 0;
  for (int i = 0; i < slots(); ++i) {
    if (i == slot) continue;
    (slots_[i]->active ? reserved : idle) += Held(*slots_[i]);
  }
  if (reserved > kv_budget_) return false;
  while (reserved + idle > kv_budget_) {
    Slot* lru = nullptr;
    for (int i = 0; i < slots(); ++i) {
      Slot* s = slots_[i].get();
      if (i == slot || s->active || s->history.empty()) continue;
      if (lru == nullptr || s->last_used < lru->last_used) lru = s;
    }
    idle -= static_cast<int64_t>(lru->history.size());
    if (options_.prompt_cache != nullptr) options_.prompt_cache->Keep(lru->history, lru->cache);
    lru->history.clear();
    lru->cache.Release(0);
  }
  return true;
}

absl::Status DecodeBatch::Prepare(Slot& slot, const GenerateOptions& options,
                                  TextCallback on_text, DoneCallback on_done,
                                  TokenCallback on_token) {
  if (slot.active) return absl::FailedPreconditionError("the slot is busy");
  SM_RETURN_IF_ERROR(ValidateGenerateOptions(options, tokenizer_.vocab_size()));
  std::shared_ptr<CompiledGrammar> compiled;
  if (!options.grammar.empty()) {
    SM_ASSIGN_OR_RETURN(compiled, Compile(options.grammar));
  }
  slot.next.reset();
  slot.options = options;
  slot.generation.reset();
  slot.grammar = std::move(compiled);
  slot.on_text = std::move(on_text);
  slot.on_done = std::move(on_done);
  slot.on_token = std::move(on_token);
  slot.stats = GenerationStats();
  slot.stats.kv_cache_bytes = slot.cache.bytes();
  slot.start = Generation::Clock::now();
  slot.allocations_before = -1;
  slot.cancelled.store(false);
  slot.prompt_meter.reset();
  slot.fork_source = -1;
  slot.last_used = ++clock_;
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<CompiledGrammar>> DecodeBatch::Compile(const std::string& gbnf) {
  // Kept: a handful of grammars, each with up to its masks' worth of memory.
  constexpr size_t kKeptGrammars = 8;
  for (size_t i = 0; i < grammars_.size(); ++i) {
    if (grammars_[i]->text != gbnf) continue;
    std::shared_ptr<CompiledGrammar> found = grammars_[i];
    grammars_.erase(grammars_.begin() + static_cast<std::ptrdiff_t>(i));
    grammars_.push_back(found);
    return found;
  }
  SM_ASSIGN_OR_RETURN(grammar::Grammar g, grammar::Grammar::Parse(gbnf));
  if (token_trie_ == nullptr) {
    token_trie_ = std::make_unique<grammar::TokenTrie>(
        tokenizer_.vocab_size(), [this](int32_t id) { return tokenizer_.Piece(id); });
  }
  auto compiled = std::make_shared<CompiledGrammar>();
  compiled->text = gbnf;
  compiled->grammar = std::make_unique<grammar::Grammar>(std::move(g));
  compiled->mask = std::make_unique<grammar::TokenMask>(token_trie_.get(), compiled->grammar.get());
  if (grammars_.size() >= kKeptGrammars) grammars_.erase(grammars_.begin());
  grammars_.push_back(compiled);
  return compiled;
}

absl::Status DecodeBatch::Start(int index, absl::Span<const int32_t> prompt,
                                const GenerateOptions& options, TextCallback on_text,
                                DoneCallback on_done, TokenCallback on_token) {
  if (index < 0 || index >= slots()) return absl::InvalidArgumentError("no such slot");
  Slot& slot = *slots_[index];
  SM_RETURN_IF_ERROR(ValidatePromptIds(prompt, tokenizer_.vocab_size()));
  // Prompt log probabilities need every prompt row's logits: nothing is
  // taken from the cache.
  const bool prompt_logprobs = options.prompt_logprobs && options.logprobs >= 0 && on_token;
  SM_RETURN_IF_ERROR(Prepare(slot, options, std::move(on_text), std::move(on_done), std::move(on_token)));
  size_t common = prompt_logprobs ? 0 : ReusablePrefix(slot.history, prompt);
  if (options_.prompt_cache != nullptr && !prompt_logprobs) {
    common = options_.prompt_cache->Reuse(slot.history, prompt, common, slot.cache);
  }
  // Built in place: the slot's buffers are sized for the context, so a
  // context shift in the decode loop does not allocate.
  std::vector<int32_t>& pending = slot.pending;
  pending.assign(prompt.begin() + common, prompt.end());
  const int64_t free = context_ - static_cast<int64_t>(common);
  int64_t dropped = 0;
  if (options.truncate_prompt && static_cast<int64_t>(pending.size()) > free) {
    const int64_t keep = std::max<int64_t>(1, free - free / 4);
    const bool bos = tokenizer_.bos_id() && pending[0] == *tokenizer_.bos_id() && keep > 1;
    dropped = static_cast<int64_t>(pending.size()) - keep;
    pending.erase(pending.begin() + (bos ? 1 : 0), pending.begin() + (bos ? 1 : 0) + dropped);
  }
  const size_t before = slot.history.size();
  slot.history.assign(prompt.begin(), prompt.begin() + common);  // what the cache holds
  // Under a budget a cache keeps no pages past what it will hold.
  const int64_t holds = static_cast<int64_t>(common + pending.size());
  slot.reserved = PositionsFor(holds, options);
  if (kv_budget_ < slots() * context_ && static_cast<int64_t>(before) > slot.reserved) {
    slot.cache.Release(slot.reserved);
  }
  if (static_cast<int64_t>(pending.size()) > free) {
    const size_t asked = pending.size();
    pending.clear();
    slot.on_done = nullptr;
    return absl::OutOfRangeError(absl::StrCat("the prompt is ", asked, " tokens, but only ", free,
                                              " of the context's ", context_,
                                              " positions are free"));
  }
  slot.stats.prompt_tokens = static_cast<int64_t>(common + slot.pending.size());
  slot.stats.prompt_tokens_cached = static_cast<int64_t>(common);
  slot.stats.prompt_tokens_dropped = dropped;
  slot.active = true;
  if (prompt_logprobs) {
    slot.prompt_meter.emplace(tokenizer_.vocab_size(), slot.options.logprobs);
    // The first token has nothing before it.
    slot.on_token({slot.pending[0], std::numeric_limits<float>::quiet_NaN(), {}, /*prompt=*/true});
  }
  return absl::OkStatus();
}

absl::Status DecodeBatch::StartFork(int index, int source, const GenerateOptions& options,
                                    TextCallback on_text, DoneCallback on_done,
                                    TokenCallback on_token) {
  if (index < 0 || index >= slots() || source < 0 || source >= slots() || index == source) {
    return absl::InvalidArgumentError("no such slot");
  }
  const Slot& src = *slots_[source];
  if (!src.active || src.generation || src.pending.empty() || src.fork_source >= 0) {
    return absl::FailedPreconditionError("the source slot is not prefilling a prompt");
  }
  if (options.prompt_logprobs) {
    return absl::InvalidArgumentError("prompt_logprobs: a fork shares its source's prompt");
  }
  Slot& slot = *slots_[index];
  SM_RETURN_IF_ERROR(Prepare(slot, options, std::move(on_text), std::move(on_done), std::move(on_token)));
  slot.history.clear();
  slot.pending.clear();
  slot.fork_source = source;
  slot.reserved = PositionsFor(src.stats.prompt_tokens, options);
  slot.stats.prompt_tokens = src.stats.prompt_tokens;
  slot.stats.prompt_tokens_cached = src.stats.prompt_tokens;  // prefilled by the source
  slot.stats.prompt_tokens_dropped = src.stats.prompt_tokens_dropped;
  slot.active = true;
  return absl::OkStatus();
}

void DecodeBatch::StartForksOf(const Slot& source, const float* logits) {
  const size_t vocab = static_cast<size_t>(tokenizer_.vocab_size());
  for (const auto& f : slots_) {
    Slot& fork = *f;
    if (!fork.active || fork.fork_source < 0 || slots_[fork.fork_source].get() != &source) continue;
    fork.fork_source = -1;
    fork.cache.CopyPrefixFrom(source.cache, static_cast<int64_t>(source.history.size()));
    fork.history = source.history;
    fork.generation.emplace(tokenizer_, fork.options, fork.on_text, fork.stats, fork.start,
                            fork.grammar ? fork.grammar->grammar.get() : nullptr,
                            fork.grammar ? fork.grammar->mask.get() : nullptr, fork.on_token);
    fork.allocations_before = core::HeapAllocations();
    fork_logits_.assign(logits, logits + vocab);  // Next may change them
    const std::optional<int32_t> next = fork.generation->Next(fork_logits_.data(), fork.history);
    if (next) {
      fork.next = next;
    } else {
      End(fork);
    }
  }
}

void DecodeBatch::End(Slot& slot) {
  if (!slot.generation) {  // ended in its prefill: its forks have no prompt to share
    for (const auto& f : slots_) {
      if (f->active && f->fork_source >= 0 && slots_[f->fork_source].get() == &slot) {
        f->fork_source = -1;
        End(*f);
      }
    }
  }
  const int64_t allocations = core::HeapAllocations() - slot.allocations_before;
  GenerationStats stats = slot.generation ? slot.generation->Finish() : slot.stats;
  if (slot.generation && slot.allocations_before >= 0) stats.decode_heap_allocations = allocations;
  if (!slot.generation) stats.stop_reason = StopReason::kCancelled;  // ended in its prefill
  stats.arena_high_water = arena_.high_water();
  slot.generation.reset();
  slot.pending.clear();
  slot.next.reset();
  slot.active = false;
  slot.last_used = ++clock_;
  DoneCallback done = std::move(slot.on_done);
  slot.on_done = nullptr;
  slot.on_text = nullptr;
  slot.on_token = nullptr;
  if (done && stats.stop_reason == StopReason::kGrammarStuck) {
    done(absl::InvalidArgumentError(absl::StrCat(
        "the grammar allows no token of the vocabulary after ", stats.generated_tokens,
        " generated token(s): the vocabulary cannot spell what it needs next")));
  } else if (done) {
    done(stats);
  }
}

void DecodeBatch::ShiftContext(Slot& slot) {
  const size_t kept = static_cast<size_t>(context_ / 2);
  slot.pending.assign(slot.history.end() - kept, slot.history.end());
  slot.pending.push_back(*slot.next);
  slot.history.clear();
  slot.next.reset();
  ++slot.generation->stats().context_shifts;
  ++slot.generation->stats().decode_steps;
}

absl::StatusOr<bool> DecodeBatch::Step() {
  rows_.clear();
  row_slot_.clear();
  // One row for every sequence with a sampled token to run...
  for (const auto& s : slots_) {
    Slot& slot = *s;
    if (!slot.active) continue;
    if (slot.cancelled.load()) {
      if (slot.generation) slot.generation->Stop(StopReason::kCancelled);
      End(slot);
      continue;
    }
    if (!slot.next) continue;
    if (static_cast<int64_t>(slot.history.size()) == context_) {
      if (!slot.options.context_shift || context_ < 2) {
        slot.generation->Stop(StopReason::kContextFull);
        End(slot);
      } else {
        ShiftContext(slot);  // its rows join the prompts' below
      }
      continue;
    }
    rows_.push_back({*slot.next, static_cast<int64_t>(slot.history.size()), &slot.cache, true});
    row_slot_.push_back(&slot);
  }
  const size_t decode_rows = rows_.size();
  // ...then prompt tokens, up to the budget, the last of a prompt asking
  // for its logits.
  int64_t budget = options_.prompt_budget;
  for (const auto& s : slots_) {
    Slot& slot = *s;
    if (!slot.active || slot.pending.empty() || budget == 0) continue;
    const int64_t n = std::min<int64_t>(budget, static_cast<int64_t>(slot.pending.size()));
    slot.prefill_base = static_cast<int64_t>(slot.history.size());
    const bool every_row = slot.prompt_meter && !slot.generation;
    for (int64_t i = 0; i < n; ++i) {
      rows_.push_back({slot.pending[i], static_cast<int64_t>(slot.history.size()) + i, &slot.cache,
                       every_row || i + 1 == static_cast<int64_t>(slot.pending.size())});
      row_slot_.push_back(&slot);
    }
    budget -= n;
  }
  if (rows_.empty()) return active() > 0;

  const size_t vocab = static_cast<size_t>(tokenizer_.vocab_size());
  // More rows than slots want logits only with prompt log probabilities.
  const size_t logit_rows = static_cast<size_t>(
      std::count_if(rows_.begin(), rows_.end(), [](const BatchRow& r) { return r.output; }));
  if (logits_.size() < logit_rows * vocab) logits_.resize(logit_rows * vocab);
  if (options_.batched) {
    SM_RETURN_IF_ERROR(transformer_.Forward(rows_, arena_, pool_, logits_.data()));
  } else {
    // Each sequence's rows in a pass of their own.
    size_t logit_row = 0;
    for (size_t begin = 0; begin < rows_.size();) {
      size_t end = begin + 1;
      while (end < rows_.size() && row_slot_[end] == row_slot_[begin]) ++end;
      const absl::Span<const BatchRow> group = absl::MakeConstSpan(rows_).subspan(begin, end - begin);
      SM_RETURN_IF_ERROR(
          transformer_.Forward(group, arena_, pool_, logits_.data() + logit_row * vocab));
      logit_row += static_cast<size_t>(
          std::count_if(group.begin(), group.end(), [](const BatchRow& r) { return r.output; }));
      begin = end;
    }
  }

  size_t logit_row = 0;
  for (size_t i = 0; i < rows_.size(); ++i) {
    Slot& slot = *row_slot_[i];
    const BatchRow& row = rows_[i];
    slot.history.push_back(row.token);
    if (i < decode_rows) {
      slot.next.reset();
      ++slot.generation->stats().decode_steps;
    }
    if (!row.output) continue;
    float* logits = logits_.data() + logit_row++ * vocab;
    if (!slot.generation) {
      const size_t j = static_cast<size_t>(row.position - slot.prefill_base);
      if (j + 1 < slot.pending.size()) {  // a prompt row: the next prompt token's probability
        const int32_t token = slot.pending[j + 1];
        slot.prompt_meter->Measure(logits);
        slot.on_token({token, slot.prompt_meter->Logprob(token), slot.prompt_meter->top(),
                       /*prompt=*/true});
        continue;
      }
      // The prompt is in: generation begins (and its forks', from these
      // logits before this generation's sampler changes them).
      slot.pending.clear();
      StartForksOf(slot, logits);
      slot.generation.emplace(tokenizer_, slot.options, slot.on_text, slot.stats, slot.start,
                              slot.grammar ? slot.grammar->grammar.get() : nullptr,
                              slot.grammar ? slot.grammar->mask.get() : nullptr, slot.on_token);
      slot.allocations_before = core::HeapAllocations();
    }
    const std::optional<int32_t> next = slot.generation->Next(logits, slot.history);
    if (next) {
      slot.next = next;
    } else {
      End(slot);
    }
  }
  // Prompts cut by the budget keep their rest for the next step.
  for (const auto& s : slots_) {
    Slot& slot = *s;
    if (!slot.active || slot.pending.empty()) continue;
    const size_t done = std::count(row_slot_.begin(), row_slot_.end(), &slot);
    slot.pending.erase(slot.pending.begin(), slot.pending.begin() + std::min(done, slot.pending.size()));
  }
  return active() > 0;
}

}  // namespace smallmind::runtime
