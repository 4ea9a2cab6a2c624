#include "server/metrics.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace smallmind::server {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::Observe(double value) {
  std::lock_guard<std::mutex> lock(mu_);
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += value;
  ++count_;
}

std::string Histogram::Render(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    absl::StrAppendFormat(&out, "%s_bucket{le=\"%g\"} %d\n", name, bounds_[i], cumulative);
  }
  absl::StrAppendFormat(&out, "%s_bucket{le=\"+Inf\"} %d\n%s_sum %.9g\n%s_count %d\n", name,
                        count_, name, sum_, name, count_);
  return out;
}

Metrics::Metrics()
    : time_to_first_token({0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}),
      token_latency({0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}) {}

void Metrics::CountRequest(const std::string& endpoint, int status) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{endpoint, status}];
}

uint64_t Metrics::Requests(const std::string& endpoint) const {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t total = 0;
  for (const auto& [key, count] : requests_) {
    if (key.first == endpoint) total += count;
  }
  return total;
}

std::string Metrics::Render(const Live& live) const {
  std::string out;
  auto counter = [&](const char* name, const char* help, uint64_t value) {
    absl::StrAppendFormat(&out, "# HELP %s %s\n# TYPE %s counter\n%s %d\n", name, help, name, name,
                          value);
  };
  auto gauge = [&](const char* name, const char* help, int64_t value) {
    absl::StrAppendFormat(&out, "# HELP %s %s\n# TYPE %s gauge\n%s %d\n", name, help, name, name,
                          value);
  };
  out += "# HELP smallmind_requests_total HTTP requests by endpoint and status.\n"
         "# TYPE smallmind_requests_total counter\n";
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [key, count] : requests_) {
      absl::StrAppendFormat(&out, "smallmind_requests_total{endpoint=\"%s\",status=\"%d\"} %d\n",
                            key.first, key.second, count);
    }
  }
  counter("smallmind_prompt_tokens_total", "Prompt tokens of completed requests.", prompt_tokens);
  counter("smallmind_prompt_tokens_cached_total", "Prompt tokens taken from a slot's KV cache.",
          prompt_tokens_cached);
  counter("smallmind_generated_tokens_total", "Tokens generated.", generated_tokens);
  counter("smallmind_cancelled_total",
          "Requests (generations, embeddings, reranks) stopped because the client went away.",
          cancelled);
  counter("smallmind_rejected_total", "Requests refused with 503 (queue full or shutting down).",
          live.rejected);
  gauge("smallmind_queue_depth", "Requests waiting for a slot.", live.queue_depth);
  gauge("smallmind_busy_slots", "Slots generating.", live.busy_slots);
  gauge("smallmind_slots", "Slots (--parallel).", live.slots);
  gauge("smallmind_kv_positions", "KV cache positions the slots hold.", live.kv_positions);
  gauge("smallmind_kv_budget_positions", "KV cache positions the slots may hold (--kv-budget).",
        live.kv_budget);
  gauge("smallmind_http_connections", "HTTP connections open.", live.connections);
  counter("smallmind_http_connections_refused_total",
          "Connections answered 503 and closed: --max-connections were open.",
          live.connections_refused);
  counter("smallmind_http_timeouts_total",
          "Connections closed by a deadline: headers, body, keep-alive idle or a stalled reader.",
          live.connections_timed_out);
  if (const runtime::PromptCache::Stats* prompt_cache = live.prompt_cache) {
    gauge("smallmind_prompt_cache_entries", "Earlier prompts kept for reuse (--cache-ram).",
          static_cast<int64_t>(prompt_cache->entries));
    gauge("smallmind_prompt_cache_bytes", "Bytes of keys and values the prompt cache holds.",
          static_cast<int64_t>(prompt_cache->bytes));
    counter("smallmind_prompt_cache_hits_total", "Prompts that took keys and values from it.",
            prompt_cache->hits);
    counter("smallmind_prompt_cache_tokens_total",
            "Prompt positions copied from it instead of computed.", prompt_cache->tokens_restored);
  }
  out += "# HELP smallmind_time_to_first_token_seconds From request to first token.\n"
         "# TYPE smallmind_time_to_first_token_seconds histogram\n";
  out += time_to_first_token.Render("smallmind_time_to_first_token_seconds");
  out += "# HELP smallmind_token_latency_seconds Time per generated token after the first.\n"
         "# TYPE smallmind_token_latency_seconds histogram\n";
  out += token_latency.Render("smallmind_token_latency_seconds");
  return out;
}

}  // namespace smallmind::server
