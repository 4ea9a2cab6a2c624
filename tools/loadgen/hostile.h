// The clients a server on a port meets besides well-behaved ones, for
// loadgen: many connections that connect and say nothing, send a request a
// byte a second, send half a request and stop, or finish one request and
// sit on the kept-alive connection. Whatever the server closes is opened
// again, so the count stays up for the whole run. And a health probe: GET
// /health on a fresh connection every few milliseconds, timed.
#ifndef SMALLMIND_TOOLS_LOADGEN_HOSTILE_H_
#define SMALLMIND_TOOLS_LOADGEN_HOSTILE_H_

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"

namespace smallmind::loadgen {

enum class HostileKind { kIdle, kSlow, kPartial, kKeepAlive, kMixed };
absl::StatusOr<HostileKind> ParseHostileKind(const std::string& name);

class HostileClients {
 public:
  // Opens `count` connections to host:port of `kind` (kMixed: a quarter of
  // each) on a thread of its own, and keeps them open until Stop.
  HostileClients(std::string host, int port, int count, HostileKind kind);
  ~HostileClients();
  // Waits until every connection has been opened once (or `seconds` pass);
  // false on timeout.
  bool WaitOpen(double seconds);
  void Stop();

  int64_t opened() const { return opened_.load(); }      // connections made, reopened included
  int64_t closed_by_server() const { return closed_.load(); }
  int64_t refused() const { return refused_.load(); }     // answered 503 (the server's cap)

 private:
  void Loop();

  std::string host_;
  int port_, count_;
  HostileKind kind_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> opened_{0}, closed_{0}, refused_{0};
  std::atomic<int> open_now_{0};
  std::thread thread_;
};

class HealthProbe {
 public:
  // GET /health every `interval_ms` on a new connection until Stop.
  HealthProbe(std::string host, int port, int interval_ms);
  ~HealthProbe();
  void Stop();
  // Latencies of answered probes (seconds) and the count that failed (no
  // 200 within 5 s).
  std::vector<double> latencies() const;
  int64_t failures() const { return failures_.load(); }

 private:
  std::string host_;
  int port_, interval_ms_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> failures_{0};
  mutable std::mutex mu_;
  std::vector<double> latencies_;
  std::thread thread_;
};

}  // namespace smallmind::loadgen

#endif  // SMALLMIND_TOOLS_LOADGEN_HOSTILE_H_
