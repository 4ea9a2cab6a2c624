// `smallmind serve`: an OpenAI-compatible HTTP server over one loaded model.
//
// Requests run in slots (--parallel): each slot is a runtime::Session with
// its own KV cache over the shared model, and --threads are divided among
// them. A request takes the free slot whose cache shares the longest prefix
// with its prompt (so a chat resending its history prefills only the new
// turn; with --cache-ram, prefixes a slot gave up are kept for later
// requests too), waits in a bounded queue when every slot is busy, and beyond that
// is refused with 503 and Retry-After. A streaming client that goes away
// cancels its generation before the next token and frees its slot.
//
// Endpoints: POST /v1/chat/completions, POST /v1/completions (streamed as
// Server-Sent Events when asked), GET /v1/models, GET /health (503 while
// the model loads or the server drains, then 200), GET /metrics
// (Prometheus), POST /tokenize, POST /detokenize. Errors are OpenAI's JSON
// error objects. docs/server.md describes every field.
#ifndef SMALLMIND_SERVER_SERVER_H_
#define SMALLMIND_SERVER_SERVER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/chat_template.h"
#include "runtime/decode_batch.h"
#include "runtime/loaded_model.h"
#include "runtime/options.h"
#include "runtime/prompt_cache.h"
#include "runtime/session.h"
#include "server/metrics.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace smallmind::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int32_t port = 8080;  // 0: any free port (see Server::port)
  int32_t parallel = 1;
  // threads: in all, divided among the slots; context: per slot (0: the
  // model's); batch: prompt tokens per forward pass.
  runtime::SessionOptions session;
  int32_t queue = 64;  // requests that may wait for a slot
  // Continuous batching: the slots' next tokens run in one forward pass.
  // Off: each slot is a session of its own, on its share of the threads.
  bool batching = true;
  int64_t cache_ram = 256;  // MiB of earlier prompts' keys and values; 0: off
  std::string api_key;
  std::string api_key_file;
  int64_t max_body = 8 << 20;  // bytes
  int32_t timeout = 600;       // seconds: reading a request, writing a response
  int32_t grace = 10;          // seconds a shutdown waits for requests
  std::string alias;           // the model's id; default: its file name
  std::string chat_template;   // a built-in name or Jinja, instead of the model's
  bool log_prompts = false;

  template <class Visitor>
  void VisitFields(Visitor&& v) {
    v(host, {"host", 0, nullptr, "address to listen on"});
    v(port, {"port", 0, nullptr, "port to listen on (0: any free one)"});
    v(parallel, {"parallel", 0, nullptr, "slots: requests generated at once"});
    v(batching, {"batching", 0, nullptr,
                 "decode the slots together, one forward pass per token for all (continuous "
                 "batching)"});
    session.VisitFields(v);
    v(cache_ram, {"cache-ram", 0, nullptr,
                  "MiB of earlier prompts' keys and values kept for later requests that share "
                  "their beginning (0: off)"});
    v(queue, {"queue", 0, nullptr, "requests that may wait for a slot before 503s"});
    v(api_key, {"api-key", 0, nullptr, "require 'Authorization: Bearer KEY' (not on /health)"});
    v(api_key_file, {"api-key-file", 0, nullptr, "read the API key from this file"});
    v(max_body, {"max-body", 0, nullptr, "largest request body, in bytes"});
    v(timeout, {"timeout", 0, nullptr, "seconds to read a request or write a response"});
    v(grace, {"grace", 0, nullptr, "seconds SIGTERM waits for running requests"});
    v(alias, {"alias", 0, nullptr, "the model's id in the API (default: its file name)"});
    v(chat_template, {"chat-template", 0, nullptr,
                      "a built-in chat template (chatml, llama3, llama2, gemma, phi3, zephyr) "
                      "or Jinja text, instead of the model's"});
    v(log_prompts, {"log-prompts", 0, nullptr, "log each request's prompt and reply"});
  }
};

class Server {
 public:
  using LoadFn = std::function<absl::StatusOr<runtime::LoadedModel>()>;

  // Checks the options and binds the listening socket. Errors on a bad
  // option or a port in use.
  static absl::StatusOr<std::unique_ptr<Server>> Create(ServerOptions options);
  ~Server();

  int port() const { return port_; }

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

 private:
  struct Slot;
  // What the log line of a request reports besides its status.
  struct RequestInfo {
    std::chrono::steady_clock::time_point start;
    int64_t prompt_tokens = 0, cached_tokens = 0, completion_tokens = 0;
    std::string prompt, reply;  // with --log-prompts
    bool cancelled = false;
  };

  explicit Server(ServerOptions options);
  void Route();
  void Load(const LoadFn& load);
  // A slot for `prompt` (the longest cached prefix among the free ones),
  // waiting when none is free; Unavailable when the queue is full or the
  // server is stopping.
  absl::StatusOr<Slot*> Acquire(const std::vector<int32_t>& prompt);
  void Release(Slot* slot);
  int64_t SlotContext() const;
  // Runs a generation in `slot` for `prompt` (the whole history), streaming
  // to `on_text` on the calling thread; false from it cancels.
  absl::StatusOr<runtime::GenerationStats> Generate(Slot* slot, const std::vector<int32_t>& prompt,
                                                    const runtime::GenerateOptions& options,
                                                    const runtime::TextCallback& on_text);
  // The batching engine's loop (batching on): starts queued generations
  // and steps the batch while anything is active.
  void Engine();
  void Completion(const httplib::Request& req, httplib::Response& res, bool chat);
  void Tokenize(const httplib::Request& req, httplib::Response& res);
  void Detokenize(const httplib::Request& req, httplib::Response& res);
  void Fail(httplib::Response& res, int status, absl::string_view message);
  void Log(const httplib::Request& req, const httplib::Response& res);

  ServerOptions options_;
  std::unique_ptr<httplib::Server> http_;
  int port_ = 0;
  std::thread listener_, loader_;

  // Set once by the loader before ready_.
  std::optional<runtime::LoadedModel> model_;
  std::optional<runtime::ChatTemplate> chat_template_;
  std::string chat_template_error_;
  std::string model_id_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::unique_ptr<runtime::DecodeBatch> batch_;  // batching on
  std::unique_ptr<runtime::PromptCache> prompt_cache_;  // --cache-ram > 0
  std::atomic<bool> ready_{false};

  // The engine's queue of generations to start (batching on).
  struct Job;
  std::mutex engine_mu_;
  std::condition_variable engine_wake_;
  std::vector<std::shared_ptr<Job>> jobs_;
  bool engine_stop_ = false;
  std::thread engine_;

  mutable std::mutex mu_;
  std::condition_variable slot_freed_;
  absl::Status load_status_ = absl::UnavailableError("loading");
  bool draining_ = false;
  int waiting_ = 0;
  // Waiting requests get slots first come, first served: each takes a
  // ticket, and a free slot goes to the oldest one.
  uint64_t next_ticket_ = 0;
  std::deque<uint64_t> tickets_;
  std::map<const httplib::Request*, RequestInfo> requests_;  // for the log line

  Metrics metrics_;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace smallmind::server

#endif  // SMALLMIND_SERVER_SERVER_H_
