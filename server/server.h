// `smallmind serve`: an OpenAI-compatible HTTP server over one loaded model.
//
// Three parts: the HTTP front end (http_server.h: one event-loop thread for
// every socket, deadlines, a connection cap), the request pipeline here
// (auth, OpenAI's request and response objects from openai.h, the chat
// template, tokenizing, metrics and the log line), and the engine
// (scheduler.h: --parallel slots decoded together, a bounded queue, one
// thread). A request takes the free slot whose cache shares the longest
// prefix with its prompt (with --cache-ram, prefixes slots gave up are kept
// for later requests too), waits in the queue when every slot is busy, and
// beyond that is refused with 503 and Retry-After. A client that goes away
// cancels its generation at once, waiting or running.
//
// Endpoints: POST /v1/chat/completions, POST /v1/completions (streamed as
// Server-Sent Events when asked), GET /v1/models, GET /health (503 while
// the model loads or the server drains, then 200), GET /metrics
// (Prometheus), POST /tokenize, POST /detokenize, and POST /v1/embeddings
// and POST /v1/rerank (an encoder model always; a decoder with
// --embeddings; a server on an encoder refuses completions). Errors are
// OpenAI's JSON error objects. docs/server.md describes every field.
#ifndef SMALLMIND_SERVER_SERVER_H_
#define SMALLMIND_SERVER_SERVER_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "core/thread_pool.h"
#include "runtime/embedder.h"
#include "runtime/loaded_model.h"
#include "runtime/options.h"
#include "runtime/prompt_cache.h"
#include "server/http_server.h"
#include "server/metrics.h"
#include "server/openai.h"
#include "server/scheduler.h"
#include "text/chat_template.h"

namespace smallmind::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int32_t port = 8080;  // 0: any free port (see Server::port)
  bool reuse_port = false;
  int32_t parallel = 1;
  // threads: in all; context: per slot (0: the model's); batch: prompt
  // tokens per forward pass.
  runtime::SessionOptions session;
  // A slot whose context fills keeps its last half and goes on (max_tokens
  // is then not capped by the context left); off: it stops there.
  bool context_shift = false;
  int32_t queue = 64;  // requests that may wait for a slot
  int64_t cache_ram = 256;  // MiB of earlier prompts' keys and values; 0: off
  int64_t kv_budget = 0;    // KV positions over all slots; 0: every slot its context
  std::string api_key;
  std::string api_key_file;
  int64_t max_body = 8 << 20;  // bytes
  int32_t max_connections = 16384;
  double header_timeout = 10;  // seconds to send a request's headers
  double body_timeout = 30;    // seconds to send its body
  double idle_timeout = 5;     // seconds a keep-alive connection may idle
  int32_t timeout = 600;       // seconds a client may take to read an answer
  int32_t grace = 10;          // seconds a shutdown waits for requests
  std::string alias;           // the model's id; default: its file name
  std::string chat_template;   // a built-in name or Jinja, instead of the model's
  bool log_prompts = false;
  bool embeddings = false;  // a decoder answers /v1/embeddings too
  std::string pooling;      // embeddings' pooling; empty: the model's

  template <class Visitor>
  void VisitFields(Visitor&& v) {
    v(host, {"host", 0, nullptr, "address to listen on"});
    v(port, {"port", 0, nullptr, "port to listen on (0: any free one)"});
    v(reuse_port, {"reuse-port", 0, nullptr,
                   "share the port with other processes listening on it (SO_REUSEPORT); "
                   "without it a port in use is an error"});
    v(parallel, {"parallel", 0, nullptr, "slots: requests generated at once, decoded together"});
    session.VisitFields(v);
    v(context_shift, {"context-shift", 0, nullptr,
                      "when a slot's context fills, keep its last half and go on"});
    v(cache_ram, {"cache-ram", 0, nullptr,
                  "MiB of earlier prompts' keys and values kept for later requests that share "
                  "their beginning (0: off)"});
    v(kv_budget, {"kv-budget", 0, nullptr,
                  "KV cache positions all slots hold together, at least one slot's context "
                  "(0: every slot its whole context); beyond it requests wait their turn"});
    v(queue, {"queue", 0, nullptr, "requests that may wait for a slot before 503s"});
    v(api_key, {"api-key", 0, nullptr, "require 'Authorization: Bearer KEY' (not on /health)"});
    v(api_key_file, {"api-key-file", 0, nullptr, "read the API key from this file"});
    v(max_body, {"max-body", 0, nullptr, "largest request body, in bytes"});
    v(max_connections, {"max-connections", 0, nullptr,
                        "open connections; beyond them a new one gets 503 and is closed"});
    v(header_timeout, {"header-timeout", 0, nullptr,
                       "seconds a client may take to send a request's headers"});
    v(body_timeout, {"body-timeout", 0, nullptr,
                     "seconds a client may take to send a request's body"});
    v(idle_timeout, {"idle-timeout", 0, nullptr,
                     "seconds a keep-alive connection may wait for its next request"});
    v(timeout, {"timeout", 0, nullptr,
                "seconds a client may take to read what is sent before it is dropped"});
    v(grace, {"grace", 0, nullptr, "seconds SIGTERM waits for running requests"});
    v(alias, {"alias", 0, nullptr, "the model's id in the API (default: its file name)"});
    v(chat_template, {"chat-template", 0, nullptr,
                      "a built-in chat template (chatml, llama3, llama2, gemma, phi3, zephyr) "
                      "or Jinja text, instead of the model's"});
    v(log_prompts, {"log-prompts", 0, nullptr, "log each request's prompt and reply"});
    v(embeddings, {"embeddings", 0, nullptr,
                   "answer /v1/embeddings with this decoder too (encoders always do)"});
    v(pooling, {"pooling", 0, nullptr,
                "how embeddings are pooled: mean, cls, last or rank (default: the model's)"});
  }
};

class Server {
 public:
  using LoadFn = std::function<absl::StatusOr<runtime::LoadedModel>()>;

  // Checks the options and binds the listening socket, before any model is
  // loaded. Errors on a bad option or a port another socket holds
  // ("address already in use").
  static absl::StatusOr<std::unique_ptr<Server>> Create(ServerOptions options);
  ~Server();

  int port() const { return http_->port(); }

  // Serves on background threads; `load` runs on its own (/health answers
  // 503 until it returns). A failed load is kept for load_status().
  void Start(LoadFn load);

  // Stops taking requests (they get 503), waits up to the grace period for
  // running ones, cancels what is left, and stops listening.
  void Shutdown();
  // Blocks until the server has stopped.
  void Wait();

  // OK once loaded; the load's error if it failed; Unavailable before.
  absl::Status load_status() const;
  const Metrics& metrics() const { return metrics_; }
  // The figures /metrics reads from the scheduler and the HTTP front end.
  Metrics::Live live() const;

 private:
  explicit Server(ServerOptions options);
  void Route();
  void Load(const LoadFn& load);
  // The request pipeline: parse, template, tokenize, queue; the answer
  // comes back through the exchange.
  void Completion(const HttpRequest& request, const HttpExchange& exchange, bool chat);
  // A request's prompt as token ids and text; errors are the client's (400).
  struct Prompt {
    std::vector<int32_t> ids;
    std::string text;
    // With tools (and tool_choice not none): the template's call format,
    // and for tool_choice required or a function, the grammar of the calls.
    ToolFormat tool_format = ToolFormat::kNone;
    std::string tool_grammar;
  };
  absl::StatusOr<Prompt> PromptOf(const CompletionRequest& request, bool chat) const;
  // The generation options for a prompt of `prompt_tokens`: max_tokens
  // capped by the context left, unless a full context shifts.
  runtime::GenerateOptions OptionsFor(const CompletionRequest& request,
                                      int64_t prompt_tokens) const;
  // Counts a finished generation in the metrics and notes it in the log.
  void Record(const runtime::GenerationStats& stats, const HttpExchange& exchange,
              const std::string& user, const std::string& prompt,
              const std::string& reply);
  void Tokenize(const HttpRequest& request, const HttpExchange& exchange);
  // /v1/embeddings and /v1/rerank: on the worker thread, one request at a
  // time through the embedder (its own thread pool).
  void Embeddings(const HttpRequest& request, const HttpExchange& exchange);
  void Rerank(const HttpRequest& request, const HttpExchange& exchange);
  // A flag set when the exchange's client goes away (Embedder::Call's).
  static std::shared_ptr<std::atomic<bool>> GoneFlag(const HttpExchange& exchange);
  // An embedding or rerank call's error: a 400, or counted as cancelled
  // when the client went away.
  void FailEmbedding(const HttpExchange& exchange, const absl::Status& status);
  // Ready and serving embeddings (else a 400 naming why); checks the model.
  bool EmbeddingsReady(const HttpExchange& exchange, const std::string& model) const;
  void Detokenize(const HttpRequest& request, const HttpExchange& exchange);
  bool Authorized(const HttpRequest& request, const HttpExchange& exchange) const;
  // 503 while loading or draining; true when the request may go on.
  bool Ready(const HttpExchange& exchange) const;
  void Fail(const HttpExchange& exchange, int status, absl::string_view message) const;
  void Logged(const HttpRequest& request, int status, double seconds, const std::string& notes);

  ServerOptions options_;
  runtime::KvTypes kv_types_;  // options_.session's, parsed
  std::unique_ptr<HttpServer> http_;
  std::thread loader_;

  // Set once by the loader before ready_.
  std::optional<runtime::LoadedModel> model_;
  std::optional<text::ChatTemplate> chat_template_;
  std::string chat_template_error_;
  std::string model_id_;
  std::unique_ptr<runtime::PromptCache> prompt_cache_;  // --cache-ram > 0
  std::unique_ptr<Scheduler> scheduler_;  // null for an encoder (it does not generate)
  std::unique_ptr<core::ThreadPool> embed_pool_;
  std::unique_ptr<runtime::Embedder> embedder_;  // encoders, and --embeddings
  runtime::EmbedOptions embed_options_;
  std::mutex embed_mu_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> draining_{false};

  mutable std::mutex mu_;
  absl::Status load_status_ = absl::UnavailableError("loading");
  bool stopped_ = false;

  Metrics metrics_;
};

}  // namespace smallmind::server

#endif  // SMALLMIND_SERVER_SERVER_H_
