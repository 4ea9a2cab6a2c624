#include "runtime/generation.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/profiler.h"
#include "core/status.h"

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

}  // namespace

absl::string_view StopReasonName(StopReason reason) {
  switch (reason) {
    case StopReason::kMaxTokens: return "max tokens";
    case StopReason::kEndOfText: return "end of text";
    case StopReason::kStopString: return "stop string";
    case StopReason::kContextFull: return "context full";
    case StopReason::kCancelled: return "cancelled";
  }
  return "unknown";
}

absl::Status ValidateGenerateOptions(const GenerateOptions& options) {
  SM_RETURN_IF_ERROR(ValidateSamplerOptions(options.sampler));
  if (options.max_tokens < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_tokens is ", options.max_tokens, ", expected >= 0"));
  }
  for (const std::string& s : options.stop) {
    if (s.empty()) return absl::InvalidArgumentError("empty stop string");
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
                       TextCallback on_text, GenerationStats stats, Clock::time_point start)
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
    next = sampler_.Sample(logits, history);
  }
  if (++stats_.generated_tokens == 1) stats_.ttft_seconds = Seconds(start_, Clock::now());
  if (!options_.ignore_eos && tokenizer_.IsEndOfGeneration(next)) {
    Stop(StopReason::kEndOfText);
    return std::nullopt;
  }
  const absl::string_view piece = tokenizer_.Piece(next);
  pending_.append(piece.data(), piece.size());
  size_t hit = std::string::npos;
  for (const std::string& s : options_.stop) hit = std::min(hit, pending_.find(s));
  if (hit != std::string::npos) {
    pending_.resize(hit);
    Stop(StopReason::kStopString);
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
