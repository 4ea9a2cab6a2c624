#include "runtime/embedder.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/status.h"

namespace smallmind::runtime {
namespace {

constexpr struct {
  model::Pooling pooling;
  const char* name;
} kPoolings[] = {{model::MEAN, "mean"}, {model::CLS, "cls"}, {model::LAST, "last"},
                 {model::RANK, "rank"}};

}  // namespace

absl::StatusOr<model::Pooling> ParsePooling(absl::string_view name) {
  for (const auto& p : kPoolings) {
    if (name == p.name) return p.pooling;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--pooling '", name, "' is not one of mean, cls, last, rank"));
}

const char* PoolingName(model::Pooling pooling) {
  for (const auto& p : kPoolings) {
    if (pooling == p.pooling) return p.name;
  }
  return "unspecified";
}

absl::StatusOr<std::unique_ptr<Embedder>> Embedder::Create(const LoadedModel& model,
                                                           core::ThreadPool& pool,
                                                           int64_t batch_tokens) {
  const model::Architecture& a = model.model->arch();
  std::unique_ptr<Embedder> e(new Embedder(model, pool));
  // An encoder's cache packs a batch's sequences one after another; a
  // decoder's holds one input, which passes of batch_tokens rows fill.
  e->batch_tokens_ = a.bidirectional() ? std::max<int64_t>(batch_tokens, a.context_length())
                                       : std::min<int64_t>(batch_tokens, a.context_length());
  SM_ASSIGN_OR_RETURN(e->cache_, KvCache::Create(a, a.bidirectional() ? e->batch_tokens_
                                                                       : a.context_length(),
                                                 KvTypes::Exact()));
  SM_ASSIGN_OR_RETURN(e->arena_, core::Arena::Create(model.transformer->ScratchBytes(
                                     e->batch_tokens_, pool.num_threads())));
  return e;
}

model::Pooling Embedder::default_pooling() const {
  const model::Architecture& a = model_.model->arch();
  if (a.pooling() != model::POOLING_UNSPECIFIED) return a.pooling();
  return a.bidirectional() ? model::MEAN : model::LAST;
}

absl::StatusOr<std::vector<int32_t>> Embedder::Tokenize(absl::string_view text) const {
  const text::Tokenizer& t = *model_.tokenizer;
  SM_ASSIGN_OR_RETURN(std::vector<int32_t> ids,
                      t.Encode(text, t.add_bos(), /*parse_special=*/true));
  const model::TokenizerSpec& spec = model_.model->description().tokenizer();
  if (spec.add_eos() && (ids.empty() || ids.back() != spec.eos_id())) ids.push_back(spec.eos_id());
  return ids;
}

absl::Status Embedder::Fit(std::vector<int32_t>& ids, bool truncate) const {
  const int64_t most = max_tokens();
  if (ids.empty()) return absl::InvalidArgumentError("an input is empty");
  for (int32_t id : ids) {
    if (id < 0 || id >= model_.tokenizer->vocab_size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "token id ", id, " is outside the vocabulary [0, ", model_.tokenizer->vocab_size(), ")"));
    }
  }
  if (static_cast<int64_t>(ids.size()) <= most) return absl::OkStatus();
  if (!truncate) {
    return absl::InvalidArgumentError(absl::StrCat(
        "an input of ", ids.size(), " tokens is longer than the model's context of ", most,
        " tokens (truncate cuts it to fit)"));
  }
  // An input keeps what closes it: WordPiece's [SEP], or the EOS the
  // vocabulary adds (XLM-R's </s>, a decoder embedder's EOS).
  const text::Tokenizer& t = *model_.tokenizer;
  const model::TokenizerSpec& spec = model_.model->description().tokenizer();
  std::optional<int32_t> close;
  if (t.kind() == model::WORDPIECE) close = t.separator_id();
  if (spec.add_eos()) close = spec.eos_id();
  const bool closed = close && ids.back() == *close;
  ids.resize(most);
  if (closed) ids.back() = *close;
  return absl::OkStatus();
}

absl::Status Embedder::Pool(absl::Span<const std::vector<int32_t>> inputs,
                            absl::Span<const size_t> second_starts, model::Pooling pooling,
                            const Call* call, std::vector<float>& pooled) {
  const model::Architecture& a = model_.model->arch();
  const int64_t dim = a.embedding_dim();
  const bool encoder = a.bidirectional();
  pooled.assign(inputs.size() * dim, 0.0f);
  rows_.clear();  // what a failed call left
  // The pass being filled: its rows and the input each came from. Each
  // output row's hidden state is summed into its input's pooled row.
  std::vector<size_t> owners;
  auto run = [&]() -> absl::Status {
    if (call != nullptr && call->cancelled != nullptr && call->cancelled->load()) {
      return absl::CancelledError("cancelled: the caller went away");
    }
    int64_t outputs = 0;
    for (const BatchRow& row : rows_) outputs += row.output;
    hidden_.resize(outputs * dim);
    SM_RETURN_IF_ERROR(model_.transformer->Hidden(rows_, arena_, pool_, hidden_.data()));
    const float* h = hidden_.data();
    for (size_t r = 0; r < rows_.size(); ++r) {
      if (!rows_[r].output) continue;
      float* out = pooled.data() + owners[r] * dim;
      for (int64_t k = 0; k < dim; ++k) out[k] += h[k];
      h += dim;
    }
    rows_.clear();
    owners.clear();
    return absl::OkStatus();
  };
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::vector<int32_t>& ids = inputs[i];
    const int64_t length = static_cast<int64_t>(ids.size());
    // An encoder packs whole inputs into a pass; a decoder runs one input
    // at a time from position 0, in passes of at most batch_tokens rows.
    if (encoder && static_cast<int64_t>(rows_.size()) + length > batch_tokens_) {
      SM_RETURN_IF_ERROR(run());
    }
    const int64_t start = encoder ? static_cast<int64_t>(rows_.size()) : 0;
    const size_t second = second_starts.empty() ? ids.size() : second_starts[i];
    for (int64_t j = 0; j < length; ++j) {
      BatchRow row;
      row.token = ids[j];
      row.position = start + j;
      row.cache = &cache_;
      row.start = start;
      // RoBERTa's single segment: its pairs are all type 0.
      row.token_type = static_cast<size_t>(j) >= second && a.token_types() > 1 ? 1 : 0;
      // Mean pooling needs every row; the others one per input.
      row.output = pooling == model::MEAN || (pooling == model::LAST ? j + 1 == length : j == 0);
      rows_.push_back(row);
      owners.push_back(i);
      if (!encoder && (static_cast<int64_t>(rows_.size()) == batch_tokens_ || j + 1 == length)) {
        SM_RETURN_IF_ERROR(run());
      }
    }
  }
  if (!rows_.empty()) SM_RETURN_IF_ERROR(run());
  for (size_t i = 0; pooling == model::MEAN && i < inputs.size(); ++i) {
    for (int64_t k = 0; k < dim; ++k) pooled[i * dim + k] /= static_cast<float>(inputs[i].size());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::vector<float>>> Embedder::Embed(
    absl::Span<const std::vector<int32_t>> inputs, const EmbedOptions& options, Call* call) {
  model::Pooling pooling = default_pooling();
  if (!options.pooling.empty()) {
    SM_ASSIGN_OR_RETURN(pooling, ParsePooling(options.pooling));
  }
  if (pooling == model::RANK) {
    return absl::InvalidArgumentError(
        "this model ranks (pooling rank): it scores query/document pairs, use rerank");
  }
  if (options.dimensions < 0 || options.dimensions > dim()) {
    return absl::InvalidArgumentError(absl::StrCat("dimensions ", options.dimensions,
                                                   " is outside [1, ", dim(), "]"));
  }
  std::vector<std::vector<int32_t>> fitted(inputs.begin(), inputs.end());
  if (call != nullptr) call->tokens = 0;
  for (std::vector<int32_t>& ids : fitted) {
    SM_RETURN_IF_ERROR(Fit(ids, options.truncate));
    if (call != nullptr) call->tokens += static_cast<int64_t>(ids.size());
  }
  std::vector<float> pooled;
  SM_RETURN_IF_ERROR(Pool(fitted, {}, pooling, call, pooled));
  const int64_t keep = options.dimensions > 0 ? options.dimensions : dim();
  std::vector<std::vector<float>> out;
  out.reserve(fitted.size());
  for (size_t i = 0; i < fitted.size(); ++i) {
    const float* v = pooled.data() + i * dim();
    std::vector<float>& e = out.emplace_back(v, v + keep);
    if (!options.normalize) continue;
    double norm = 0;
    for (float x : e) norm += static_cast<double>(x) * x;
    norm = std::sqrt(norm);
    if (norm > 0) {
      for (float& x : e) x = static_cast<float>(x / norm);
    }
  }
  return out;
}

absl::StatusOr<std::vector<float>> Embedder::Rerank(absl::string_view query,
                                                    absl::Span<const std::string> documents,
                                                    bool truncate, Call* call) {
  std::vector<std::vector<int32_t>> pairs;
  std::vector<size_t> second_starts;
  for (const std::string& document : documents) {
    size_t second = 0;
    SM_ASSIGN_OR_RETURN(pairs.emplace_back(),
                        model_.tokenizer->EncodePair(query, document, &second));
    second_starts.push_back(second);
  }
  return RerankIds(std::move(pairs), second_starts, truncate, call);
}

absl::StatusOr<std::vector<float>> Embedder::RerankIds(std::vector<std::vector<int32_t>> pairs,
                                                       absl::Span<const size_t> second_starts,
                                                       bool truncate, Call* call) {
  const model::Architecture& a = model_.model->arch();
  if (a.classifier_labels() == 0) {
    return absl::FailedPreconditionError(
        "this model has no classifier head: it cannot rerank (a cross-encoder can)");
  }
  if (second_starts.size() != pairs.size()) {
    return absl::InvalidArgumentError("one second-segment start per pair");
  }
  if (call != nullptr) call->tokens = 0;
  for (std::vector<int32_t>& ids : pairs) {
    SM_RETURN_IF_ERROR(Fit(ids, truncate));
    if (call != nullptr) call->tokens += static_cast<int64_t>(ids.size());
  }
  std::vector<float> pooled;
  SM_RETURN_IF_ERROR(Pool(pairs, second_starts, model::CLS, call, pooled));
  const int64_t n = static_cast<int64_t>(pairs.size());
  const int64_t labels = a.classifier_labels();
  std::vector<float> scores(n * labels);
  if (n > 0) {
    SM_RETURN_IF_ERROR(
        model_.transformer->Classify(pooled.data(), n, arena_, pool_, scores.data()));
  }
  std::vector<float> first(n);
  for (int64_t i = 0; i < n; ++i) first[i] = scores[i * labels];
  return first;
}

}  // namespace smallmind::runtime
