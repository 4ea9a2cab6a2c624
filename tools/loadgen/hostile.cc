#include "tools/loadgen/hostile.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <deque>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace smallmind::loadgen {
namespace {

using Clock = std::chrono::steady_clock;

// A slow client's request: a header line that never ends, a byte a second.
constexpr char kSlowPrefix[] = "GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ";
constexpr char kPartial[] = "POST /v1/completions HTTP/1.1\r\nHo";
constexpr char kKeepAlive[] = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";

sockaddr_in Address(const std::string& host, int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  return addr;
}

}  // namespace

absl::StatusOr<HostileKind> ParseHostileKind(const std::string& name) {
  if (name == "idle") return HostileKind::kIdle;
  if (name == "slow") return HostileKind::kSlow;
  if (name == "partial") return HostileKind::kPartial;
  if (name == "keepalive") return HostileKind::kKeepAlive;
  if (name == "mixed") return HostileKind::kMixed;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown hostile kind '", name, "' (idle, slow, partial, keepalive, mixed)"));
}

HostileClients::HostileClients(std::string host, int port, int count, HostileKind kind)
    : host_(std::move(host)), port_(port), count_(count), kind_(kind) {
  thread_ = std::thread([this] { Loop(); });
}

HostileClients::~HostileClients() { Stop(); }

void HostileClients::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

bool HostileClients::WaitOpen(double seconds) {
  const Clock::time_point until =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  while (open_now_.load() < count_ && Clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return open_now_.load() >= count_;
}

void HostileClients::Loop() {
  struct Conn {
    int fd = -1;
    HostileKind kind = HostileKind::kIdle;
    bool connected = false;
    size_t slow_sent = 0;
    Clock::time_point next_byte;
  };
  const int epoll = epoll_create1(EPOLL_CLOEXEC);
  std::vector<Conn> conns(static_cast<size_t>(count_));
  for (int i = 0; i < count_; ++i) {
    conns[i].kind = kind_ != HostileKind::kMixed ? kind_ : static_cast<HostileKind>(i % 4);
  }
  const sockaddr_in addr = Address(host_, port_);
  std::deque<std::pair<Clock::time_point, int>> reopen;
  auto open = [&](int i) {
    Conn& c = conns[i];
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) {  // out of descriptors: try later
      reopen.emplace_back(Clock::now() + std::chrono::milliseconds(100), i);
      return;
    }
    c.connected = false;
    c.slow_sent = 0;
    const int r = connect(c.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
    if (r != 0 && errno != EINPROGRESS) {
      close(c.fd);
      c.fd = -1;
      reopen.emplace_back(Clock::now() + std::chrono::milliseconds(100), i);
      return;
    }
    epoll_event ev{};
    ev.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP;
    ev.data.u32 = static_cast<uint32_t>(i);
    epoll_ctl(epoll, EPOLL_CTL_ADD, c.fd, &ev);
    ++opened_;
  };
  auto drop = [&](int i, bool by_server) {
    Conn& c = conns[i];
    if (c.fd < 0) return;
    epoll_ctl(epoll, EPOLL_CTL_DEL, c.fd, nullptr);
    close(c.fd);
    c.fd = -1;
    if (c.connected) --open_now_;
    c.connected = false;
    if (by_server) ++closed_;
    if (!stop_.load()) reopen.emplace_back(Clock::now() + std::chrono::milliseconds(50), i);
  };
  auto send_all = [](int fd, const char* data, size_t n) {
    return send(fd, data, n, MSG_NOSIGNAL | MSG_DONTWAIT) == static_cast<ssize_t>(n);
  };
  // Connections open in bursts, so the server's backlog keeps up.
  int next_to_open = 0;
  std::vector<epoll_event> events(1024);
  char buffer[4096];
  while (!stop_.load()) {
    for (int burst = 0; burst < 256 && next_to_open < count_; ++burst) open(next_to_open++);
    const Clock::time_point now = Clock::now();
    while (!reopen.empty() && reopen.front().first <= now) {
      const int i = reopen.front().second;
      reopen.pop_front();
      if (conns[i].fd < 0) open(i);
    }
    const int n = epoll_wait(epoll, events.data(), static_cast<int>(events.size()), 20);
    for (int e = 0; e < n; ++e) {
      const int i = static_cast<int>(events[e].data.u32);
      Conn& c = conns[i];
      if (c.fd < 0) continue;
      if (!c.connected && (events[e].events & EPOLLOUT)) {
        int error = 0;
        socklen_t len = sizeof(error);
        getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &error, &len);
        if (error != 0) {
          drop(i, false);
          continue;
        }
        c.connected = true;
        ++open_now_;
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLRDHUP;
        ev.data.u32 = static_cast<uint32_t>(i);
        epoll_ctl(epoll, EPOLL_CTL_MOD, c.fd, &ev);
        bool ok = true;
        if (c.kind == HostileKind::kPartial) ok = send_all(c.fd, kPartial, sizeof(kPartial) - 1);
        if (c.kind == HostileKind::kKeepAlive) ok = send_all(c.fd, kKeepAlive, sizeof(kKeepAlive) - 1);
        c.next_byte = Clock::now();
        if (!ok) drop(i, true);
        continue;
      }
      if (events[e].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        const ssize_t got = recv(c.fd, buffer, sizeof(buffer), MSG_DONTWAIT);
        if (got > 0) {
          if (absl::StartsWith(absl::string_view(buffer, static_cast<size_t>(got)), "HTTP/1.1 503")) {
            ++refused_;
          }
          continue;  // a keep-alive answer: sit on the connection
        }
        if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) drop(i, true);
      }
    }
    // A byte a second from each slow client.
    const Clock::time_point after = Clock::now();
    for (int i = 0; i < count_; ++i) {
      Conn& c = conns[i];
      if (c.fd < 0 || !c.connected || c.kind != HostileKind::kSlow || c.next_byte > after) continue;
      const char byte = c.slow_sent < sizeof(kSlowPrefix) - 1 ? kSlowPrefix[c.slow_sent] : 'a';
      if (!send_all(c.fd, &byte, 1)) {
        drop(i, true);
        continue;
      }
      ++c.slow_sent;
      c.next_byte = after + std::chrono::seconds(1);
    }
  }
  for (int i = 0; i < count_; ++i) {
    if (conns[i].fd >= 0) close(conns[i].fd);
  }
  open_now_.store(0);
  close(epoll);
}

HealthProbe::HealthProbe(std::string host, int port, int interval_ms)
    : host_(std::move(host)), port_(port), interval_ms_(interval_ms) {
  thread_ = std::thread([this] {
    const sockaddr_in addr = Address(host_, port_);
    while (!stop_.load()) {
      const Clock::time_point start = Clock::now();
      bool ok = false;
      const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd >= 0) {
        timeval five{5, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &five, sizeof(five));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &five, sizeof(five));
        static constexpr char kRequest[] = "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        char answer[256];
        if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0 &&
            send(fd, kRequest, sizeof(kRequest) - 1, MSG_NOSIGNAL) > 0) {
          const ssize_t got = recv(fd, answer, sizeof(answer), 0);
          ok = got > 12 && absl::StartsWith(absl::string_view(answer, static_cast<size_t>(got)),
                                            "HTTP/1.1 200");
        }
        close(fd);
      }
      const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
      if (ok) {
        std::lock_guard<std::mutex> lock(mu_);
        latencies_.push_back(seconds);
      } else {
        ++failures_;
      }
      std::this_thread::sleep_until(start + std::chrono::milliseconds(interval_ms_));
    }
  });
}

HealthProbe::~HealthProbe() { Stop(); }

void HealthProbe::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

std::vector<double> HealthProbe::latencies() const {
  std::lock_guard<std::mutex> lock(mu_);
  return latencies_;
}

}  // namespace smallmind::loadgen
