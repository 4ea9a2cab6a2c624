// Embeddings and rerank scores: texts tokenized, packed into forward passes
// of up to `batch_tokens` rows (each sequence whole in one pass, its keys
// and values in one packed cache, attending only within itself: no
// padding), the final hidden states pooled (mean, first token, last token),
// truncated to the first `dimensions` (Matryoshka) and L2-normalised.
// Rerankers score (query, document) pairs with their classifier head.
// One Embedder runs one request at a time (it owns its scratch).
#ifndef SMALLMIND_RUNTIME_EMBEDDER_H_
#define SMALLMIND_RUNTIME_EMBEDDER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "core/arena.h"
#include "core/thread_pool.h"
#include "model/model.pb.h"
#include "runtime/loaded_model.h"
#include "runtime/options.h"
#include "runtime/transformer.h"

namespace smallmind::runtime {

class Embedder {
 public:
  // Pass `batch_tokens` rows at most per forward pass (at least the
  // model's context, so any one input fits).
  static absl::StatusOr<std::unique_ptr<Embedder>> Create(const LoadedModel& model,
                                                         core::ThreadPool& pool,
                                                         int64_t batch_tokens = 2048);

  // The ids of one text as an embedding model reads it: [CLS] text [SEP]
  // for WordPiece, BOS first and EOS last where the vocabulary adds them;
  // special tokens written in the text are parsed, as Hugging Face's
  // tokenizers do.
  absl::StatusOr<std::vector<int32_t>> Tokenize(absl::string_view text) const;

  // What a call of Embed, Rerank or RerankIds reports, and how its caller
  // (a server whose client went away) stops it.
  struct Call {
    int64_t tokens = 0;  // out: the tokens the inputs took, after truncation
    // In: once set (from any thread), the call ends before its next
    // forward pass with a Cancelled error.
    const std::atomic<bool>* cancelled = nullptr;
  };

  // One vector per input, in order. Errors on an empty input, an id
  // outside the vocabulary, an input past the context (unless truncate),
  // dimensions outside [1, dim], and pooling RANK (use Rerank).
  absl::StatusOr<std::vector<std::vector<float>>> Embed(
      absl::Span<const std::vector<int32_t>> inputs, const EmbedOptions& options,
      Call* call = nullptr);

  // The classifier's first score for [CLS] query [SEP] document [SEP],
  // per document, in order (higher: more relevant). Errors when the model
  // has no classifier head or its vocabulary no pairs.
  absl::StatusOr<std::vector<float>> Rerank(absl::string_view query,
                                            absl::Span<const std::string> documents,
                                            bool truncate, Call* call = nullptr);
  // The same for pairs already tokenized: each input's second segment
  // (token type 1) from second_starts[i].
  absl::StatusOr<std::vector<float>> RerankIds(std::vector<std::vector<int32_t>> pairs,
                                               absl::Span<const size_t> second_starts,
                                               bool truncate, Call* call = nullptr);

  // The pooling EmbedOptions' unspecified stands for: the file's, else
  // mean for encoders and the last token for decoders.
  model::Pooling default_pooling() const;
  int64_t dim() const { return model_.model->arch().embedding_dim(); }
  int64_t max_tokens() const { return model_.model->arch().context_length(); }

 private:
  Embedder(const LoadedModel& model, core::ThreadPool& pool) : model_(model), pool_(pool) {}
  // Inputs (with their token types) through the model; pooled rows
  // [inputs, dim] to `pooled`.
  absl::Status Pool(absl::Span<const std::vector<int32_t>> inputs,
                    absl::Span<const size_t> second_starts, model::Pooling pooling,
                    const Call* call, std::vector<float>& pooled);
  // Checks the ids and fits them to the context (or errors).
  absl::Status Fit(std::vector<int32_t>& ids, bool truncate) const;

  const LoadedModel& model_;
  core::ThreadPool& pool_;
  int64_t batch_tokens_ = 0;
  KvCache cache_;
  core::Arena arena_;
  std::vector<BatchRow> rows_;
  std::vector<float> hidden_;
};

// Parses llama.cpp's --pooling names: none is refused (embeddings need a
// pooled vector), mean, cls, last, rank.
absl::StatusOr<model::Pooling> ParsePooling(absl::string_view name);
const char* PoolingName(model::Pooling pooling);

}  // namespace smallmind::runtime

#endif  // SMALLMIND_RUNTIME_EMBEDDER_H_
