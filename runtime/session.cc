#include "runtime/session.h"

#include <utility>

#include "core/profiler.h"
#include "core/status.h"

namespace smallmind::runtime {

absl::StatusOr<std::unique_ptr<Session>> Session::Create(const Transformer& transformer,
                                                         const text::Tokenizer& tokenizer,
                                                         const SessionOptions& options,
                                                         PromptCache* prompt_cache) {
  DecodeBatchOptions one;
  one.slots = 1;
  one.context = options.context;
  one.prompt_budget = options.batch;
  one.threads = options.threads;
  one.pin_threads = options.pin_threads;
  SM_ASSIGN_OR_RETURN(one.kv_types, ParseKvTypes(options.cache_type_k, options.cache_type_v));
  one.prompt_cache = prompt_cache;
  SM_ASSIGN_OR_RETURN(std::unique_ptr<DecodeBatch> batch,
                      DecodeBatch::Create(transformer, tokenizer, one));
  return std::unique_ptr<Session>(new Session(tokenizer, std::move(batch)));
}

absl::StatusOr<GenerationStats> Session::Generate(absl::string_view prompt,
                                                  const GenerateOptions& options,
                                                  const TextCallback& on_text,
                                                  const TokenCallback& on_token) {
  absl::StatusOr<std::vector<int32_t>> encoded;
  {
    SM_PROFILE_SCOPE(core::ProfileOp::kTokenization, -1, 0, prompt.size());
    encoded = tokenizer_.Encode(prompt, tokenizer_.add_bos() && position() == 0,
                                options.parse_special);
  }
  SM_ASSIGN_OR_RETURN(std::vector<int32_t> ids, std::move(encoded));
  if (ids.empty()) {
    return absl::InvalidArgumentError(
        "the prompt is empty and the vocabulary has no BOS token to start from");
  }
  std::vector<int32_t> history(tokens().begin(), tokens().end());
  history.insert(history.end(), ids.begin(), ids.end());
  return GenerateFrom(history, options, on_text, on_token);
}

absl::StatusOr<GenerationStats> Session::GenerateFrom(absl::Span<const int32_t> prompt,
                                                      const GenerateOptions& options,
                                                      const TextCallback& on_text,
                                                      const TokenCallback& on_token) {
  std::optional<absl::StatusOr<GenerationStats>> result;
  SM_RETURN_IF_ERROR(batch_->Start(0, prompt, options, on_text,
                                   [&result](absl::StatusOr<GenerationStats> stats) {
                                     result = std::move(stats);
                                   },
                                   on_token));
  while (!result) {
    absl::StatusOr<bool> stepped = batch_->Step();
    if (!stepped.ok()) {
      batch_->Cancel(0);
      (void)batch_->Step();  // ends the slot
      return stepped.status();
    }
  }
  return *std::move(result);
}

}  // namespace smallmind::runtime
