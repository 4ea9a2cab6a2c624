#include "server/server.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "core/file_util.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "server/openai.h"

namespace smallmind::server {

struct Server::Slot {
  int id = 0;
  std::unique_ptr<runtime::Session> session;  // batching off
  std::atomic<bool> cancel{false};
  bool busy = false;
};

// A generation handed to the engine thread, and what comes back from it:
// text as it is made, then the end.
struct Server::Job {
  int slot = 0;
  std::vector<int32_t> prompt;
  runtime::GenerateOptions options;
  std::mutex mu;
  std::condition_variable changed;
  std::string text;  // made, not yet taken
  bool done = false;
  absl::StatusOr<runtime::GenerationStats> result = absl::UnknownError("not run");
};

namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

double Seconds(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

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
                            "/metrics", "/tokenize", "/detokenize"}) {
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

}  // namespace

Server::Server(ServerOptions options)
    : options_(std::move(options)), http_(std::make_unique<httplib::Server>()) {}

Server::~Server() {
  if (listener_.joinable() || loader_.joinable()) {
    Shutdown();
    Wait();
  }
}

absl::StatusOr<std::unique_ptr<Server>> Server::Create(ServerOptions options) {
  if (options.parallel < 1 || options.parallel > 256) {
    return absl::InvalidArgumentError("--parallel must be in [1, 256]");
  }
  if (options.queue < 0) return absl::InvalidArgumentError("--queue must be >= 0");
  if (options.cache_ram < 0) return absl::InvalidArgumentError("--cache-ram must be >= 0");
  if (options.session.threads < 1) return absl::InvalidArgumentError("--threads must be >= 1");
  if (options.max_body < 1) return absl::InvalidArgumentError("--max-body must be >= 1");
  if (options.timeout < 1) return absl::InvalidArgumentError("--timeout must be >= 1");
  if (!options.api_key_file.empty()) {
    absl::StatusOr<std::string> key = core::ReadFileToString(options.api_key_file);
    if (!key.ok()) return key.status();
    options.api_key = std::string(absl::StripAsciiWhitespace(*key));
    if (options.api_key.empty()) return absl::InvalidArgumentError("the API key file is empty");
  }
  std::unique_ptr<Server> server(new Server(std::move(options)));
  httplib::Server& http = *server->http_;
  // Enough connection threads for every slot, every waiting request, and
  // the health checks and metrics scrapes beside them.
  const size_t threads = static_cast<size_t>(server->options_.parallel + server->options_.queue + 4);
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_payload_max_length(static_cast<size_t>(server->options_.max_body));
  http.set_read_timeout(server->options_.timeout, 0);
  http.set_write_timeout(server->options_.timeout, 0);
  http.set_keep_alive_timeout(5);
  server->Route();
  const int port = server->options_.port == 0
                       ? http.bind_to_any_port(server->options_.host)
                       : (http.bind_to_port(server->options_.host, server->options_.port)
                              ? server->options_.port
                              : -1);
  if (port < 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", server->options_.host, ":",
                                               server->options_.port));
  }
  server->port_ = port;
  server->metrics_.slots = server->options_.parallel;
  return server;
}

void Server::Start(LoadFn load) {
  started_ = Clock::now();
  listener_ = std::thread([this] { http_->listen_after_bind(); });
  loader_ = std::thread([this, load = std::move(load)] { Load(load); });
}

void Server::Load(const LoadFn& load) {
  absl::StatusOr<runtime::LoadedModel> loaded = load();
  absl::Status status = loaded.status();
  if (status.ok()) {
    model_ = *std::move(loaded);
    model_id_ = options_.alias.empty() ? ModelIdFromPath(model_->path) : options_.alias;
    absl::StatusOr<runtime::ChatTemplate> t = runtime::ChatTemplate::ForModel(
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
    prompt_cache_ = std::make_unique<runtime::PromptCache>(static_cast<size_t>(options_.cache_ram) << 20);
  }
  runtime::SessionOptions per_slot = options_.session;
  per_slot.threads = std::max(1, options_.session.threads / options_.parallel);
  per_slot.pin_threads = false;  // the slots' pools share the cores
  if (status.ok() && options_.batching) {
    runtime::DecodeBatchOptions batch;
    batch.slots = options_.parallel;
    batch.context = options_.session.context;
    batch.prompt_budget = options_.session.batch;
    batch.threads = options_.session.threads;
    batch.prompt_cache = prompt_cache_.get();
    absl::StatusOr<std::unique_ptr<runtime::DecodeBatch>> created =
        runtime::DecodeBatch::Create(*model_->transformer, *model_->tokenizer, batch);
    if (created.ok()) {
      batch_ = *std::move(created);
    } else {
      status = created.status();
    }
  }
  for (int i = 0; status.ok() && i < options_.parallel; ++i) {
    auto slot = std::make_unique<Slot>();
    slot->id = i;
    if (!options_.batching) {
      absl::StatusOr<std::unique_ptr<runtime::Session>> session =
          runtime::Session::Create(*model_->transformer, *model_->tokenizer, per_slot);
      if (!session.ok()) {
        status = session.status();
        break;
      }
      slot->session = *std::move(session);
      slot->session->set_cancel(&slot->cancel);
      slot->session->set_prompt_cache(prompt_cache_.get());
    }
    slots_.push_back(std::move(slot));
  }
  if (status.ok() && batch_ != nullptr) engine_ = std::thread([this] { Engine(); });
  {
    std::lock_guard<std::mutex> lock(mu_);
    load_status_ = status;
  }
  if (status.ok()) {
    ready_.store(true);
    absl::FPrintF(stderr, "serve: %s ready on http://%s:%d (%d slot(s) of %d positions%s)\n",
                  model_id_, options_.host, port_, options_.parallel, SlotContext(),
                  batch_ != nullptr ? ", batched" : "");
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
    if (draining_) return;
    draining_ = true;
  }
  slot_freed_.notify_all();  // waiting requests get 503
  // Running requests may finish within the grace period; then they are
  // cancelled, which stops each before its next token.
  const auto deadline = Clock::now() + std::chrono::seconds(options_.grace);
  while (Clock::now() < deadline && metrics_.busy_slots.load() > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (const auto& slot : slots_) {
    slot->cancel.store(true);
    if (batch_ != nullptr) batch_->Cancel(slot->id);
  }
  while (metrics_.busy_slots.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  http_->stop();
  {
    std::lock_guard<std::mutex> lock(engine_mu_);
    engine_stop_ = true;
  }
  engine_wake_.notify_all();
}

void Server::Wait() {
  if (listener_.joinable()) listener_.join();
  if (loader_.joinable()) loader_.join();
  if (engine_.joinable()) engine_.join();
}

int64_t Server::SlotContext() const {
  return batch_ != nullptr ? batch_->context() : slots_[0]->session->context();
}

void Server::Engine() {
  std::unique_lock<std::mutex> lock(engine_mu_);
  while (true) {
    engine_wake_.wait(lock, [&] { return engine_stop_ || !jobs_.empty() || batch_->active() > 0; });
    if (engine_stop_ && jobs_.empty() && batch_->active() == 0) return;
    std::vector<std::shared_ptr<Job>> jobs = std::move(jobs_);
    jobs_.clear();
    lock.unlock();
    for (const std::shared_ptr<Job>& job : jobs) {
      auto finish = [job](absl::StatusOr<runtime::GenerationStats> result) {
        std::lock_guard<std::mutex> job_lock(job->mu);
        job->result = std::move(result);
        job->done = true;
        job->changed.notify_all();
      };
      const absl::Status started = batch_->Start(
          job->slot, job->prompt, job->options,
          [job](absl::string_view text) {
            std::lock_guard<std::mutex> job_lock(job->mu);
            job->text.append(text.data(), text.size());
            job->changed.notify_all();
            return true;
          },
          finish);
      if (!started.ok()) finish(started);
    }
    if (batch_->active() > 0) {
      absl::StatusOr<bool> stepped = batch_->Step();
      if (!stepped.ok()) {
        absl::FPrintF(stderr, "serve: a batch step failed: %s\n", stepped.status().message());
        for (const auto& slot : slots_) batch_->Cancel(slot->id);
      }
    }
    lock.lock();
  }
}

absl::StatusOr<runtime::GenerationStats> Server::Generate(Slot* slot,
                                                          const std::vector<int32_t>& prompt,
                                                          const runtime::GenerateOptions& options,
                                                          const runtime::TextCallback& on_text) {
  if (batch_ == nullptr) {
    return slot->session->GenerateFrom(prompt, options, [&](absl::string_view text) {
      if (on_text(text)) return true;
      slot->cancel.store(true);  // stops before the next token
      return false;
    });
  }
  auto job = std::make_shared<Job>();
  job->slot = slot->id;
  job->prompt = prompt;
  job->options = options;
  {
    std::lock_guard<std::mutex> lock(engine_mu_);
    jobs_.push_back(job);
  }
  engine_wake_.notify_all();
  // The text arrives from the engine thread and is handed on here, so a
  // slow client never holds the batch up.
  bool cancelled = false;
  while (true) {
    std::unique_lock<std::mutex> lock(job->mu);
    job->changed.wait(lock, [&] { return !job->text.empty() || job->done; });
    std::string text = std::move(job->text);
    job->text.clear();
    const bool done = job->done;
    lock.unlock();
    if (!text.empty() && !cancelled && !on_text(text)) {
      cancelled = true;
      batch_->Cancel(slot->id);
    }
    if (done) break;
  }
  std::lock_guard<std::mutex> lock(job->mu);
  return job->result;
}

absl::StatusOr<Server::Slot*> Server::Acquire(const std::vector<int32_t>& prompt) {
  std::unique_lock<std::mutex> lock(mu_);
  auto free_slot = [&] {
    return std::any_of(slots_.begin(), slots_.end(), [](const auto& s) { return !s->busy; });
  };
  if (!draining_ && (!free_slot() || !tickets_.empty())) {
    if (waiting_ >= options_.queue) {
      ++metrics_.rejected;
      return absl::UnavailableError("every slot is busy and the queue is full; retry later");
    }
    ++waiting_;
    ++metrics_.queue_depth;
    const uint64_t ticket = next_ticket_++;
    tickets_.push_back(ticket);
    slot_freed_.wait(lock, [&] { return draining_ || (free_slot() && tickets_.front() == ticket); });
    tickets_.erase(std::find(tickets_.begin(), tickets_.end(), ticket));
    --waiting_;
    --metrics_.queue_depth;
    slot_freed_.notify_all();  // the next ticket may have a slot too
  }
  if (draining_) {
    ++metrics_.rejected;
    return absl::UnavailableError("the server is shutting down");
  }
  Slot* best = nullptr;
  size_t best_common = 0;
  for (const auto& s : slots_) {
    if (s->busy) continue;
    // A free slot's history changes only once it is acquired.
    const absl::Span<const int32_t> cached =
        batch_ != nullptr ? batch_->history(s->id) : s->session->tokens();
    const size_t common = runtime::SharedPrefix(cached, prompt);
    if (best == nullptr || common > best_common) {
      best = s.get();
      best_common = common;
    }
  }
  best->busy = true;
  best->cancel.store(draining_);
  ++metrics_.busy_slots;
  return best;
}

void Server::Release(Slot* slot) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    slot->busy = false;
    --metrics_.busy_slots;
  }
  slot_freed_.notify_all();
}

void Server::Fail(httplib::Response& res, int status, absl::string_view message) {
  res.status = status;
  res.set_content(ErrorJson(status, message), "application/json");
}

void Server::Route() {
  httplib::Server& http = *http_;
  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_[&req].start = Clock::now();
    }
    if (options_.api_key.empty() || req.path == "/health") return httplib::Server::HandlerResponse::Unhandled;
    const std::string auth = req.get_header_value("Authorization");
    const absl::string_view given = absl::StartsWith(auth, "Bearer ")
                                        ? absl::string_view(auth).substr(7)
                                        : absl::string_view();
    if (ConstantTimeEquals(given, options_.api_key)) return httplib::Server::HandlerResponse::Unhandled;
    Fail(res, 401, "a valid API key is required ('Authorization: Bearer KEY')");
    return httplib::Server::HandlerResponse::Handled;
  });
  // Errors httplib produces itself (404 routes, 413 bodies, 400 requests)
  // get OpenAI's error object too.
  http.set_error_handler(httplib::Server::HandlerWithResponse(
      [](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    const char* message = res.status == 404   ? "no such endpoint"
                          : res.status == 413 ? "the request body is too large"
                                              : "the request is malformed";
    res.set_content(ErrorJson(res.status, message), "application/json");
    return httplib::Server::HandlerResponse::Handled;
  }));
  http.set_logger([this](const httplib::Request& req, const httplib::Response& res) { Log(req, res); });

  http.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    bool draining;
    {
      std::lock_guard<std::mutex> lock(mu_);
      draining = draining_;
    }
    const char* status = draining ? "shutting down" : ready_.load() ? "ok" : "loading";
    res.status = draining || !ready_.load() ? 503 : 200;
    res.set_content(Json{{"status", status}}.dump(), "application/json");
  });
  http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    runtime::PromptCache::Stats cache;
    if (prompt_cache_ != nullptr) cache = prompt_cache_->stats();
    res.set_content(metrics_.Render(prompt_cache_ != nullptr ? &cache : nullptr),
                    "text/plain; version=0.0.4");
  });
  auto models = [this](const httplib::Request&, httplib::Response& res) {
    if (!ready_.load()) return Fail(res, 503, "the model is loading");
    res.set_content(ModelListJson(model_id_, static_cast<int64_t>(std::time(nullptr))),
                    "application/json");
  };
  http.Get("/v1/models", models);
  http.Get("/models", models);
  http.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
    Completion(req, res, /*chat=*/true);
  });
  http.Post("/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
    Completion(req, res, /*chat=*/true);
  });
  http.Post("/v1/completions", [this](const httplib::Request& req, httplib::Response& res) {
    Completion(req, res, /*chat=*/false);
  });
  http.Post("/completions", [this](const httplib::Request& req, httplib::Response& res) {
    Completion(req, res, /*chat=*/false);
  });
  http.Post("/tokenize", [this](const httplib::Request& req, httplib::Response& res) { Tokenize(req, res); });
  http.Post("/detokenize",
            [this](const httplib::Request& req, httplib::Response& res) { Detokenize(req, res); });
}

void Server::Completion(const httplib::Request& req, httplib::Response& res, bool chat) {
  const Clock::time_point start = Clock::now();
  if (!ready_.load()) return Fail(res, 503, "the model is loading");
  absl::StatusOr<CompletionRequest> request = ParseCompletionRequest(req.body, chat);
  if (!request.ok()) return Fail(res, 400, request.status().message());
  if (!request->model.empty() && request->model != model_id_) {
    return Fail(res, 404, absl::StrCat("the model '", request->model, "' does not exist (this server has '",
                                       model_id_, "')"));
  }
  const runtime::Tokenizer& tokenizer = *model_->tokenizer;
  std::string prompt = request->prompt;
  if (chat) {
    if (!chat_template_) {
      return Fail(res, 400, absl::StrCat(chat_template_error_, " (when starting the server)"));
    }
    absl::StatusOr<std::string> rendered = chat_template_->Render(request->messages, true);
    if (!rendered.ok()) return Fail(res, 400, rendered.status().message());
    prompt = *std::move(rendered);
  }
  // A raw prompt is text (control tokens written in it stay text).
  absl::StatusOr<std::vector<int32_t>> ids =
      chat ? chat_template_->Encode(tokenizer, prompt)
           : tokenizer.Encode(prompt, tokenizer.add_bos(), /*parse_special=*/false);
  if (!ids.ok()) return Fail(res, 400, ids.status().message());
  if (ids->empty()) return Fail(res, 400, "the prompt is empty");
  const int64_t context = SlotContext();
  const int64_t prompt_tokens = static_cast<int64_t>(ids->size());
  if (prompt_tokens >= context) {
    return Fail(res, 400, absl::StrCat("the prompt is ", prompt_tokens,
                                       " tokens; the context holds ", context,
                                       " with room to generate"));
  }
  runtime::GenerateOptions options = request->options;
  // max_tokens is capped by what the context has left.
  options.max_tokens = static_cast<int32_t>(
      std::min<int64_t>(request->max_tokens.value_or(context), context - prompt_tokens));
  options.context_shift = false;
  absl::StatusOr<Slot*> acquired = Acquire(*ids);
  if (!acquired.ok()) {
    res.set_header("Retry-After", "1");
    return Fail(res, 503, acquired.status().message());
  }
  Slot* slot = *acquired;
  const std::string id = RandomId(chat ? "chatcmpl-" : "cmpl-");
  const int64_t created = static_cast<int64_t>(std::time(nullptr));
  // Records what a finished generation did, in the metrics and the log.
  auto finish = [this, &req, prompt](const runtime::GenerationStats& stats,
                                     const std::string& reply, bool cancelled, double queued) {
    metrics_.prompt_tokens += static_cast<uint64_t>(stats.prompt_tokens);
    metrics_.prompt_tokens_cached += static_cast<uint64_t>(stats.prompt_tokens_cached);
    metrics_.generated_tokens += static_cast<uint64_t>(stats.generated_tokens);
    if (cancelled) ++metrics_.cancelled;
    if (stats.generated_tokens > 0) metrics_.time_to_first_token.Observe(queued + stats.ttft_seconds);
    if (stats.decode_steps > 0) metrics_.token_latency.Observe(stats.decode_seconds / stats.decode_steps);
    std::lock_guard<std::mutex> lock(mu_);
    RequestInfo& info = requests_[&req];
    info.prompt_tokens = stats.prompt_tokens;
    info.cached_tokens = stats.prompt_tokens_cached;
    info.completion_tokens = stats.generated_tokens;
    info.cancelled = cancelled;
    if (options_.log_prompts) {
      info.prompt = prompt;
      info.reply = reply;
    }
  };

  if (!request->stream) {
    const double queued = Seconds(start, Clock::now());
    std::string text;
    absl::StatusOr<runtime::GenerationStats> stats =
        Generate(slot, *ids, options, [&](absl::string_view piece) {
          text.append(piece.data(), piece.size());
          return true;
        });
    Release(slot);
    if (!stats.ok()) return Fail(res, 500, stats.status().message());
    finish(*stats, text, false, queued);
    const Usage usage{stats->prompt_tokens, stats->generated_tokens, stats->prompt_tokens_cached};
    const char* reason = FinishReason(stats->stop_reason);
    res.set_content(chat ? ChatCompletionJson(id, created, model_id_, text, reason, usage)
                         : CompletionJson(id, created, model_id_, text, reason, usage),
                    "application/json");
    return;
  }

  // Streamed: the generation runs as the response body is written; the
  // slot is given back once it ends, whether the client stayed or not.
  struct Stream {
    Slot* slot;
    std::atomic<bool> released{false};
  };
  auto stream = std::make_shared<Stream>();
  stream->slot = slot;
  auto release = [this, stream] {
    if (!stream->released.exchange(true)) Release(stream->slot);
  };
  res.set_header("Cache-Control", "no-cache");
  const bool include_usage = request->include_usage;
  res.set_chunked_content_provider(
      "text/event-stream",
      [this, stream, release, finish, chat, id, created, include_usage, ids = *std::move(ids),
       options, start](size_t, httplib::DataSink& sink) {
        const double queued = Seconds(start, Clock::now());
        bool gone = false;
        auto send = [&](const std::string& event) {
          if (!gone && (!sink.is_writable() || !sink.write(event.data(), event.size()))) {
            gone = true;  // Generate cancels: it stops before the next token
          }
          return !gone;
        };
        if (chat) send(ChatChunkEvent(id, created, model_id_, true, "", nullptr));
        std::string reply;
        absl::StatusOr<runtime::GenerationStats> stats = Generate(
            stream->slot, ids, options, [&](absl::string_view piece) {
              reply.append(piece.data(), piece.size());
              const std::string text(piece);
              return send(chat ? ChatChunkEvent(id, created, model_id_, false, text, nullptr)
                               : CompletionChunkEvent(id, created, model_id_, text, nullptr));
            });
        const bool cancelled = gone || (stats.ok() && stats->stop_reason == runtime::StopReason::kCancelled);
        release();
        if (!stats.ok()) {
          send(absl::StrCat("data: ", ErrorJson(500, stats.status().message()), "\n\n"));
        } else {
          finish(*stats, reply, cancelled, queued);
          const char* reason = FinishReason(stats->stop_reason);
          send(chat ? ChatChunkEvent(id, created, model_id_, false, "", reason)
                    : CompletionChunkEvent(id, created, model_id_, "", reason));
          if (include_usage) {
            send(UsageChunkEvent(chat, id, created, model_id_,
                                 {stats->prompt_tokens, stats->generated_tokens,
                                  stats->prompt_tokens_cached}));
          }
          send(kDoneEvent);
        }
        if (!gone) sink.done();
        return !gone;
      },
      [release](bool) { release(); });
}

void Server::Tokenize(const httplib::Request& req, httplib::Response& res) {
  if (!ready_.load()) return Fail(res, 503, "the model is loading");
  const Json body = Json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return Fail(res, 400, "the request body is not a JSON object");
  auto content = body.find("content");
  if (content == body.end() || !content->is_string()) return Fail(res, 400, "'content' must be a string");
  bool add_special = false, parse_special = false;
  for (const auto& [key, out] : {std::pair<const char*, bool*>{"add_special", &add_special},
                                 {"parse_special", &parse_special}}) {
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) continue;
    if (!it->is_boolean()) return Fail(res, 400, absl::StrCat("'", key, "' must be true or false"));
    *out = it->get<bool>();
  }
  absl::StatusOr<std::vector<int32_t>> ids =
      model_->tokenizer->Encode(content->get<std::string>(), add_special, parse_special);
  if (!ids.ok()) return Fail(res, 400, ids.status().message());
  res.set_content(Json{{"tokens", *ids}}.dump(), "application/json");
}

void Server::Detokenize(const httplib::Request& req, httplib::Response& res) {
  if (!ready_.load()) return Fail(res, 503, "the model is loading");
  const Json body = Json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return Fail(res, 400, "the request body is not a JSON object");
  auto tokens = body.find("tokens");
  if (tokens == body.end() || !tokens->is_array()) return Fail(res, 400, "'tokens' must be a list");
  std::vector<int32_t> ids;
  for (const Json& t : *tokens) {
    if (!t.is_number_integer() || t.get<int64_t>() < 0 ||
        t.get<int64_t>() >= model_->tokenizer->vocab_size()) {
      return Fail(res, 400, "'tokens' must hold ids in the vocabulary");
    }
    ids.push_back(static_cast<int32_t>(t.get<int64_t>()));
  }
  res.set_content(absl::StrCat("{\"content\":", JsonString(model_->tokenizer->Decode(ids)), "}"),
                  "application/json");
}

void Server::Log(const httplib::Request& req, const httplib::Response& res) {
  const std::string endpoint = EndpointOf(req.path);
  metrics_.CountRequest(endpoint, res.status);
  RequestInfo info;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = requests_.find(&req);
    if (it != requests_.end()) {
      info = std::move(it->second);
      requests_.erase(it);
    }
  }
  // One line per request; never the key, and the texts only when asked.
  std::string line = absl::StrFormat("%s %s %d %.1fms", req.method, req.path, res.status,
                                     info.start == Clock::time_point()
                                         ? 0.0
                                         : 1e3 * Seconds(info.start, Clock::now()));
  if (info.prompt_tokens > 0) {
    absl::StrAppendFormat(&line, " prompt=%d cached=%d completion=%d%s", info.prompt_tokens,
                          info.cached_tokens, info.completion_tokens,
                          info.cancelled ? " cancelled" : "");
  }
  if (options_.log_prompts && !info.prompt.empty()) {
    absl::StrAppendFormat(&line, " prompt=%s reply=%s", JsonString(info.prompt),
                          JsonString(info.reply));
  }
  absl::FPrintF(stderr, "%s\n", line);
}

}  // namespace smallmind::server
