#include "server/server.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <limits>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "core/file_util.h"
#include "core/status.h"
#include "server/openai.h"
#include "server/tool_calls.h"
#include "text/jinja_json.h"

namespace smallmind::server {
namespace {

using Clock = std::chrono::steady_clock;

// Compares without stopping at the first difference, so that the time
// taken says nothing about how much of a guessed key was right.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  }
  return diff == 0;
}

std::string RandomId(absl::string_view prefix) {
  static std::mutex mu;
  static std::mt19937_64 rng(std::random_device{}());
  std::lock_guard<std::mutex> lock(mu);
  return absl::StrFormat("%s%016x", prefix, rng());
}

// The endpoints metrics are counted by; anything else is "other".
std::string EndpointOf(const std::string& path) {
  for (const char* known : {"/v1/chat/completions", "/v1/completions", "/v1/models", "/health",
                            "/metrics", "/tokenize", "/detokenize", "/v1/embeddings",
                            "/v1/rerank"}) {
    if (path == known) return known;
  }
  return "other";
}

std::string ModelIdFromPath(const std::string& path) {
  std::string name = path.substr(path.find_last_of('/') + 1);
  for (const char* ext : {".gguf", ".smm"}) {
    if (absl::EndsWith(name, ext)) name.resize(name.size() - std::strlen(ext));
  }
  return name;
}

constexpr char kJson[] = "application/json";

}  // namespace

Server::Server(ServerOptions options) : options_(std::move(options)) {}

Server::~Server() {
  Shutdown();
  Wait();
  scheduler_.reset();  // before the model it runs
}

absl::StatusOr<std::unique_ptr<Server>> Server::Create(ServerOptions options) {
  if (options.parallel < 1 || options.parallel > 256) {
    return absl::InvalidArgumentError("--parallel must be in [1, 256]");
  }
  if (options.queue < 0) return absl::InvalidArgumentError("--queue must be >= 0");
  if (options.cache_ram < 0) return absl::InvalidArgumentError("--cache-ram must be >= 0");
  if (options.kv_budget < 0) return absl::InvalidArgumentError("--kv-budget must be >= 0");
  // Against the model's own context (-c 0) it is checked once loaded.
  if (options.kv_budget > 0 && options.kv_budget < options.session.context) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--kv-budget ", options.kv_budget, " is less than a slot's context (-c ",
        options.session.context, "): raise it, or lower the context"));
  }
  if (options.session.threads < 1) return absl::InvalidArgumentError("--threads must be >= 1");
  if (options.max_body < 1) return absl::InvalidArgumentError("--max-body must be >= 1");
  if (options.timeout < 1) return absl::InvalidArgumentError("--timeout must be >= 1");
  if (options.max_connections < 1) {
    return absl::InvalidArgumentError("--max-connections must be >= 1");
  }
  for (const auto& [name, value] : {std::pair<const char*, double>{"--header-timeout",
                                                                   options.header_timeout},
                                    {"--body-timeout", options.body_timeout},
                                    {"--idle-timeout", options.idle_timeout}}) {
    if (!(value > 0)) return absl::InvalidArgumentError(absl::StrCat(name, " must be > 0"));
  }
  if (!options.api_key_file.empty()) {
    absl::StatusOr<std::string> key = core::ReadFileToString(options.api_key_file);
    if (!key.ok()) return key.status();
    options.api_key = std::string(absl::StripAsciiWhitespace(*key));
    if (options.api_key.empty()) return absl::InvalidArgumentError("the API key file is empty");
  }
  absl::StatusOr<runtime::KvTypes> kv_types =
      runtime::ParseKvTypes(options.session.cache_type_k, options.session.cache_type_v);
  if (!kv_types.ok()) return kv_types.status();
  if (!options.pooling.empty()) {
    absl::StatusOr<model::Pooling> pooling = runtime::ParsePooling(options.pooling);
    if (!pooling.ok()) return pooling.status();
  }
  runtime::EmbedOptions embed;
  embed.pooling = options.pooling;
  std::unique_ptr<Server> server(new Server(std::move(options)));
  server->kv_types_ = *kv_types;
  server->embed_options_ = embed;
  const ServerOptions& o = server->options_;
  HttpServerOptions http;
  http.host = o.host;
  http.port = o.port;
  http.reuse_port = o.reuse_port;
  http.max_connections = o.max_connections;
  http.header_timeout = o.header_timeout;
  http.body_timeout = o.body_timeout;
  http.idle_timeout = o.idle_timeout;
  http.write_timeout = o.timeout;
  http.max_body = o.max_body;
  // Handlers parse, render and tokenize, then queue: the model runs on the
  // scheduler's thread, so a few workers serve any number of requests.
  http.workers = 2;
  absl::StatusOr<std::unique_ptr<HttpServer>> created = HttpServer::Create(http);
  if (!created.ok()) return created.status();
  server->http_ = *std::move(created);
  server->Route();
  return server;
}

void Server::Start(LoadFn load) {
  http_->Start();
  loader_ = std::thread([this, load = std::move(load)] { Load(load); });
}

void Server::Load(const LoadFn& load) {
  absl::StatusOr<runtime::LoadedModel> loaded = load();
  absl::Status status = loaded.status();
  if (status.ok()) {
    model_ = *std::move(loaded);
    model_id_ = options_.alias.empty() ? ModelIdFromPath(model_->path) : options_.alias;
    absl::StatusOr<text::ChatTemplate> t = text::ChatTemplate::ForModel(
        model_->model->description().tokenizer(), options_.chat_template);
    if (t.ok()) {
      chat_template_ = *std::move(t);
    } else if (!options_.chat_template.empty()) {
      status = t.status();  // an explicit template must work
    } else {
      chat_template_error_ = std::string(t.status().message());
    }
  }
  if (options_.cache_ram > 0) {
    prompt_cache_ =
        std::make_unique<runtime::PromptCache>(static_cast<size_t>(options_.cache_ram) << 20);
  }
  const bool encoder = status.ok() && model_->model->arch().bidirectional();
  if (status.ok() && (encoder || options_.embeddings)) {
    embed_pool_ = std::make_unique<core::ThreadPool>(options_.session.threads,
                                                     options_.session.pin_threads);
    absl::StatusOr<std::unique_ptr<runtime::Embedder>> embedder = runtime::Embedder::Create(
        *model_, *embed_pool_, std::max<int64_t>(options_.session.batch, 512));
    if (embedder.ok()) {
      embedder_ = *std::move(embedder);
    } else {
      status = embedder.status();
    }
  }
  if (status.ok() && !encoder) {
    SchedulerOptions scheduler;
    scheduler.slots = options_.parallel;
    scheduler.queue = options_.queue;
    scheduler.context = options_.session.context;
    scheduler.prompt_budget = options_.session.batch;
    scheduler.threads = options_.session.threads;
    scheduler.pin_threads = options_.session.pin_threads;
    scheduler.kv_types = kv_types_;
    scheduler.kv_budget = options_.kv_budget;
    scheduler.prompt_cache = prompt_cache_.get();
    absl::StatusOr<std::unique_ptr<Scheduler>> created =
        Scheduler::Create(*model_->transformer, *model_->tokenizer, scheduler);
    if (created.ok()) {
      scheduler_ = *std::move(created);
    } else {
      status = created.status();
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    load_status_ = status;
  }
  if (status.ok() && encoder) {
    ready_.store(true);
    absl::FPrintF(stderr,
                  "serve: %s (an encoder: %s) ready on http://%s:%d (inputs of up to %d tokens, "
                  "%s pooling; at most %d connections)\n",
                  model_id_,
                  embedder_->default_pooling() == model::RANK ? "/v1/rerank" : "/v1/embeddings",
                  options_.host, port(), embedder_->max_tokens(),
                  embed_options_.pooling.empty()
                      ? runtime::PoolingName(embedder_->default_pooling())
                      : embed_options_.pooling.c_str(),
                  http_->max_connections());
  } else if (status.ok()) {
    ready_.store(true);
    absl::FPrintF(stderr,
                  "serve: %s ready on http://%s:%d (%d slot(s) of %d positions, %d KV positions "
                  "in all; at most %d connections)\n",
                  model_id_, options_.host, port(), options_.parallel, scheduler_->context(),
                  scheduler_->kv_budget(), http_->max_connections());
  } else {
    absl::FPrintF(stderr, "serve: cannot load the model: %s\n", status.message());
  }
}

absl::Status Server::load_status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return load_status_;
}

void Server::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  draining_.store(true);  // new requests get 503
  if (loader_.joinable()) loader_.join();  // a load in progress finishes first
  if (scheduler_ != nullptr) {
    scheduler_->Drain();
    // Running and queued requests may finish within the grace period;
    // then they are cancelled, which stops each before its next token.
    const auto deadline = Clock::now() + std::chrono::seconds(options_.grace);
    auto idle = [&] { return scheduler_->busy() == 0 && scheduler_->waiting() == 0; };
    while (Clock::now() < deadline && !idle()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    scheduler_->CancelAll();
    while (!idle()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (http_ != nullptr) http_->Stop();
}

void Server::Wait() {
  if (loader_.joinable()) loader_.join();
}

Metrics::Live Server::live() const {
  Metrics::Live live;
  live.slots = options_.parallel;
  if (ready_.load() && scheduler_ != nullptr) {
    live.busy_slots = scheduler_->busy();
    live.queue_depth = scheduler_->waiting();
    live.rejected = scheduler_->rejected();
    live.kv_positions = scheduler_->kv_positions();
    live.kv_budget = scheduler_->kv_budget();
  }
  const HttpServer::Counters& c = http_->counters();
  live.connections = c.open.load();
  live.connections_refused = static_cast<uint64_t>(c.refused.load());
  live.connections_timed_out = static_cast<uint64_t>(c.timed_out.load());
  return live;
}

void Server::Fail(const HttpExchange& exchange, int status, absl::string_view message) const {
  HttpHeaders headers;
  if (status == 503) headers.emplace_back("Retry-After", "1");
  exchange.Respond(status, kJson, ErrorJson(status, message), std::move(headers));
}

bool Server::Authorized(const HttpRequest& request, const HttpExchange& exchange) const {
  if (options_.api_key.empty()) return true;
  const std::string auth = request.Header("authorization");
  const absl::string_view given =
      absl::StartsWith(auth, "Bearer ") ? absl::string_view(auth).substr(7) : absl::string_view();
  if (ConstantTimeEquals(given, options_.api_key)) return true;
  Fail(exchange, 401, "a valid API key is required ('Authorization: Bearer KEY')");
  return false;
}

bool Server::Ready(const HttpExchange& exchange) const {
  if (draining_.load()) {
    Fail(exchange, 503, "the server is shutting down");
    return false;
  }
  if (!ready_.load()) {
    Fail(exchange, 503, "the model is loading");
    return false;
  }
  return true;
}

void Server::Route() {
  HttpServer& http = *http_;
  http.SetErrorBody([](int status, absl::string_view message) { return ErrorJson(status, message); });
  http.OnComplete([this](const HttpRequest& request, int status, double seconds,
                         const std::string& notes) { Logged(request, status, seconds, notes); });
  // Quick answers run on the event loop itself.
  http.Route("GET", "/health", [this](HttpRequest, HttpExchange exchange) {
    const bool draining = draining_.load(), ready = ready_.load();
    const char* status = draining ? "shutting down" : ready ? "ok" : "loading";
    exchange.Respond(draining || !ready ? 503 : 200, kJson,
                     absl::StrCat("{\"status\":\"", status, "\"}"));
  }, /*inline_handler=*/true);
  http.Route("GET", "/metrics", [this](HttpRequest request, HttpExchange exchange) {
    if (!Authorized(request, exchange)) return;
    Metrics::Live live = this->live();
    runtime::PromptCache::Stats cache;
    if (prompt_cache_ != nullptr && ready_.load()) {
      cache = prompt_cache_->stats();
      live.prompt_cache = &cache;
    }
    exchange.Respond(200, "text/plain; version=0.0.4", metrics_.Render(live));
  }, /*inline_handler=*/true);
  auto models = [this](HttpRequest request, HttpExchange exchange) {
    if (!Authorized(request, exchange) || !Ready(exchange)) return;
    exchange.Respond(200, kJson, ModelListJson(model_id_, static_cast<int64_t>(std::time(nullptr))));
  };
  http.Route("GET", "/v1/models", models, /*inline_handler=*/true);
  http.Route("GET", "/models", models, /*inline_handler=*/true);
  // The rest parse, render and tokenize on a worker.
  for (const char* path : {"/v1/chat/completions", "/chat/completions"}) {
    http.Route("POST", path, [this](HttpRequest request, HttpExchange exchange) {
      if (Authorized(request, exchange)) Completion(request, exchange, /*chat=*/true);
    });
  }
  for (const char* path : {"/v1/completions", "/completions"}) {
    http.Route("POST", path, [this](HttpRequest request, HttpExchange exchange) {
      if (Authorized(request, exchange)) Completion(request, exchange, /*chat=*/false);
    });
  }
  for (const char* path : {"/v1/embeddings", "/embeddings"}) {
    http.Route("POST", path, [this](HttpRequest request, HttpExchange exchange) {
      if (Authorized(request, exchange)) Embeddings(request, exchange);
    });
  }
  // llama-server's names for it too.
  for (const char* path : {"/v1/rerank", "/rerank", "/v1/reranking", "/reranking"}) {
    http.Route("POST", path, [this](HttpRequest request, HttpExchange exchange) {
      if (Authorized(request, exchange)) Rerank(request, exchange);
    });
  }
  http.Route("POST", "/tokenize", [this](HttpRequest request, HttpExchange exchange) {
    if (Authorized(request, exchange)) Tokenize(request, exchange);
  });
  http.Route("POST", "/detokenize", [this](HttpRequest request, HttpExchange exchange) {
    if (Authorized(request, exchange)) Detokenize(request, exchange);
  });
}

namespace {

// The answer to one request as the engine thread's callbacks build it: a
// JSON object once every choice has finished, or server-sent events as the
// choices' text comes. Each choice (a Reply) shares it and its lock.
class Response {
 public:
  Response(const CompletionRequest& request, bool chat, std::string model, HttpExchange exchange)
      : id_(RandomId(chat ? "chatcmpl-" : "cmpl-")),
        model_(std::move(model)),
        created_(static_cast<int64_t>(std::time(nullptr))),
        chat_(chat),
        stream_(request.stream),
        include_usage_(request.include_usage),
        exchange_(std::move(exchange)),
        choices_(static_cast<size_t>(request.n)) {}

  std::mutex& mu() { return mu_; }
  bool stream() const { return stream_; }
  const HttpExchange& exchange() const { return exchange_; }

  // Streams: the head, once, then (chat) each choice's role chunk before
  // its first text. Call with mu() held.
  void Begin(size_t index) {
    if (!begun_) {
      begun_ = true;
      exchange_.BeginStream(200, "text/event-stream", {{"Cache-Control", "no-cache"}});
    }
    if (chat_ && !role_sent_[index]) {
      role_sent_[index] = true;
      exchange_.Write(ChatChunkEvent(id_, created_, model_, index, true, "", nullptr));
    }
  }
  // A chunk of choice `index`'s text, or its last chunk (`reason` set).
  bool Write(size_t index, const std::string& text, const char* reason, Logprobs logprobs) {
    return exchange_.Write(chat_ ? ChatChunkEvent(id_, created_, model_, index, false, text, reason, logprobs)
                                 : CompletionChunkEvent(id_, created_, model_, index, text, reason, logprobs));
  }
  bool WriteToolCall(size_t index, size_t call_index, const ToolCallReply& call) {
    return exchange_.Write(ToolCallChunkEvent(id_, created_, model_, index, call_index, call));
  }

  // Choice `index` has finished; the last one to finish completes the
  // answer. Call with mu() held.
  void Finish(size_t index, ChoiceReply choice, const runtime::GenerationStats& stats) {
    choices_[index] = std::move(choice);
    // The prompt counts once; each choice's tokens count.
    if (finished_ == 0) {
      usage_.prompt_tokens = stats.prompt_tokens;
      usage_.cached_tokens = stats.prompt_tokens_cached;
    }
    usage_.completion_tokens += stats.generated_tokens;
    if (++finished_ < choices_.size() || failed_) return;
    if (!stream_) {
      exchange_.Respond(200, kJson, CompletionResponseJson(chat_, id_, created_, model_, choices_, usage_));
      return;
    }
    if (include_usage_) exchange_.Write(UsageChunkEvent(chat_, id_, created_, model_, usage_));
    exchange_.Write(kDoneEvent);
    exchange_.End();
  }

  // An invalid request found while generating (a grammar the vocabulary
  // cannot spell) is a 400; anything else a 500. The first failure answers.
  void Fail(const absl::Status& status) {
    ++finished_;
    if (failed_) return;
    failed_ = true;
    const int code = absl::IsInvalidArgument(status) ? 400 : 500;
    if (begun_) {
      exchange_.Write(absl::StrCat("data: ", ErrorJson(code, status.message()), "\n\n"));
      exchange_.End();
    } else {
      exchange_.Respond(code, kJson, ErrorJson(code, status.message()));
    }
  }

 private:
  const std::string id_, model_;
  const int64_t created_;
  const bool chat_, stream_, include_usage_;
  const HttpExchange exchange_;
  std::mutex mu_;
  std::vector<ChoiceReply> choices_;
  std::vector<bool> role_sent_ = std::vector<bool>(choices_.size(), false);
  Usage usage_;
  size_t finished_ = 0;
  bool begun_ = false, failed_ = false;
};

// One choice of a Response: its text, tokens and tool calls as they come.
class Reply {
 public:
  // `echo`: the text the reply begins with (an echoed prompt's tokens).
  Reply(std::shared_ptr<Response> response, size_t index, const CompletionRequest& request,
        const text::Tokenizer& tokenizer, ToolFormat tool_format, std::string echo)
      : response_(std::move(response)),
        index_(index),
        logprobs_(request.options.logprobs >= 0),
        tokenizer_(tokenizer),
        tool_format_(tool_format),
        tools_(request.tools),
        text_(std::move(echo)) {}

  // A sampled token's log probabilities (before its text comes).
  void Token(const runtime::TokenLogprobs& token) {
    std::lock_guard<std::mutex> lock(response_->mu());
    TokenLogprob t{std::string(tokenizer_.Piece(token.token)), token.logprob, {}, token_bytes_};
    for (const auto& [id, logprob] : token.top) {
      t.top.push_back({std::string(tokenizer_.Piece(id)), logprob});
    }
    token_bytes_ += static_cast<int64_t>(t.text.size());
    tokens_.push_back(std::move(t));
  }

  // A piece of text; false when the client is gone.
  bool Text(absl::string_view piece) {
    std::lock_guard<std::mutex> lock(response_->mu());
    text_.append(piece.data(), piece.size());
    if (!response_->stream()) return !response_->exchange().client_gone();
    response_->Begin(index_);
    // With tools, what may be a call is held back until the end, when it is
    // parsed; the text before it streams.
    size_t end = text_.size();
    if (tool_format_ != ToolFormat::kNone) {
      end = std::min(end, ToolCallStart(text_, tool_format_));
      if (text_.find_first_not_of(" \t\r\n") == std::string::npos) end = sent_;
    }
    if (end <= sent_) return !response_->exchange().client_gone();
    const std::vector<TokenLogprob> tokens = TokensBefore(end);
    const std::string out = text_.substr(sent_, end - sent_);
    sent_ = end;
    return response_->Write(index_, out, nullptr, logprobs_ ? &tokens : nullptr);
  }

  void Finish(const runtime::GenerationStats& stats) {
    std::lock_guard<std::mutex> lock(response_->mu());
    ChoiceReply choice;
    choice.finish_reason = FinishReason(stats.stop_reason);
    choice.text = text_;
    if (tool_format_ != ToolFormat::kNone) {
      ParsedReply parsed = ParseToolCalls(text_, tool_format_, tools_);
      for (ToolCall& c : parsed.calls) choice.tool_calls.push_back({RandomId("call_"), std::move(c)});
      if (!choice.tool_calls.empty()) {
        choice.text = std::move(parsed.content);
        choice.finish_reason = "tool_calls";
      }
    }
    if (response_->stream()) {
      response_->Begin(index_);
      if (choice.tool_calls.empty() && sent_ < text_.size()) {  // held back, and not a call after all
        const std::vector<TokenLogprob> tokens = TokensBefore(text_.size());
        response_->Write(index_, text_.substr(sent_), nullptr, logprobs_ ? &tokens : nullptr);
      }
      for (size_t i = 0; i < choice.tool_calls.size(); ++i) {
        response_->WriteToolCall(index_, i, choice.tool_calls[i]);
      }
      response_->Write(index_, "", choice.finish_reason, nullptr);
    } else {
      // The tokens whose text is in the reply: a stop string's are not.
      choice.has_logprobs = logprobs_;
      choice.logprobs = TokensBefore(text_.size());
    }
    response_->Finish(index_, std::move(choice), stats);
  }

  void Fail(const absl::Status& status) {
    std::lock_guard<std::mutex> lock(response_->mu());
    response_->Fail(status);
  }

  const HttpExchange& exchange() const { return response_->exchange(); }
  std::string text() const {
    std::lock_guard<std::mutex> lock(response_->mu());
    return text_;
  }

 private:
  // The reported tokens not yet sent whose text begins before `end`.
  std::vector<TokenLogprob> TokensBefore(size_t end) {
    std::vector<TokenLogprob> out;
    while (sent_tokens_ < tokens_.size() &&
           tokens_[sent_tokens_].text_offset < static_cast<int64_t>(end)) {
      out.push_back(tokens_[sent_tokens_++]);
    }
    return out;
  }

  const std::shared_ptr<Response> response_;
  const size_t index_;
  const bool logprobs_;
  const text::Tokenizer& tokenizer_;
  const ToolFormat tool_format_;
  const std::vector<Tool> tools_;
  size_t sent_ = 0;   // of text_, streamed
  std::string text_;  // the whole choice (non-streamed, or for the log)
  std::vector<TokenLogprob> tokens_;  // with logprobs
  size_t sent_tokens_ = 0;
  int64_t token_bytes_ = 0;  // of the tokens reported so far
};

}  // namespace

void Server::Completion(const HttpRequest& http_request, const HttpExchange& exchange, bool chat) {
  if (!Ready(exchange)) return;
  if (scheduler_ == nullptr) {
    return Fail(exchange, 400,
                absl::StrCat("the model '", model_id_, "' is an embedding model (",
                             model_->model->arch().name(),
                             "): it does not generate; use /v1/embeddings"));
  }
  absl::StatusOr<CompletionRequest> request = ParseCompletionRequest(http_request.body, chat);
  if (!request.ok()) return Fail(exchange, 400, request.status().message());
  if (!request->model.empty() && request->model != model_id_) {
    return Fail(exchange, 404,
                absl::StrCat("the model '", request->model, "' does not exist (this server has '",
                             model_id_, "')"));
  }
  absl::StatusOr<Prompt> prompt = PromptOf(*request, chat);
  if (!prompt.ok()) return Fail(exchange, 400, prompt.status().message());

  std::string echo;
  if (request->echo) {
    for (int32_t id : prompt->ids) absl::StrAppend(&echo, model_->tokenizer->Piece(id));
  }
  runtime::GenerateOptions options = OptionsFor(*request, static_cast<int64_t>(prompt->ids.size()));
  if (!prompt->tool_grammar.empty()) options.grammar = std::move(prompt->tool_grammar);
  // What only the model can check (the logit bias's token ids): a 400 now,
  // not a failure on the engine thread.
  if (absl::Status s = runtime::ValidateGenerateOptions(options, model_->tokenizer->vocab_size());
      !s.ok()) {
    return Fail(exchange, 400, s.message());
  }
  if (request->n > 1 && options.prompt_logprobs) {
    return Fail(exchange, 400, "'n' above 1 cannot be given with 'echo' and 'logprobs'");
  }
  auto response = std::make_shared<Response>(*request, chat, model_id_, exchange);
  // Choice i samples with seed + i, so a seeded request's n choices differ
  // and repeat.
  auto job_of = [&](size_t index) {
    auto reply = std::make_shared<Reply>(response, index, *request, *model_->tokenizer,
                                         prompt->tool_format, echo);
    Scheduler::Job job;
    job.options = options;
    if (job.options.sampler.seed >= 0) job.options.sampler.seed += static_cast<int64_t>(index);
    job.on_text = [reply](absl::string_view piece) { return reply->Text(piece); };
    if (options.logprobs >= 0) {
      job.on_token = [reply](const runtime::TokenLogprobs& token) { reply->Token(token); };
    }
    job.on_done = [this, reply, user = request->user,
                   text = options_.log_prompts ? prompt->text : std::string()](
                      absl::StatusOr<runtime::GenerationStats> result) {
      if (!result.ok()) return reply->Fail(result.status());
      Record(*result, reply->exchange(), user, text, reply->text());
      reply->Finish(*result);
    };
    return job;
  };
  Scheduler::Job job = job_of(0);
  job.prompt = std::move(prompt->ids);
  for (int64_t i = 1; i < request->n; ++i) job.forks.push_back(job_of(static_cast<size_t>(i)));
  absl::StatusOr<uint64_t> ticket = scheduler_->Submit(std::move(job));
  if (!ticket.ok()) {
    return Fail(exchange, absl::IsUnavailable(ticket.status()) ? 503 : 400,
                ticket.status().message());
  }
  // A client that leaves stops its generation at once, waiting or running.
  exchange.OnClientGone([this, ticket = *ticket] { scheduler_->Cancel(ticket); });
}

absl::StatusOr<Server::Prompt> Server::PromptOf(const CompletionRequest& request,
                                                bool chat) const {
  const text::Tokenizer& tokenizer = *model_->tokenizer;
  Prompt prompt;
  if (chat) {
    if (!chat_template_) {
      return absl::InvalidArgumentError(
          absl::StrCat(chat_template_error_, " (when starting the server)"));
    }
    text::jinja::Dict extra;
    if (!request.tools.empty() && request.tool_choice != "none") {
      prompt.tool_format = ToolFormatOf(chat_template_->source());
      if (prompt.tool_format == ToolFormat::kNone) {
        return absl::InvalidArgumentError(
            "'tools': the chat template does not render tools (known formats: <tool_call> "
            "blocks as Qwen's templates have, Llama 3's JSON calls)");
      }
      nlohmann::ordered_json specs = nlohmann::ordered_json::array();
      for (const Tool& t : request.tools) specs.push_back(t.spec);
      extra.emplace_back("tools", text::JsonToJinja(specs));
      if (request.tool_choice != "auto") {
        if (!request.grammar_field.empty()) {
          return absl::InvalidArgumentError(absl::StrCat(
              "'tool_choice' '", request.tool_choice, "' cannot be given with '", request.grammar_field,
              "' (each constrains the output)"));
        }
        SM_ASSIGN_OR_RETURN(prompt.tool_grammar,
                            ToolCallGbnf(request.tools, prompt.tool_format, request.tool_name,
                                         // a named function is called once
                                         request.parallel_tool_calls && request.tool_name.empty()));
      }
    }
    SM_ASSIGN_OR_RETURN(prompt.text, chat_template_->Render(request.messages, true, extra));
    SM_ASSIGN_OR_RETURN(prompt.ids, chat_template_->Encode(tokenizer, prompt.text));
  } else if (!request.prompt_ids.empty()) {
    const absl::Status valid = runtime::ValidatePromptIds(request.prompt_ids, tokenizer.vocab_size());
    if (!valid.ok()) return core::Prefixed(valid, "'prompt'");
    prompt.ids = request.prompt_ids;
    prompt.text = tokenizer.Decode(prompt.ids);
  } else {
    // A text prompt is text (control tokens written in it stay text).
    prompt.text = request.prompt;
    SM_ASSIGN_OR_RETURN(prompt.ids, tokenizer.Encode(prompt.text, tokenizer.add_bos(),
                                                     /*parse_special=*/false));
  }
  if (prompt.ids.empty()) return absl::InvalidArgumentError("the prompt is empty");
  const int64_t context = scheduler_->context();
  if (static_cast<int64_t>(prompt.ids.size()) >= context) {
    return absl::InvalidArgumentError(absl::StrCat("the prompt is ", prompt.ids.size(),
                                                   " tokens; the context holds ", context,
                                                   " with room to generate"));
  }
  return prompt;
}

runtime::GenerateOptions Server::OptionsFor(const CompletionRequest& request,
                                            int64_t prompt_tokens) const {
  const int64_t context = scheduler_->context();
  runtime::GenerateOptions options = request.options;
  const int64_t room =
      options_.context_shift ? std::numeric_limits<int32_t>::max() : context - prompt_tokens;
  options.max_tokens =
      static_cast<int32_t>(std::min<int64_t>(request.max_tokens.value_or(context), room));
  options.context_shift = options_.context_shift;
  return options;
}

void Server::Record(const runtime::GenerationStats& stats, const HttpExchange& exchange,
                    const std::string& user, const std::string& prompt,
                    const std::string& reply) {
  const bool cancelled = stats.stop_reason == runtime::StopReason::kCancelled;
  metrics_.prompt_tokens += static_cast<uint64_t>(stats.prompt_tokens);
  metrics_.prompt_tokens_cached += static_cast<uint64_t>(stats.prompt_tokens_cached);
  metrics_.generated_tokens += static_cast<uint64_t>(stats.generated_tokens);
  if (cancelled) ++metrics_.cancelled;
  if (stats.generated_tokens > 0) {
    metrics_.time_to_first_token.Observe(stats.queue_seconds + stats.ttft_seconds);
  }
  if (stats.decode_steps > 0) {
    metrics_.token_latency.Observe(stats.decode_seconds / stats.decode_steps);
  }
  std::string note = absl::StrFormat("prompt=%d cached=%d completion=%d%s", stats.prompt_tokens,
                                     stats.prompt_tokens_cached, stats.generated_tokens,
                                     cancelled ? " cancelled" : "");
  if (!user.empty()) absl::StrAppend(&note, " user=", JsonString(user));
  if (options_.log_prompts) {
    absl::StrAppend(&note, " prompt=", JsonString(prompt), " reply=", JsonString(reply));
  }
  exchange.Note(std::move(note));
}

void Server::Tokenize(const HttpRequest& request, const HttpExchange& exchange) {
  if (!Ready(exchange)) return;
  absl::StatusOr<TokenizeRequest> r = ParseTokenizeRequest(request.body);
  if (!r.ok()) return Fail(exchange, 400, r.status().message());
  absl::StatusOr<std::vector<int32_t>> ids =
      model_->tokenizer->Encode(r->content, r->add_special, r->parse_special);
  if (!ids.ok()) return Fail(exchange, 400, ids.status().message());
  exchange.Respond(200, kJson, TokensJson(*ids));
}

void Server::Detokenize(const HttpRequest& request, const HttpExchange& exchange) {
  if (!Ready(exchange)) return;
  absl::StatusOr<std::vector<int32_t>> ids = ParseDetokenizeRequest(request.body);
  if (!ids.ok()) return Fail(exchange, 400, ids.status().message());
  for (int32_t id : *ids) {
    if (id >= model_->tokenizer->vocab_size()) {
      return Fail(exchange, 400, absl::StrCat("'tokens': id ", id, " is outside the vocabulary"));
    }
  }
  exchange.Respond(200, kJson, ContentJson(model_->tokenizer->Decode(*ids)));
}

bool Server::EmbeddingsReady(const HttpExchange& exchange, const std::string& model) const {
  if (!Ready(exchange)) return false;
  if (embedder_ == nullptr) {
    Fail(exchange, 400,
         "this server does not serve embeddings: its model is a decoder (start it with "
         "--embeddings)");
    return false;
  }
  if (!model.empty() && model != model_id_) {
    Fail(exchange, 404, absl::StrCat("the model '", model, "' does not exist (this server has '",
                                     model_id_, "')"));
    return false;
  }
  return true;
}

void Server::Embeddings(const HttpRequest& http_request, const HttpExchange& exchange) {
  absl::StatusOr<EmbeddingRequest> request = ParseEmbeddingRequest(http_request.body);
  if (!request.ok()) {
    if (Ready(exchange)) Fail(exchange, 400, request.status().message());
    return;
  }
  if (!EmbeddingsReady(exchange, request->model)) return;
  if (!request->user.empty()) exchange.Note(absl::StrCat("user=", JsonString(request->user)));
  std::vector<std::vector<int32_t>> inputs = std::move(request->ids);
  for (const std::string& text : request->texts) {
    absl::StatusOr<std::vector<int32_t>> ids = embedder_->Tokenize(text);
    if (!ids.ok()) return Fail(exchange, 400, ids.status().message());
    inputs.push_back(*std::move(ids));
  }
  runtime::EmbedOptions options = embed_options_;
  options.dimensions = request->dimensions;
  options.truncate = request->truncate;
  const std::shared_ptr<std::atomic<bool>> gone = GoneFlag(exchange);
  runtime::Embedder::Call call;
  call.cancelled = gone.get();
  absl::StatusOr<std::vector<std::vector<float>>> vectors;
  {
    std::lock_guard<std::mutex> lock(embed_mu_);
    vectors = embedder_->Embed(inputs, options, &call);
  }
  if (!vectors.ok()) return FailEmbedding(exchange, vectors.status());
  exchange.Respond(200, kJson,
                   EmbeddingResponseJson(*vectors, request->base64, model_id_, call.tokens));
}

std::shared_ptr<std::atomic<bool>> Server::GoneFlag(const HttpExchange& exchange) {
  auto gone = std::make_shared<std::atomic<bool>>(false);
  exchange.OnClientGone([gone] { gone->store(true); });
  return gone;
}

void Server::FailEmbedding(const HttpExchange& exchange, const absl::Status& status) {
  if (absl::IsCancelled(status)) {
    ++metrics_.cancelled;
    return;  // no one is there to read an answer
  }
  Fail(exchange, 400, status.message());
}

void Server::Rerank(const HttpRequest& http_request, const HttpExchange& exchange) {
  absl::StatusOr<RerankRequest> request = ParseRerankRequest(http_request.body);
  if (!request.ok()) {
    if (Ready(exchange)) Fail(exchange, 400, request.status().message());
    return;
  }
  if (!EmbeddingsReady(exchange, request->model)) return;
  const std::shared_ptr<std::atomic<bool>> gone = GoneFlag(exchange);
  runtime::Embedder::Call call;
  call.cancelled = gone.get();
  absl::StatusOr<std::vector<float>> scores;
  {
    std::lock_guard<std::mutex> lock(embed_mu_);
    scores = embedder_->Rerank(request->query, request->documents, request->truncate, &call);
  }
  if (!scores.ok()) return FailEmbedding(exchange, scores.status());
  exchange.Respond(200, kJson, RerankResponseJson(*request, *scores, model_id_, call.tokens));
}

void Server::Logged(const HttpRequest& request, int status, double seconds,
                    const std::string& notes) {
  metrics_.CountRequest(EndpointOf(request.path), status);
  // One line per request; never the key, and the texts only when asked.
  std::string line = absl::StrFormat("%s %s %d %.1fms", request.method, request.path, status,
                                     1e3 * seconds);
  if (!notes.empty()) absl::StrAppend(&line, " ", notes);
  absl::FPrintF(stderr, "%s\n", line);
}

}  // namespace smallmind::server
