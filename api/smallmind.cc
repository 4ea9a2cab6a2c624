#include "api/smallmind.h"

#include <utility>

#include "backends/registry.h"
#include "core/status.h"
#include "core/thread_pool.h"
#include "grammar/json_schema.h"
#include "runtime/embedder.h"
#include "runtime/loaded_model.h"
#include "runtime/session.h"
#include "text/chat_template.h"

namespace smallmind {

struct Model::Impl {
  runtime::LoadedModel loaded;
  // The model's own template, or why there is none.
  absl::StatusOr<text::ChatTemplate> chat_template = absl::NotFoundError("no template");
};

struct Session::Impl {
  std::unique_ptr<runtime::Session> session;
  const Model::Impl* model;
};

namespace {

std::vector<text::ChatMessage> ToText(const std::vector<ChatMessage>& messages) {
  std::vector<text::ChatMessage> out;
  out.reserve(messages.size());
  for (const ChatMessage& m : messages) out.push_back({m.role, m.content});
  return out;
}

// The conversation as the model's template renders it.
absl::StatusOr<std::string> Render(const absl::StatusOr<text::ChatTemplate>& chat_template,
                                   const std::vector<ChatMessage>& messages,
                                   bool add_generation_prompt) {
  if (!chat_template.ok()) return chat_template.status();
  return chat_template->Render(ToText(messages), add_generation_prompt);
}

Stats ToStats(const runtime::GenerationStats& s) {
  Stats stats;
  stats.prompt_tokens = s.prompt_tokens;
  stats.prompt_tokens_cached = s.prompt_tokens_cached;
  stats.generated_tokens = s.generated_tokens;
  stats.prefill_tokens_per_second = s.prefill_tokens_per_second();
  stats.decode_tokens_per_second = s.decode_tokens_per_second();
  stats.time_to_first_token_seconds = s.ttft_seconds;
  stats.kv_cache_bytes = s.kv_cache_bytes;
  stats.scratch_bytes = s.arena_high_water;
  stats.stop_reason = std::string(runtime::StopReasonName(s.stop_reason));
  stats.seed = s.seed;
  return stats;
}

}  // namespace

std::vector<std::string> ListBackends() { return backends::Registry::List(); }

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

absl::StatusOr<std::unique_ptr<Model>> Model::Load(const std::string& path,
                                                   const LoadOptions& options) {
  SM_ASSIGN_OR_RETURN(runtime::LoadedModel loaded,
                      runtime::LoadedModel::Load(path, options));
  auto impl = std::make_unique<Impl>();
  impl->loaded = std::move(loaded);
  impl->chat_template =
      text::ChatTemplate::ForModel(impl->loaded.model->description().tokenizer(), "");
  return std::unique_ptr<Model>(new Model(std::move(impl)));
}

std::string Model::backend() const { return std::string(impl_->loaded.backend->name()); }
std::string Model::architecture() const { return impl_->loaded.model->arch().name(); }
int64_t Model::parameters() const { return impl_->loaded.model->num_parameters(); }
int64_t Model::context_length() const { return impl_->loaded.model->arch().context_length(); }
int64_t Model::vocab_size() const { return impl_->loaded.model->arch().vocab_size(); }

absl::StatusOr<std::vector<int32_t>> Model::Tokenize(absl::string_view text,
                                                     bool add_bos) const {
  return impl_->loaded.tokenizer->Encode(text, add_bos);
}

std::string Model::Detokenize(absl::Span<const int32_t> ids) const {
  return impl_->loaded.tokenizer->Decode(ids);
}

absl::StatusOr<std::string> Model::ApplyChatTemplate(const std::vector<ChatMessage>& messages,
                                                     bool add_generation_prompt) const {
  return Render(impl_->chat_template, messages, add_generation_prompt);
}

absl::StatusOr<std::vector<std::vector<float>>> Model::Embed(
    const std::vector<std::string>& texts, const EmbedOptions& options, int threads) const {
  if (threads < 1) return absl::InvalidArgumentError("threads must be >= 1");
  core::ThreadPool pool(threads);
  SM_ASSIGN_OR_RETURN(std::unique_ptr<runtime::Embedder> embedder,
                      runtime::Embedder::Create(impl_->loaded, pool));
  std::vector<std::vector<int32_t>> inputs;
  for (const std::string& text : texts) {
    if (text.empty()) return absl::InvalidArgumentError("a text to embed is empty");
    SM_ASSIGN_OR_RETURN(inputs.emplace_back(), embedder->Tokenize(text));
  }
  return embedder->Embed(inputs, options);
}

absl::StatusOr<std::vector<float>> Model::Rerank(absl::string_view query,
                                                 const std::vector<std::string>& documents,
                                                 bool truncate, int threads) const {
  if (threads < 1) return absl::InvalidArgumentError("threads must be >= 1");
  core::ThreadPool pool(threads);
  SM_ASSIGN_OR_RETURN(std::unique_ptr<runtime::Embedder> embedder,
                      runtime::Embedder::Create(impl_->loaded, pool));
  return embedder->Rerank(query, documents, truncate);
}

absl::StatusOr<std::unique_ptr<Session>> Model::NewSession(
    const SessionOptions& options) const {
  auto impl = std::make_unique<Session::Impl>();
  impl->model = impl_.get();
  SM_ASSIGN_OR_RETURN(impl->session, runtime::Session::Create(
                                         *impl_->loaded.transformer, *impl_->loaded.tokenizer, options));
  return std::unique_ptr<Session>(new Session(std::move(impl)));
}

absl::StatusOr<std::string> JsonSchemaToGrammar(absl::string_view json_schema) {
  return grammar::JsonSchemaToGbnf(json_schema);
}

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Session::~Session() = default;

absl::StatusOr<Stats> Session::Generate(absl::string_view prompt,
                                        const GenerateOptions& options,
                                        const TextCallback& on_text,
                                        const TokenCallback& on_token) {
  SM_ASSIGN_OR_RETURN(runtime::GenerationStats s,
                      impl_->session->Generate(prompt, options, on_text, on_token));
  return ToStats(s);
}

absl::StatusOr<Stats> Session::Chat(const std::vector<ChatMessage>& messages,
                                    const GenerateOptions& options, const TextCallback& on_text,
                                    const TokenCallback& on_token) {
  const Model::Impl& model = *impl_->model;
  SM_ASSIGN_OR_RETURN(std::string prompt, Render(model.chat_template, messages, true));
  SM_ASSIGN_OR_RETURN(std::vector<int32_t> ids,
                      model.chat_template->Encode(*model.loaded.tokenizer, prompt));
  SM_ASSIGN_OR_RETURN(runtime::GenerationStats s,
                      impl_->session->GenerateFrom(ids, options, on_text, on_token));
  return ToStats(s);
}

int64_t Session::position() const { return impl_->session->position(); }
int64_t Session::context() const { return impl_->session->context(); }
void Session::Reset() { impl_->session->Reset(); }

}  // namespace smallmind
