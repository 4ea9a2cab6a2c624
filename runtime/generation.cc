#include "runtime/generation.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/profiler.h"
#include "core/status.h"
#include "kernels/reductions.h"
#include "kernels/softmax.h"

namespace smallmind::runtime {
namespace {

double Seconds(Generation::Clock::time_point from, Generation::Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

// Length of the longest tail of `text` that is an unfinished UTF-8 sequence,
// which must wait for the next token's bytes.
size_t IncompleteUtf8Tail(absl::string_view text) {
  const size_t n = text.size();
  for (size_t back = 1; back <= std::min<size_t>(3, n); ++back) {
    const unsigned char c = static_cast<unsigned char>(text[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: look further back
    const size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

// Length of the longest tail of `text` that begins some stop string, which
// must be withheld until it is known not to be one.
size_t StopPrefixTail(absl::string_view text,
                      const std::vector<std::string>& stop) {
  size_t longest = 0;
  for (const std::string& s : stop) {
    for (size_t len = std::min(s.size() - 1, text.size()); len > longest;
         --len) {
      if (text.substr(text.size() - len) == absl::string_view(s).substr(0, len)) {
        longest = len;
        break;
      }
    }
  }
  return longest;
}

// Greedy decoding under a grammar: how many of the likeliest tokens are
// tried, one matcher check each, before the whole vocabulary is masked.
constexpr size_t kGreedyCandidates = 64;

}  // namespace

absl::string_view StopReasonName(StopReason reason) {
  switch (reason) {
    case StopReason::kMaxTokens: return "max tokens";
    case StopReason::kEndOfText: return "end of text";
    case StopReason::kStopString: return "stop string";
    case StopReason::kContextFull: return "context full";
    case StopReason::kCancelled: return "cancelled";
    case StopReason::kGrammarStuck: return "no token the grammar allows";
  }
  return "unknown";
}

absl::Status ValidateGenerateOptions(const GenerateOptions& options, int32_t vocab_size) {
  SM_RETURN_IF_ERROR(ValidateSamplerOptions(options.sampler, vocab_size));
  if (options.max_tokens < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_tokens is ", options.max_tokens, ", expected >= 0"));
  }
  for (const std::string& s : options.stop) {
    if (s.empty()) return absl::InvalidArgumentError("empty stop string");
  }
  if (options.logprobs < -1 || options.logprobs > kMaxLogprobs) {
    return absl::InvalidArgumentError(absl::StrCat("logprobs is ", options.logprobs,
                                                   ", expected -1 (off) to ", kMaxLogprobs));
  }
  return absl::OkStatus();
}

absl::Status ValidatePromptIds(absl::Span<const int32_t> prompt, int32_t vocab_size) {
  if (prompt.empty()) return absl::InvalidArgumentError("the prompt is empty");
  for (int32_t id : prompt) {
    if (id < 0 || id >= vocab_size) {
      return absl::InvalidArgumentError(absl::StrCat("token id ", id, " is outside the vocabulary"));
    }
  }
  return absl::OkStatus();
}

Generation::Generation(const text::Tokenizer& tokenizer, const GenerateOptions& options,
                       TextCallback on_text, GenerationStats stats, Clock::time_point start,
                       const grammar::Grammar* grammar, grammar::TokenMask* mask,
                       TokenCallback on_token)
    : tokenizer_(tokenizer),
      options_(options),
      on_text_(std::move(on_text)),
      sampler_(tokenizer.vocab_size(), options.sampler),
      stats_(stats),
      start_(start),
      decode_start_(Clock::now()) {
  stats_.seed = sampler_.seed();
  stats_.prefill_seconds = Seconds(start_, decode_start_);
  stats_.stop_reason = StopReason::kMaxTokens;
  size_t longest_stop = 0;
  for (const std::string& s : options.stop) longest_stop = std::max(longest_stop, s.size());
  // What may wait: a stop string's prefix or a character's first bytes,
  // plus the newest token's text; reserved so streaming never allocates.
  pending_.reserve(longest_stop + tokenizer.max_piece_bytes() + 4);
  if (options.max_tokens == 0) done_ = true;
  if (grammar != nullptr) {
    matcher_.emplace(grammar);
    mask_ = mask;
    eog_logits_.resize(tokenizer.end_of_generation_ids().size());
    const size_t candidates = std::min<size_t>(kGreedyCandidates, tokenizer.vocab_size());
    greedy_ids_.resize(candidates);
    greedy_values_.resize(candidates);
  }
  if (options.logprobs >= 0 && on_token) {
    on_token_ = std::move(on_token);
    meter_.emplace(tokenizer.vocab_size(), options.logprobs);
  }
}

LogprobMeter::LogprobMeter(int32_t vocab_size, int32_t k)
    : raw_(vocab_size), probs_(vocab_size), top_values_(k), top_ids_(k) {
  top_.reserve(k);
}

void LogprobMeter::Measure(const float* logits) {
  const size_t n = raw_.size();
  std::copy_n(logits, n, raw_.begin());
  std::copy_n(logits, n, probs_.begin());
  kernels::Softmax(probs_.data(), n);
  // log Σ exp(x) = max - log p(argmax), p(argmax) being the largest
  // probability, so never one that underflowed.
  const size_t best = kernels::ArgMax(logits, n);
  log_normaliser_ = static_cast<double>(logits[best]) - std::log(static_cast<double>(probs_[best]));
  const size_t k = kernels::TopK(logits, n, top_values_.size(), top_values_.data(), top_ids_.data());
  top_.clear();
  for (size_t i = 0; i < k; ++i) {
    top_.push_back({top_ids_[i], static_cast<float>(top_values_[i] - log_normaliser_)});
  }
}

bool Generation::Allows(int32_t token) {
  if (tokenizer_.IsEndOfGeneration(token)) return !options_.ignore_eos && matcher_->CanEnd();
  const absl::string_view piece = tokenizer_.Piece(token);
  return !piece.empty() && matcher_->Accepts(piece);
}

// The sampler's first choice is taken when the grammar allows it (a few
// steps of the matcher, the common case). Otherwise greedy decoding tries
// the next likeliest tokens, and when none of them is allowed, or when
// sampling, every token the grammar rejects is masked out of the logits and
// the sampler draws again: the likeliest allowed token when greedy; the
// temperature's distribution over the allowed tokens when sampling without
// filters (a first draw kept with probability p(t), else a masked one:
// p(t) + (1 - A) p(t) / A = p(t) / A, A the allowed mass); with top-k,
// top-p or min-p, llama.cpp's mixture of the two draws.
std::optional<int32_t> Generation::SampleAllowed(float* logits,
                                                 absl::Span<const int32_t> history) {
  sampler_.ApplyPenalties(logits, history);
  const int32_t first = sampler_.Draw(logits);
  if (Allows(first)) return first;
  if (options_.sampler.temperature <= 0.0f) {
    const size_t k = kernels::TopK(logits, tokenizer_.vocab_size(), greedy_ids_.size(),
                                   greedy_values_.data(), greedy_ids_.data());
    for (size_t i = 0; i < k; ++i) {
      if (Allows(greedy_ids_[i])) return greedy_ids_[i];
    }
  }
  const std::vector<uint64_t>& allowed = mask_->Compute(matcher_->state());
  const bool end = !options_.ignore_eos && matcher_->CanEnd();
  const std::vector<int32_t>& eog = tokenizer_.end_of_generation_ids();
  for (size_t k = 0; k < eog.size(); ++k) eog_logits_[k] = logits[eog[k]];
  bool any = false;
  const size_t n = static_cast<size_t>(tokenizer_.vocab_size());
  for (size_t w = 0; w < allowed.size(); ++w) {
    const uint64_t bits = allowed[w];
    any |= bits != 0;
    if (bits == ~uint64_t{0}) continue;  // 64 allowed tokens: nothing to mask
    for (size_t i = w * 64; i < std::min(n, w * 64 + 64); ++i) {
      if (!((bits >> (i & 63)) & 1)) logits[i] = -std::numeric_limits<float>::infinity();
    }
  }
  if (end) {
    for (size_t k = 0; k < eog.size(); ++k) logits[eog[k]] = eog_logits_[k];
  }
  if (!any && !end) return std::nullopt;
  return sampler_.Draw(logits);
}

// Hands `pending_` to the callback up to where it might still be cut by a
// stop string or an unfinished character.
void Generation::Emit(size_t keep) {
  if (pending_.size() <= keep) return;
  if (!on_text_(absl::string_view(pending_).substr(0, pending_.size() - keep))) {
    Stop(StopReason::kCancelled);
  }
  pending_.erase(0, pending_.size() - keep);
}

std::optional<int32_t> Generation::Next(float* logits, absl::Span<const int32_t> history) {
  if (done_) return std::nullopt;
  int32_t next;
  {
    SM_PROFILE_SCOPE(core::ProfileOp::kSampling, -1, 0, 4.0 * tokenizer_.vocab_size());
    if (on_token_) meter_->Measure(logits);
    if (!matcher_) {
      next = sampler_.Sample(logits, history);
    } else if (std::optional<int32_t> allowed = SampleAllowed(logits, history)) {
      next = *allowed;
    } else {
      Stop(StopReason::kGrammarStuck);
      return std::nullopt;
    }
  }
  if (++stats_.generated_tokens == 1) stats_.ttft_seconds = Seconds(start_, Clock::now());
  if (!options_.ignore_eos && tokenizer_.IsEndOfGeneration(next)) {
    Stop(StopReason::kEndOfText);
    return std::nullopt;
  }
  if (on_token_) {
    on_token_({next, meter_->Logprob(next), meter_->top(), /*prompt=*/false});
  }
  const absl::string_view piece = tokenizer_.Piece(next);
  if (matcher_) matcher_->Accept(piece);  // allowed, so accepted
  pending_.append(piece.data(), piece.size());
  size_t hit = std::string::npos;
  for (const std::string& s : options_.stop) hit = std::min(hit, pending_.find(s));
  if (hit != std::string::npos) {
    pending_.resize(hit);
    Stop(StopReason::kStopString);
    return std::nullopt;
  }
  if (matcher_ && !matcher_->CanContinue()) {  // the grammar is complete
    Stop(StopReason::kEndOfText);
    return std::nullopt;
  }
  Emit(std::max(IncompleteUtf8Tail(pending_), StopPrefixTail(pending_, options_.stop)));
  if (done_) return std::nullopt;  // cancelled by the callback
  // The last token is not run.
  if (stats_.generated_tokens >= options_.max_tokens) {
    done_ = true;
    return std::nullopt;
  }
  return next;
}

void Generation::Stop(StopReason reason) {
  if (done_ && stats_.stop_reason == StopReason::kCancelled) return;
  done_ = true;
  stats_.stop_reason = reason;
}

GenerationStats Generation::Finish() {
  done_ = true;
  if (stats_.stop_reason != StopReason::kCancelled) Emit(0);
  stats_.decode_seconds = Seconds(decode_start_, Clock::now());
  return stats_;
}

}  // namespace smallmind::runtime
