#include "eval/perplexity.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/arena.h"
#include "core/status.h"

namespace smallmind::eval {
namespace {

// out = x - log Σ exp(x), in double for the sum.
void LogSoftmax(const float* x, size_t n, float* out) {
  const float max = *std::max_element(x, x + n);
  double sum = 0;
  for (size_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(x[i] - max));
  const float shift = max + static_cast<float>(std::log(sum));
  for (size_t i = 0; i < n; ++i) out[i] = x[i] - shift;
}

}  // namespace

int64_t ScoredPerChunk(int64_t context) { return context - context / 2 - 1; }

int64_t ChunksOf(int64_t num_tokens, const PerplexityOptions& options) {
  const int64_t chunks = options.context > 0 ? num_tokens / options.context : 0;
  return options.max_chunks >= 0 ? std::min(chunks, options.max_chunks) : chunks;
}

absl::Status ScoreText(const runtime::Transformer& transformer, std::optional<int32_t> bos,
                       absl::Span<const int32_t> tokens, const PerplexityOptions& options,
                       core::ThreadPool& pool, const TokenScorer& on_token) {
  const model::Architecture& arch = transformer.model().arch();
  const int64_t context = options.context;
  if (context < 4 || context > arch.context_length()) {
    return absl::InvalidArgumentError(absl::StrCat("context is ", context,
                                                   "; it must be in [4, the model's ",
                                                   arch.context_length(), "]"));
  }
  if (options.batch < 1) return absl::InvalidArgumentError("the batch must be >= 1");
  const int64_t chunks = ChunksOf(static_cast<int64_t>(tokens.size()), options);
  if (chunks < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the text has ", tokens.size(), " tokens; scoring needs at least one chunk of ", context,
        " (lower -c)"));
  }
  const int64_t batch = std::min(options.batch, context);
  const size_t vocab = static_cast<size_t>(arch.vocab_size());
  SM_ASSIGN_OR_RETURN(runtime::KvCache cache,
                      runtime::KvCache::Create(arch, context, options.kv_types));
  SM_ASSIGN_OR_RETURN(core::Arena arena, core::Arena::Create(transformer.ScratchBytes(
                                             batch, pool.num_threads())));
  std::vector<float> logits(static_cast<size_t>(batch) * vocab), logprobs(vocab);
  std::vector<int32_t> chunk(static_cast<size_t>(context));
  const int64_t first = context / 2;
  for (int64_t c = 0; c < chunks; ++c) {
    std::copy_n(tokens.begin() + c * context, context, chunk.begin());
    if (bos.has_value()) chunk[0] = *bos;
    for (int64_t start = 0; start < context; start += batch) {
      const int64_t n = std::min(batch, context - start);
      // Rows before the scored half need no logits, but a pass gives all
      // or its last; the scored half is most of the work either way.
      SM_RETURN_IF_ERROR(transformer.Forward(absl::MakeConstSpan(chunk).subspan(start, n), start,
                                             cache, arena, pool, logits.data(), true));
      for (int64_t j = std::max(start, first); j < start + n && j + 1 < context; ++j) {
        LogSoftmax(logits.data() + (j - start) * vocab, vocab, logprobs.data());
        SM_RETURN_IF_ERROR(on_token(c, logprobs, chunk[j + 1]));
      }
    }
  }
  return absl::OkStatus();
}

double RunningMean::error() const {
  if (n_ < 2) return 0;
  const double m = mean();
  const double variance = std::max(0.0, (sum_squares_ / n_ - m * m) * n_ / (n_ - 1));
  return std::sqrt(variance / n_);
}

}  // namespace smallmind::eval
