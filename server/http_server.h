// An event-driven HTTP/1.1 server: one thread owns every socket (Boost.Asio's
// epoll reactor, Boost.Beast's request parser), so an idle, slow or
// half-open connection costs a few hundred bytes and a file descriptor, never
// a thread. Handlers that do real work run on a few worker threads and
// answer asynchronously through their HttpExchange, from any thread; a
// streamed answer (Server-Sent Events) is written as chunks as they come.
//
// What a hostile or broken client meets:
// - a deadline for a request's headers (from the connection's first byte, or
//   from its acceptance) and another for its body, separate from how long
//   the answer takes: a client sending a byte a second is cut off with 408;
// - a keep-alive connection idle for longer than `idle_timeout` is closed;
// - beyond `max_connections` open connections a new one is answered 503 and
//   closed at once;
// - a client that stops reading an answer is dropped after `write_timeout`;
// - a client that goes away while its request runs is noticed at once (a
//   read stays posted), and the exchange's OnClientGone callback fires.
// docs/server.md explains the choice of Asio and Beast.
#ifndef SMALLMIND_SERVER_HTTP_SERVER_H_
#define SMALLMIND_SERVER_HTTP_SERVER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace smallmind::server {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as sent: path and query
  std::string path;    // the target without its query
  HttpHeaders headers;  // names in lower case
  std::string body;
  // The value of header `name` (lower case), or empty.
  std::string Header(absl::string_view name) const;
};

class HttpConnection;

// The answering side of one request. A cheap handle, copyable, usable from
// any thread; every call after the exchange has ended (answered, or the
// client gone) does nothing.
class HttpExchange {
 public:
  HttpExchange() = default;
  HttpExchange(std::shared_ptr<HttpConnection> connection, uint64_t id)
      : connection_(std::move(connection)), id_(id) {}

  // A whole answer.
  void Respond(int status, absl::string_view content_type, std::string body,
               HttpHeaders headers = {}) const;
  // A streamed answer: its head now, then Write each piece as it is made,
  // then End.
  void BeginStream(int status, absl::string_view content_type, HttpHeaders headers = {}) const;
  // False once the client is gone (the piece is dropped).
  bool Write(std::string piece) const;
  void End() const;

  // Whether the client has gone away (closed, reset, timed out).
  bool client_gone() const;
  // `fn` runs once, on the server's thread, when the client goes away
  // before the answer is complete (at once if it already has). It must
  // not block.
  void OnClientGone(std::function<void()> fn) const;
  // Appended to the request's log line.
  void Note(std::string note) const;

 private:
  std::shared_ptr<HttpConnection> connection_;
  uint64_t id_ = 0;  // which of the connection's requests
};

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int32_t port = 8080;     // 0: any free port
  bool reuse_port = false;  // SO_REUSEPORT: share the port with other processes
  int32_t max_connections = 16384;
  double header_timeout = 10;  // seconds to send a request's headers
  double body_timeout = 30;    // seconds to send its body
  double idle_timeout = 5;     // seconds a keep-alive connection may wait idle
  double write_timeout = 600;  // seconds a client may take to read what is sent
  int64_t max_body = 8 << 20;  // bytes
  int32_t workers = 2;         // threads for handlers that do not run inline
};

class HttpServer {
 public:
  using Handler = std::function<void(HttpRequest request, HttpExchange exchange)>;
  // What ends every exchange: the request (without its body), the status
  // sent (0 when the client left before any), and the exchange's notes.
  using Completion = std::function<void(const HttpRequest& request, int status, double seconds,
                                        const std::string& notes)>;
  // The body of an error the server itself answers (404, 408, 413, ...).
  using ErrorBody = std::function<std::string(int status, absl::string_view message)>;

  // Binds and listens. Errors: a port another socket holds ("address already
  // in use"), an address that is not this host's, bad options.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Create(HttpServerOptions options);
  ~HttpServer();

  // Routes, before Start. `inline_handler` runs on the server's thread and
  // must be quick (no model work); otherwise a worker runs it.
  void Route(absl::string_view method, absl::string_view path, Handler handler,
             bool inline_handler = false);
  void OnComplete(Completion completion) { completion_ = std::move(completion); }
  void SetErrorBody(ErrorBody error_body) { error_body_ = std::move(error_body); }

  int port() const { return port_; }
  // The connection cap in force: the option's, or less when the process
  // may not open that many descriptors.
  int32_t max_connections() const { return options_.max_connections; }
  void Start();
  // Stops accepting and closes every connection; waits for the threads.
  void Stop();

  struct Counters {
    std::atomic<int64_t> open{0};      // connections open now
    std::atomic<int64_t> accepted{0};
    std::atomic<int64_t> refused{0};   // beyond max_connections
    std::atomic<int64_t> timed_out{0};  // header, body, idle or write deadline
  };
  const Counters& counters() const { return counters_; }

 private:
  friend class HttpConnection;
  struct Impl;
  struct RouteEntry {
    Handler handler;
    bool inline_handler = false;
  };

  explicit HttpServer(HttpServerOptions options);
  // Runs the route of `request` (or answers 404/405).
  void Dispatch(HttpRequest request, HttpExchange exchange);
  std::string ErrorText(int status, absl::string_view message) const;

  HttpServerOptions options_;
  std::unique_ptr<Impl> impl_;
  std::map<std::pair<std::string, std::string>, RouteEntry> routes_;
  Completion completion_;
  ErrorBody error_body_;
  int port_ = 0;
  Counters counters_;
};

}  // namespace smallmind::server

#endif  // SMALLMIND_SERVER_HTTP_SERVER_H_
