// The server's Prometheus metrics: counters, gauges and histograms, updated
// from any thread, rendered in the text exposition format for GET /metrics.
#ifndef SMALLMIND_SERVER_METRICS_H_
#define SMALLMIND_SERVER_METRICS_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/prompt_cache.h"

namespace smallmind::server {

// Cumulative buckets (upper bounds, in seconds) and their sum and count.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);
  // The histogram's lines for `name` (with _bucket, _sum, _count).
  std::string Render(const std::string& name) const;

 private:
  mutable std::mutex mu_;
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket, plus +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

class Metrics {
 public:
  Metrics();

  void CountRequest(const std::string& endpoint, int status);
  // Requests counted so far for `endpoint` (all statuses; for tests).
  uint64_t Requests(const std::string& endpoint) const;

  std::atomic<uint64_t> prompt_tokens{0};
  std::atomic<uint64_t> prompt_tokens_cached{0};
  std::atomic<uint64_t> generated_tokens{0};
  std::atomic<uint64_t> cancelled{0};   // requests stopped by a vanished client
  Histogram time_to_first_token;  // seconds, per request
  Histogram token_latency;        // seconds between generated tokens

  // Figures read from their owners when rendered.
  struct Live {
    int64_t slots = 0, busy_slots = 0, queue_depth = 0;
    uint64_t rejected = 0;  // 503: queue full or draining
    int64_t kv_positions = 0, kv_budget = 0;  // KV cache positions held, and allowed
    int64_t connections = 0;
    uint64_t connections_refused = 0, connections_timed_out = 0;
    const runtime::PromptCache::Stats* prompt_cache = nullptr;  // null: none
  };
  // The text exposition format.
  std::string Render(const Live& live) const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
};

}  // namespace smallmind::server

#endif  // SMALLMIND_SERVER_METRICS_H_
