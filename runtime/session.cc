#include "runtime/session.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/heap_counter.h"
#include "core/profiler.h"
#include "core/status.h"

namespace smallmind::runtime {

using Clock = Generation::Clock;

Session::Session(const Transformer& transformer, const text::Tokenizer& tokenizer,
                 KvCache cache, core::Arena arena, int threads,
                 bool pin_threads, int64_t batch)
    : transformer_(transformer),
      tokenizer_(tokenizer),
      cache_(std::move(cache)),
      arena_(std::move(arena)),
      pool_(std::make_unique<core::ThreadPool>(threads, pin_threads)),
      batch_(batch),
      logits_(transformer.model().arch().vocab_size()) {
  tokens_.reserve(cache_.context());
  kept_.reserve(cache_.context());
}

absl::StatusOr<std::unique_ptr<Session>> Session::Create(
    const Transformer& transformer, const text::Tokenizer& tokenizer,
    const SessionOptions& options) {
  const model::Architecture& arch = transformer.model().arch();
  if (options.threads < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("threads is ", options.threads, ", expected >= 1"));
  }
  if (options.batch < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch is ", options.batch, ", expected >= 1"));
  }
  const int64_t context =
      options.context == 0 ? arch.context_length() : options.context;
  SM_ASSIGN_OR_RETURN(KvCache cache, KvCache::Create(arch, context));
  const int64_t batch = std::min(options.batch, context);
  SM_ASSIGN_OR_RETURN(
      core::Arena arena,
      core::Arena::Create(transformer.ScratchBytes(batch, options.threads, context)));
  return std::unique_ptr<Session>(new Session(transformer, tokenizer,
                                              std::move(cache),
                                              std::move(arena), options.threads,
                                              options.pin_threads, batch));
}

absl::Status Session::Append(absl::Span<const int32_t> tokens) {
  if (position() + static_cast<int64_t>(tokens.size()) > context()) {
    return absl::OutOfRangeError(absl::StrCat(
        tokens.size(), " tokens do not fit the context: ", position(), " of ",
        context(), " positions are used"));
  }
  for (size_t start = 0; start < tokens.size();) {
    const size_t count = std::min<size_t>(batch_, tokens.size() - start);
    absl::Span<const int32_t> chunk = tokens.subspan(start, count);
    SM_RETURN_IF_ERROR(transformer_.Forward(chunk, position(), cache_, arena_,
                                            *pool_, logits_.data(),
                                            /*all_logits=*/false));
    tokens_.insert(tokens_.end(), chunk.begin(), chunk.end());
    start += count;
  }
  return absl::OkStatus();
}

void Session::Reset() { tokens_.clear(); }

absl::StatusOr<GenerationStats> Session::Generate(
    absl::string_view prompt, const GenerateOptions& options,
    const TextCallback& on_text) {
  SM_RETURN_IF_ERROR(ValidateGenerateOptions(options));
  const Clock::time_point start = Clock::now();
  absl::StatusOr<std::vector<int32_t>> encoded;
  {
    SM_PROFILE_SCOPE(core::ProfileOp::kTokenization, -1, 0, prompt.size());
    encoded = tokenizer_.Encode(prompt, tokenizer_.add_bos() && position() == 0,
                                options.parse_special);
  }
  SM_ASSIGN_OR_RETURN(std::vector<int32_t> prompt_ids, std::move(encoded));
  if (prompt_ids.empty()) {
    return absl::InvalidArgumentError(
        "the prompt is empty and the vocabulary has no BOS token to start "
        "from");
  }
  return Decode(std::move(prompt_ids), options, on_text, GenerationStats(), start);
}

absl::StatusOr<GenerationStats> Session::GenerateFrom(absl::Span<const int32_t> prompt,
                                                      const GenerateOptions& options,
                                                      const TextCallback& on_text) {
  SM_RETURN_IF_ERROR(ValidateGenerateOptions(options));
  const Clock::time_point start = Clock::now();
  SM_RETURN_IF_ERROR(ValidatePromptIds(prompt, tokenizer_.vocab_size()));
  if (static_cast<int64_t>(prompt.size()) > context() && !options.truncate_prompt) {
    return absl::OutOfRangeError(absl::StrCat("the prompt is ", prompt.size(),
                                              " tokens, but the context has ", context(),
                                              " positions"));
  }
  size_t common = ReusablePrefix(tokens_, prompt);
  if (prompt_cache_ != nullptr) common = prompt_cache_->Reuse(tokens_, prompt, common, cache_);
  tokens_.assign(prompt.begin(), prompt.begin() + static_cast<ptrdiff_t>(common));
  GenerationStats stats;
  stats.prompt_tokens_cached = static_cast<int64_t>(common);
  return Decode(std::vector<int32_t>(prompt.begin() + common, prompt.end()), options, on_text,
                stats, start);
}

absl::StatusOr<GenerationStats> Session::Decode(std::vector<int32_t> prompt_ids,
                                                const GenerateOptions& options,
                                                const TextCallback& on_text,
                                                GenerationStats stats,
                                                Clock::time_point start) {
  const int64_t free = context() - position();
  if (options.truncate_prompt && static_cast<int64_t>(prompt_ids.size()) > free) {
    // Out of room even with what is cached: start over from the prompt's
    // tail (with its BOS).
    const int64_t keep = std::max<int64_t>(1, free - free / 4);
    const bool bos = tokenizer_.bos_id() && prompt_ids[0] == *tokenizer_.bos_id() &&
                     keep > 1;
    stats.prompt_tokens_dropped = static_cast<int64_t>(prompt_ids.size()) - keep;
    prompt_ids.erase(prompt_ids.begin() + (bos ? 1 : 0),
                     prompt_ids.begin() + (bos ? 1 : 0) + stats.prompt_tokens_dropped);
  }
  if (static_cast<int64_t>(prompt_ids.size()) > free) {
    return absl::OutOfRangeError(absl::StrCat(
        "the prompt is ", prompt_ids.size(), " tokens, but only ", free,
        " of the context's ", context(),
        " positions are free"));
  }
  SM_RETURN_IF_ERROR(Append(prompt_ids));
  stats.prompt_tokens = static_cast<int64_t>(prompt_ids.size()) + stats.prompt_tokens_cached;

  Generation generation(tokenizer_, options, on_text, stats, start);
  const int64_t allocations_before = core::HeapAllocations();
  while (true) {
    if (cancel_ != nullptr && cancel_->load(std::memory_order_relaxed)) {
      generation.Stop(StopReason::kCancelled);
      break;
    }
    const std::optional<int32_t> next = generation.Next(logits_.data(), tokens_);
    if (!next) break;
    if (position() == context()) {
      if (!options.context_shift || context() < 2) {
        generation.Stop(StopReason::kContextFull);
        break;
      }
      kept_.assign(tokens_.end() - context() / 2, tokens_.end());
      Reset();
      SM_RETURN_IF_ERROR(Append(kept_));
      ++generation.stats().context_shifts;
    }
    SM_RETURN_IF_ERROR(Append(absl::MakeConstSpan(&*next, 1)));
    ++generation.stats().decode_steps;
  }
  const int64_t allocations = core::HeapAllocations() - allocations_before;
  stats = generation.Finish();
  if (allocations_before >= 0) stats.decode_heap_allocations = allocations;
  stats.arena_high_water = arena_.high_water();
  stats.kv_cache_bytes = cache_.bytes();
  return stats;
}

}  // namespace smallmind::runtime
