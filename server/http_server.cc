#include "server/http_server.h"

#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "boost/asio.hpp"
#include "boost/beast/core/flat_buffer.hpp"
#include "boost/beast/http.hpp"

namespace smallmind::server {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kHeaderLimit = 16 << 10;
// Bytes read ahead while a request runs (a pipelined next request); past
// this the connection stops reading until the answer is done.
constexpr size_t kReadAheadLimit = 64 << 10;

std::chrono::steady_clock::duration SecondsToDuration(double s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(s));
}

const char* Reason(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

// Each connection takes a descriptor: lift the soft limit to the hard one
// (what a server that means to hold thousands of connections must do), and
// return it.
int64_t RaiseDescriptorLimit() {
  rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    getrlimit(RLIMIT_NOFILE, &limit);
  }
  return limit.rlim_cur == RLIM_INFINITY ? int64_t{1} << 30 : static_cast<int64_t>(limit.rlim_cur);
}

// Descriptors kept for everything but connections: the model file, the
// listening socket, logs, the refusals past the cap.
constexpr int64_t kReservedDescriptors = 64;

}  // namespace

std::string HttpRequest::Header(absl::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return std::string();
}

// What every connection shares: the event loop, the options, the routes
// (through the server) and whether the server has stopped (after which
// nothing is posted to the loop).
struct HttpServer::Impl {
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  asio::steady_timer retry_accept{io};
  std::thread io_thread;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;

  std::mutex mu;
  bool stopped = false;
  std::unordered_set<HttpConnection*> connections;  // io thread only
  std::atomic<int64_t> answering{0};  // requests dispatched, not yet answered

  // Workers for handlers that do not run inline.
  std::vector<std::thread> workers;
  std::mutex queue_mu;
  std::condition_variable queue_cv;
  std::deque<std::function<void()>> queue;
  bool queue_stop = false;

  void Accept(HttpServer* server);
  void Refuse(HttpServer* server, tcp::socket socket);

  // Runs `fn` on the event loop unless the server has stopped.
  void Post(std::function<void()> fn) {
    std::lock_guard<std::mutex> lock(mu);
    if (!stopped) asio::post(io, std::move(fn));
  }
};

class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
 public:
  HttpConnection(HttpServer* server, tcp::socket socket)
      : server_(server),
        impl_(*server->impl_),
        socket_(std::move(socket)),
        read_timer_(impl_.io),
        write_timer_(impl_.io) {}

  void Start() {
    impl_.connections.insert(this);
    boost::system::error_code ignored;
    socket_.set_option(tcp::no_delay(true), ignored);
    ++server_->counters_.open;
    WaitForRequest(/*first=*/true);
  }

  // Called on the event loop when the server stops.
  void Shutdown() { Close(/*timed_out=*/false); }

  // The exchange's calls, from any thread: each is posted to the loop.
  void Respond(uint64_t id, int status, std::string content_type, std::string body,
               HttpHeaders headers) {
    Post([self = shared_from_this(), id, status, content_type = std::move(content_type),
          body = std::move(body), headers = std::move(headers)]() mutable {
      if (!self->Current(id) || self->answer_begun_) return;
      self->Queue(self->Head(status, content_type, headers, body.size(), false) + body);
      self->answer_done_ = true;
      self->MaybeFinish();
    });
  }
  void BeginStream(uint64_t id, int status, std::string content_type, HttpHeaders headers) {
    Post([self = shared_from_this(), id, status, content_type = std::move(content_type),
          headers = std::move(headers)] {
      if (!self->Current(id) || self->answer_begun_) return;
      self->answer_begun_ = true;
      self->streaming_ = true;
      self->Queue(self->Head(status, content_type, headers, 0, true));
    });
  }
  bool Write(uint64_t id, std::string piece) {
    if (gone_.load(std::memory_order_relaxed)) return false;
    if (piece.empty()) return true;
    Post([self = shared_from_this(), id, piece = std::move(piece)] {
      if (!self->Current(id) || !self->streaming_ || self->answer_done_) return;
      self->Queue(self->chunked_ ? absl::StrFormat("%x\r\n%s\r\n", piece.size(), piece) : piece);
    });
    return !gone_.load(std::memory_order_relaxed);
  }
  void End(uint64_t id) {
    Post([self = shared_from_this(), id] {
      if (!self->Current(id) || !self->streaming_ || self->answer_done_) return;
      if (self->chunked_) self->Queue("0\r\n\r\n");
      self->answer_done_ = true;
      self->MaybeFinish();
    });
  }
  bool gone() const { return gone_.load(std::memory_order_relaxed); }
  void OnGone(uint64_t id, std::function<void()> fn) {
    Post([self = shared_from_this(), id, fn = std::move(fn)]() mutable {
      if (self->id_ != id) return;
      if (self->gone_.load()) {
        fn();
      } else if (!self->answer_done_) {
        self->on_gone_.push_back(std::move(fn));
      }
    });
  }
  void Note(uint64_t id, std::string note) {
    Post([self = shared_from_this(), id, note = std::move(note)] {
      if (self->id_ == id) absl::StrAppend(&self->notes_, self->notes_.empty() ? "" : " ", note);
    });
  }

 private:
  enum class Phase { kIdle, kHeader, kBody, kHandling, kClosed };

  void Post(std::function<void()> fn) { impl_.Post(std::move(fn)); }
  bool Current(uint64_t id) const { return id == id_ && phase_ == Phase::kHandling && !gone_; }

  // Waits for a request's first byte: the header deadline for a new
  // connection, the idle timeout for one kept alive.
  void WaitForRequest(bool first) {
    phase_ = Phase::kIdle;
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(static_cast<uint64_t>(server_->options_.max_body));
    if (buffer_.size() > 0) return ReadHeader(Clock::now());
    Arm(read_timer_, first ? server_->options_.header_timeout : server_->options_.idle_timeout);
    const Clock::time_point accepted = Clock::now();
    socket_.async_wait(tcp::socket::wait_read,
                       [self = shared_from_this(), first, accepted](boost::system::error_code ec) {
                         if (ec || self->phase_ == Phase::kClosed) return self->Close(false);
                         self->ReadHeader(first ? accepted : Clock::now());
                       });
  }

  // The headers must be complete within the header timeout of `since`.
  void ReadHeader(Clock::time_point since) {
    phase_ = Phase::kHeader;
    ArmAt(read_timer_, since + SecondsToDuration(server_->options_.header_timeout));
    http::async_read_header(socket_, buffer_, *parser_,
                            [self = shared_from_this()](boost::system::error_code ec, size_t) {
                              self->OnHeader(ec);
                            });
  }

  void OnHeader(boost::system::error_code ec) {
    if (phase_ != Phase::kHeader) return;  // closed, or timed out and answered
    if (ec) return ReadFailed(ec);
    const auto& header = parser_->get();
    keep_alive_ = header.keep_alive();
    http11_ = header.version() >= 11;
    if (parser_->is_done()) return OnRequest();
    // curl and others wait for this before sending a body.
    if (absl::EqualsIgnoreCase(std::string(header[http::field::expect]), "100-continue")) {
      Queue("HTTP/1.1 100 Continue\r\n\r\n");
    }
    phase_ = Phase::kBody;
    Arm(read_timer_, server_->options_.body_timeout);
    http::async_read(socket_, buffer_, *parser_,
                     [self = shared_from_this()](boost::system::error_code ec, size_t) {
                       if (self->phase_ != Phase::kBody) return;
                       if (ec) return self->ReadFailed(ec);
                       self->OnRequest();
                     });
  }

  // A request could not be read: answer what went wrong, then close.
  void ReadFailed(boost::system::error_code ec) {
    read_timer_.cancel();
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset) {
      return Close(false);
    }
    int status = 400;
    std::string message = "the request is malformed";
    if (ec == http::error::body_limit) {
      status = 413;
      message = absl::StrCat("the request body is larger than ", server_->options_.max_body,
                             " bytes");
    } else if (ec == http::error::header_limit) {
      status = 431;
      message = "the request's headers are too large";
    }
    ErrorAndClose(status, message);
  }

  // Answers an error the server found itself, and closes.
  void ErrorAndClose(int status, absl::string_view message) {
    keep_alive_ = false;
    ++id_;
    phase_ = Phase::kHandling;
    answer_done_ = true;
    request_.method = parser_ && parser_->is_header_done()
                          ? std::string(parser_->get().method_string())
                          : std::string();
    request_.path.clear();
    request_start_ = Clock::now();
    status_ = status;
    const std::string body = server_->ErrorText(status, message);
    Queue(Head(status, "application/json", {}, body.size(), false) + body);
    MaybeFinish();
  }

  void OnRequest() {
    read_timer_.cancel();
    auto message = parser_->release();
    parser_.reset();
    HttpRequest request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    request.path = request.target.substr(0, request.target.find('?'));
    for (const auto& field : message) {
      request.headers.emplace_back(absl::AsciiStrToLower(std::string(field.name_string())),
                                   std::string(field.value()));
    }
    request.body = std::move(message.body());
    ++id_;
    phase_ = Phase::kHandling;
    answer_begun_ = answer_done_ = streaming_ = false;
    status_ = 0;
    notes_.clear();
    request_start_ = Clock::now();
    request_ = request;
    request_.body.clear();
    in_flight_ = true;
    ++impl_.answering;
    WatchForClose();
    server_->Dispatch(std::move(request), HttpExchange(shared_from_this(), id_));
  }

  // While a request runs, a read stays posted: it ends when the client
  // goes away (or sends its next request early, which is kept).
  // The read goes to a buffer of its own; the next request begins only
  // after it has completed (MaybeFinish cancels it), so no two reads ever
  // share `buffer_`.
  void WatchForClose() {
    if (watching_ || phase_ != Phase::kHandling || buffer_.size() >= kReadAheadLimit) return;
    watching_ = true;
    socket_.async_read_some(asio::buffer(probe_), [self = shared_from_this()](
                                                      boost::system::error_code ec, size_t n) {
      self->watching_ = false;
      if (self->phase_ == Phase::kClosed) return;
      if (!ec && n > 0) {
        asio::buffer_copy(self->buffer_.prepare(n), asio::buffer(self->probe_.data(), n));
        self->buffer_.commit(n);
      }
      if (self->next_after_watch_) {
        self->next_after_watch_ = false;
        return self->WaitForRequest(/*first=*/false);
      }
      if (ec) return self->Close(false);
      self->WatchForClose();
    });
  }

  std::string Head(int status, absl::string_view content_type, const HttpHeaders& headers,
                   size_t length, bool stream) {
    status_ = status;
    answer_begun_ = true;
    chunked_ = stream && http11_;
    if (stream && !http11_) keep_alive_ = false;  // the end of the body is the close
    std::string head = absl::StrFormat("HTTP/1.1 %d %s\r\nContent-Type: %s\r\n", status,
                                       Reason(status), content_type);
    for (const auto& [name, value] : headers) absl::StrAppend(&head, name, ": ", value, "\r\n");
    if (chunked_) {
      absl::StrAppend(&head, "Transfer-Encoding: chunked\r\n");
    } else if (!stream) {
      absl::StrAppend(&head, "Content-Length: ", length, "\r\n");
    }
    absl::StrAppend(&head, "Connection: ", keep_alive_ ? "keep-alive" : "close", "\r\n\r\n");
    return head;
  }

  void Queue(std::string bytes) {
    if (phase_ == Phase::kClosed) return;
    out_.push_back(std::move(bytes));
    if (!writing_) DoWrite();
  }

  void DoWrite() {
    if (out_.empty()) {
      writing_ = false;
      write_timer_.cancel();
      return MaybeFinish();
    }
    writing_ = true;
    Arm(write_timer_, server_->options_.write_timeout);
    asio::async_write(socket_, asio::buffer(out_.front()),
                      [self = shared_from_this()](boost::system::error_code ec, size_t) {
                        if (self->phase_ == Phase::kClosed) return;
                        if (ec) return self->Close(false);
                        self->out_.pop_front();
                        self->DoWrite();
                      });
  }

  // Once the answer is complete and written: the next request, or close.
  void MaybeFinish() {
    if (phase_ != Phase::kHandling || !answer_done_ || writing_ || !out_.empty()) return;
    Complete(status_);
    if (!keep_alive_) {
      boost::system::error_code ignored;
      socket_.shutdown(tcp::socket::shutdown_send, ignored);
      return Close(false);
    }
    if (watching_) {
      next_after_watch_ = true;
      boost::system::error_code ignored;
      socket_.cancel(ignored);  // the watching read ends, then the next request
      return;
    }
    WaitForRequest(/*first=*/false);
  }

  // The exchange in progress ends: the completion hook, once.
  void Complete(int status) {
    if (in_flight_) {
      in_flight_ = false;
      --impl_.answering;
    }
    if (completed_id_ == id_ || request_.method.empty()) return;
    completed_id_ = id_;
    if (server_->completion_) {
      server_->completion_(
          request_, status,
          std::chrono::duration<double>(Clock::now() - request_start_).count(), notes_);
    }
  }

  void Close(bool timed_out) {
    if (phase_ == Phase::kClosed) return;
    const bool answering = phase_ == Phase::kHandling && !answer_done_;
    const bool unanswered = phase_ == Phase::kHandling && (!answer_done_ || !out_.empty());
    phase_ = Phase::kClosed;
    gone_.store(true);
    if (timed_out) ++server_->counters_.timed_out;
    boost::system::error_code ignored;
    read_timer_.cancel();
    write_timer_.cancel();
    socket_.close(ignored);
    out_.clear();
    if (unanswered) Complete(answer_begun_ ? status_ : 0);
    if (answering) {
      std::vector<std::function<void()>> callbacks = std::move(on_gone_);
      for (auto& fn : callbacks) fn();
    }
    on_gone_.clear();
    impl_.connections.erase(this);
    --server_->counters_.open;
  }

  void Arm(asio::steady_timer& timer, double seconds) {
    ArmAt(timer, Clock::now() + SecondsToDuration(seconds));
  }
  void ArmAt(asio::steady_timer& timer, Clock::time_point when) {
    timer.expires_at(when);
    timer.async_wait([self = shared_from_this(), &timer](boost::system::error_code ec) {
      if (ec || self->phase_ == Phase::kClosed || timer.expiry() > Clock::now()) return;
      self->TimedOut(&timer == &self->write_timer_);
    });
  }

  void TimedOut(bool writing) {
    if (!writing && (phase_ == Phase::kHeader || phase_ == Phase::kBody)) {
      ++server_->counters_.timed_out;
      // The socket's reads are abandoned; a short answer says why.
      boost::system::error_code ignored;
      socket_.cancel(ignored);
      parser_.reset();
      return ErrorAndClose(408, phase_ == Phase::kHeader
                                    ? "the request's headers did not arrive in time"
                                    : "the request's body did not arrive in time");
    }
    Close(/*timed_out=*/true);
  }

  HttpServer* server_;
  HttpServer::Impl& impl_;
  tcp::socket socket_;
  asio::steady_timer read_timer_, write_timer_;
  boost::beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Phase phase_ = Phase::kIdle;
  bool keep_alive_ = true, http11_ = true;
  bool watching_ = false, next_after_watch_ = false;
  std::array<char, 4096> probe_;
  // The exchange in progress.
  uint64_t id_ = 0, completed_id_ = 0;
  HttpRequest request_;  // without its body, for the completion hook
  Clock::time_point request_start_;
  bool answer_begun_ = false, answer_done_ = false, streaming_ = false, chunked_ = false;
  bool in_flight_ = false;  // counted in Impl::answering
  int status_ = 0;
  std::string notes_;
  std::vector<std::function<void()>> on_gone_;
  std::atomic<bool> gone_{false};
  // Bytes waiting to be written, the front one being written.
  std::deque<std::string> out_;
  bool writing_ = false;
};

void HttpExchange::Respond(int status, absl::string_view content_type, std::string body,
                           HttpHeaders headers) const {
  if (connection_) {
    connection_->Respond(id_, status, std::string(content_type), std::move(body),
                         std::move(headers));
  }
}
void HttpExchange::BeginStream(int status, absl::string_view content_type,
                               HttpHeaders headers) const {
  if (connection_) connection_->BeginStream(id_, status, std::string(content_type), std::move(headers));
}
bool HttpExchange::Write(std::string piece) const {
  return connection_ && connection_->Write(id_, std::move(piece));
}
void HttpExchange::End() const {
  if (connection_) connection_->End(id_);
}
bool HttpExchange::client_gone() const { return !connection_ || connection_->gone(); }
void HttpExchange::OnClientGone(std::function<void()> fn) const {
  if (connection_) connection_->OnGone(id_, std::move(fn));
}
void HttpExchange::Note(std::string note) const {
  if (connection_) connection_->Note(id_, std::move(note));
}

HttpServer::HttpServer(HttpServerOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>()) {}

HttpServer::~HttpServer() { Stop(); }

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Create(HttpServerOptions options) {
  if (options.port < 0 || options.port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("port ", options.port, " is not in [0, 65535]"));
  }
  if (options.max_connections < 1) return absl::InvalidArgumentError("max connections must be >= 1");
  if (options.workers < 1) return absl::InvalidArgumentError("workers must be >= 1");
  for (double t : {options.header_timeout, options.body_timeout, options.idle_timeout,
                   options.write_timeout}) {
    if (!(t > 0)) return absl::InvalidArgumentError("timeouts must be > 0 seconds");
  }
  std::unique_ptr<HttpServer> server(new HttpServer(std::move(options)));
  const HttpServerOptions& o = server->options_;
  boost::system::error_code ec;
  const asio::ip::address address = asio::ip::make_address(o.host, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", o.host, "' is not an IP address to listen on"));
  }
  tcp::acceptor& acceptor = server->impl_->acceptor;
  const tcp::endpoint endpoint(address, static_cast<uint16_t>(o.port));
  acceptor.open(endpoint.protocol(), ec);
  // SO_REUSEADDR lets a restarted server bind while old connections sit in
  // TIME_WAIT; unlike SO_REUSEPORT it never lets two listeners share a port.
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec && o.reuse_port) {
    const int one = 1;
    if (setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
      ec = boost::system::error_code(errno, boost::system::system_category());
    }
  }
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", o.host, ":", o.port, ": ", ec.message()));
  }
  server->port_ = acceptor.local_endpoint().port();
  // The cap cannot be more connections than the process may open.
  const int64_t descriptors = RaiseDescriptorLimit() - kReservedDescriptors;
  if (descriptors < server->options_.max_connections) {
    server->options_.max_connections = static_cast<int32_t>(std::max<int64_t>(1, descriptors));
  }
  return server;
}

void HttpServer::Route(absl::string_view method, absl::string_view path, Handler handler,
                       bool inline_handler) {
  routes_[{std::string(method), std::string(path)}] = {std::move(handler), inline_handler};
}

std::string HttpServer::ErrorText(int status, absl::string_view message) const {
  return error_body_ ? error_body_(status, message) : std::string(message);
}

void HttpServer::Dispatch(HttpRequest request, HttpExchange exchange) {
  auto route = routes_.find({request.method, request.path});
  if (route == routes_.end()) {
    const bool known_path = std::any_of(routes_.begin(), routes_.end(), [&](const auto& r) {
      return r.first.second == request.path;
    });
    const int status = known_path ? 405 : 404;
    exchange.Respond(status, "application/json",
                     ErrorText(status, known_path
                                           ? absl::StrCat(request.method, " is not allowed on ",
                                                          request.path)
                                           : absl::StrCat("no such endpoint: ", request.path)));
    return;
  }
  if (route->second.inline_handler) {
    route->second.handler(std::move(request), std::move(exchange));
    return;
  }
  {
    std::lock_guard<std::mutex> lock(impl_->queue_mu);
    impl_->queue.push_back([handler = &route->second.handler, request = std::move(request),
                            exchange = std::move(exchange)]() mutable {
      (*handler)(std::move(request), std::move(exchange));
    });
  }
  impl_->queue_cv.notify_one();
}

void HttpServer::Start() {
  Impl& impl = *impl_;
  for (int i = 0; i < options_.workers; ++i) {
    impl.workers.emplace_back([&impl] {
      while (true) {
        std::function<void()> job;
        {
          std::unique_lock<std::mutex> lock(impl.queue_mu);
          impl.queue_cv.wait(lock, [&] { return impl.queue_stop || !impl.queue.empty(); });
          if (impl.queue.empty()) return;
          job = std::move(impl.queue.front());
          impl.queue.pop_front();
        }
        job();
      }
    });
  }
  impl.work.emplace(impl.io.get_executor());
  impl.io_thread = std::thread([this] {
    impl_->Accept(this);
    impl_->io.run();
  });
}

// Accepts forever; past max_connections a connection gets a 503 and is
// closed at once.
void HttpServer::Impl::Accept(HttpServer* server) {
  acceptor.async_accept([this, server](boost::system::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
    if (ec) {
      // Out of descriptors (EMFILE) leaves the connection in the backlog:
      // retrying at once would spin, so wait a moment.
      retry_accept.expires_after(std::chrono::milliseconds(20));
      retry_accept.async_wait([this, server](boost::system::error_code wait) {
        if (!wait) Accept(server);
      });
      return;
    }
    ++server->counters_.accepted;
    if (server->counters_.open.load() >= server->options_.max_connections) {
      ++server->counters_.refused;
      Refuse(server, std::move(socket));
    } else {
      std::make_shared<HttpConnection>(server, std::move(socket))->Start();
    }
    Accept(server);
  });
}

void HttpServer::Impl::Refuse(HttpServer* server, tcp::socket socket) {
  auto refused = std::make_shared<tcp::socket>(std::move(socket));
  const std::string body =
      server->ErrorText(503, "the server has too many open connections; retry later");
  auto text = std::make_shared<std::string>(absl::StrFormat(
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
      "Content-Length: %d\r\nRetry-After: 1\r\nConnection: close\r\n\r\n%s",
      body.size(), body));
  asio::async_write(*refused, asio::buffer(*text),
                    [refused, text](boost::system::error_code, size_t) {
                      boost::system::error_code ignored;
                      refused->shutdown(tcp::socket::shutdown_send, ignored);
                      refused->close(ignored);
                    });
}

void HttpServer::Stop() {
  Impl& impl = *impl_;
  if (impl.io_thread.joinable()) {
    // No new connections; answers already given are written out (for up
    // to two seconds) before every connection closes.
    impl.Post([&impl] {
      boost::system::error_code ignored;
      impl.acceptor.close(ignored);
      impl.retry_accept.cancel();
    });
    const auto deadline = Clock::now() + std::chrono::seconds(2);
    while (impl.answering.load() > 0 && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    {
      std::lock_guard<std::mutex> lock(impl.mu);
      // Close everything from the loop, then let it run dry.
      asio::post(impl.io, [&impl] {
        std::vector<HttpConnection*> open(impl.connections.begin(), impl.connections.end());
        for (HttpConnection* c : open) c->Shutdown();
      });
      impl.stopped = true;
    }
    impl.work.reset();
    impl.io_thread.join();
  }
  {
    std::lock_guard<std::mutex> lock(impl.queue_mu);
    impl.queue_stop = true;
  }
  impl.queue_cv.notify_all();
  for (std::thread& t : impl.workers) t.join();
  impl.workers.clear();
}

}  // namespace smallmind::server
