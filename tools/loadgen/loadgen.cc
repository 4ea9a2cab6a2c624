// loadgen: N concurrent streaming clients against an OpenAI-compatible
// server (smallmind serve, llama-server, ...) for a bounded time or number
// of requests; reports aggregate generated tokens/s, per-stream tokens/s and
// time to first token, and checks every response when asked. With
// --conversation, each client's chat requests are the turns of one
// conversation, its history resent each time (what a prompt cache is for).
// With --hostile N, N misbehaving connections (hostile.h) are held open for
// the whole run, and --probe-health times GET /health beside the load.
//   loadgen --port 8080 --clients 16 --duration 20 --max-tokens 64
//   loadgen --port 8080 --clients 16 --hostile 10000 --hostile-kind mixed --probe-health
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "tools/loadgen/hostile.h"
#include "tools/smallmind/flags.h"

namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

struct Args {
  std::string host = "127.0.0.1";
  int32_t port = 8080;
  int32_t clients = 4;
  double duration = 10;   // seconds; new requests start until then
  int32_t requests = 0;   // per client; 0: as many as the duration allows
  int32_t max_tokens = 32;
  std::string prompt = "Once upon a time";
  std::string model;
  std::string api_key;
  bool chat = false;
  bool conversation = false;
  bool ignore_eos = true;  // llama-server's: every request generates max_tokens
  int32_t expect_tokens = -1;   // fail unless every response has this many
  std::string expect_finish;    // fail unless every response ends so
  std::string json;             // write the results here
  double request_timeout = 300;  // seconds a request may take
  int32_t hostile = 0;          // misbehaving connections held open
  std::string hostile_kind = "mixed";
  bool probe_health = false;

  template <class Visitor>
  void VisitFields(Visitor&& v) {
    v(host, {"host", 0, nullptr, "server address"});
    v(port, {"port", 0, nullptr, "server port"});
    v(clients, {"clients", 'c', nullptr, "concurrent streaming clients"});
    v(duration, {"duration", 'd', nullptr, "seconds during which requests start"});
    v(requests, {"requests", 'r', nullptr, "requests per client (0: until --duration)"});
    v(max_tokens, {"max-tokens", 'n', nullptr, "max_tokens of each request"});
    v(prompt, {"prompt", 'p', nullptr, "the prompt (a user message with --chat)"});
    v(model, {"model", 'm', nullptr, "the model field"});
    v(api_key, {"api-key", 0, nullptr, "sent as a bearer token"});
    v(chat, {"chat", 0, nullptr, "use /v1/chat/completions instead of /v1/completions"});
    v(conversation, {"conversation", 0, nullptr,
                     "with --chat: a client's requests are the turns of one conversation, its "
                     "history resent each time"});
    v(ignore_eos, {"ignore-eos", 0, nullptr, "ask for max_tokens tokens whatever is sampled"});
    v(expect_tokens, {"expect-tokens", 0, nullptr, "check every response has this many tokens"});
    v(expect_finish, {"expect-finish", 0, nullptr, "check every response's finish_reason"});
    v(json, {"json", 0, nullptr, "write the summary as JSON to this file"});
    v(request_timeout, {"request-timeout", 0, nullptr,
                        "seconds to connect, send and read a request before it counts as failed"});
    v(hostile, {"hostile", 0, nullptr,
                "misbehaving connections held open during the run (reopened when closed)"});
    v(hostile_kind, {"hostile-kind", 0, nullptr,
                     "idle (connect, send nothing), slow (a header byte a second), partial (half a "
                     "request), keepalive (one request, then idle), or mixed"});
    v(probe_health, {"probe-health", 0, nullptr,
                     "time GET /health on a new connection every 20 ms during the run"});
  }
};

struct Result {
  int status = 0;
  int64_t tokens = 0;       // content events (usage when reported)
  int64_t prompt_tokens = 0, cached_tokens = 0;  // from usage
  std::string text;
  double ttft = 0, total = 0;
  std::string finish, error;
};

// `messages`: the conversation so far (with --chat).
Result OneRequest(const Args& args, int seed, const Json& messages) {
  httplib::Client client(args.host, args.port);
  const auto timeout = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::duration<double>(args.request_timeout));
  client.set_connection_timeout(timeout);
  client.set_read_timeout(timeout);
  client.set_write_timeout(timeout);
  Json body = {{"max_tokens", args.max_tokens},
               {"stream", true},
               {"stream_options", {{"include_usage", true}}},
               {"seed", seed},
               {"temperature", 0.8}};
  if (args.ignore_eos) body["ignore_eos"] = true;
  if (!args.model.empty()) body["model"] = args.model;
  if (args.chat) {
    body["messages"] = messages;
  } else {
    body["prompt"] = args.prompt;
  }
  httplib::Headers headers;
  if (!args.api_key.empty()) headers.emplace("Authorization", "Bearer " + args.api_key);
  Result r;
  const Clock::time_point start = Clock::now();
  std::string pending;
  int64_t content_events = 0, usage_tokens = -1;
  auto on_data = [&](const char* data, size_t size) {
    pending.append(data, size);
    size_t end;
    while ((end = pending.find("\n\n")) != std::string::npos) {
      const std::string event = pending.substr(0, end);
      pending.erase(0, end + 2);
      if (!absl::StartsWith(event, "data: ")) continue;
      const std::string payload = event.substr(6);
      if (payload == "[DONE]") continue;
      const Json chunk = Json::parse(payload, nullptr, false);
      if (chunk.is_discarded()) {
        r.error = "a chunk is not JSON";
        continue;
      }
      if (chunk.contains("usage") && chunk["usage"].is_object()) {
        const Json& usage = chunk["usage"];
        usage_tokens = usage.value("completion_tokens", int64_t{-1});
        r.prompt_tokens = usage.value("prompt_tokens", int64_t{0});
        if (usage.contains("prompt_tokens_details") && usage["prompt_tokens_details"].is_object()) {
          r.cached_tokens = usage["prompt_tokens_details"].value("cached_tokens", int64_t{0});
        }
      }
      if (!chunk.contains("choices") || chunk["choices"].empty()) continue;
      const Json& choice = chunk["choices"][0];
      const Json content = args.chat ? choice["delta"].value("content", Json()) : choice.value("text", Json());
      if (content.is_string() && !content.get<std::string>().empty()) {
        r.text += content.get<std::string>();
        if (content_events++ == 0) r.ttft = std::chrono::duration<double>(Clock::now() - start).count();
      }
      if (choice.contains("finish_reason") && choice["finish_reason"].is_string()) {
        r.finish = choice["finish_reason"];
      }
    }
    return true;
  };
  httplib::Request request;
  request.method = "POST";
  request.path = args.chat ? "/v1/chat/completions" : "/v1/completions";
  request.headers = headers;
  request.headers.emplace("Content-Type", "application/json");
  request.body = body.dump();
  request.content_receiver = [&](const char* data, size_t size, uint64_t, uint64_t) {
    return on_data(data, size);
  };
  httplib::Result res = client.send(request);
  r.total = std::chrono::duration<double>(Clock::now() - start).count();
  if (!res) {
    r.error = httplib::to_string(res.error());
    return r;
  }
  r.status = res->status;
  if (r.status != 200) r.error = pending.substr(0, 300);  // the error object
  r.tokens = usage_tokens >= 0 ? usage_tokens : content_events;
  return r;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5))];
}

int Run(int argc, char** argv) {
  Args args;
  smallmind::cli::Flags flags;
  flags.Add(args);
  absl::StatusOr<std::vector<std::string>> positional =
      flags.Parse(std::vector<std::string>(argv + 1, argv + argc));
  if (!positional.ok()) {
    absl::FPrintF(stderr, "loadgen: %s\n", positional.status().message());
    return 1;
  }
  if (flags.help_requested()) {
    absl::PrintF("usage: loadgen [flags]\n\nflags:\n%s", flags.Help());
    return 0;
  }
  absl::StatusOr<smallmind::loadgen::HostileKind> kind =
      smallmind::loadgen::ParseHostileKind(args.hostile_kind);
  if (!kind.ok()) {
    absl::FPrintF(stderr, "loadgen: %s\n", kind.status().message());
    return 1;
  }
  // A server that closes a connection must not kill the load generator.
  signal(SIGPIPE, SIG_IGN);
  // Thousands of connections need thousands of descriptors.
  rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  std::unique_ptr<smallmind::loadgen::HostileClients> hostile;
  if (args.hostile > 0) {
    hostile = std::make_unique<smallmind::loadgen::HostileClients>(args.host, args.port,
                                                                   args.hostile, *kind);
    if (!hostile->WaitOpen(60)) {
      absl::FPrintF(stderr, "loadgen: only %d of %d hostile connections opened\n",
                    hostile->opened(), args.hostile);
    }
  }
  std::unique_ptr<smallmind::loadgen::HealthProbe> probe;
  if (args.probe_health) {
    probe = std::make_unique<smallmind::loadgen::HealthProbe>(args.host, args.port, 20);
  }
  std::mutex mu;
  std::vector<Result> results;
  const Clock::time_point start = Clock::now();
  const Clock::time_point until =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(args.duration));
  std::atomic<int> seed{1};
  std::vector<std::thread> threads;
  for (int c = 0; c < args.clients; ++c) {
    threads.emplace_back([&, c] {
      // Conversations differ from their first message on, after the prompt.
      const Json opening = {
          {"role", "user"},
          {"content", args.conversation ? absl::StrCat(args.prompt, " (", c + 1, ")") : args.prompt}};
      Json messages = Json::array({opening});
      for (int i = 0; args.requests > 0 ? i < args.requests : Clock::now() < until; ++i) {
        Result r = OneRequest(args, seed++, messages);
        if (args.conversation && r.status == 200) {
          messages.push_back({{"role", "assistant"}, {"content", r.text}});
          messages.push_back({{"role", "user"}, {"content", "Go on."}});
        }
        std::lock_guard<std::mutex> lock(mu);
        results.push_back(std::move(r));
      }
    });
  }
  if (args.clients == 0) std::this_thread::sleep_until(until);  // hold the connections
  for (std::thread& t : threads) t.join();
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  if (probe) probe->Stop();
  if (hostile) hostile->Stop();

  int64_t tokens = 0, prompt_tokens = 0, cached_tokens = 0, failures = 0, server_errors = 0;
  std::vector<double> ttft, stream_rate;
  std::map<std::string, int> finishes;
  for (const Result& r : results) {
    if (r.status != 200 || !r.error.empty()) {
      ++failures;
      if (r.status >= 500) ++server_errors;
      absl::FPrintF(stderr, "loadgen: request failed: status %d %s\n", r.status, r.error);
      continue;
    }
    tokens += r.tokens;
    prompt_tokens += r.prompt_tokens;
    cached_tokens += r.cached_tokens;
    ++finishes[r.finish];
    ttft.push_back(r.ttft);
    if (r.tokens > 1 && r.total > r.ttft) stream_rate.push_back((r.tokens - 1) / (r.total - r.ttft));
    if (args.expect_tokens >= 0 && r.tokens != args.expect_tokens) {
      ++failures;
      absl::FPrintF(stderr, "loadgen: %d tokens, expected %d\n", r.tokens, args.expect_tokens);
    }
    if (!args.expect_finish.empty() && r.finish != args.expect_finish) {
      ++failures;
      absl::FPrintF(stderr, "loadgen: finish_reason '%s', expected '%s'\n", r.finish, args.expect_finish);
    }
  }
  double mean_rate = 0;
  for (double x : stream_rate) mean_rate += x / stream_rate.size();
  Json summary = {{"clients", args.clients},
                  {"requests", results.size()},
                  {"failures", failures},
                  {"server_errors", server_errors},
                  {"generated_tokens", tokens},
                  {"prompt_tokens", prompt_tokens},
                  {"cached_prompt_tokens", cached_tokens},
                  {"seconds", wall},
                  {"tokens_per_second", tokens / wall},
                  {"stream_tokens_per_second", mean_rate},
                  {"ttft_p50", Percentile(ttft, 0.5)},
                  {"ttft_p99", Percentile(ttft, 0.99)}};
  for (const auto& [reason, count] : finishes) summary["finish_reasons"][reason] = count;
  if (hostile) {
    summary["hostile"] = {{"connections", args.hostile},
                          {"kind", args.hostile_kind},
                          {"opened", hostile->opened()},
                          {"closed_by_server", hostile->closed_by_server()},
                          {"refused", hostile->refused()}};
    absl::PrintF("hostile connections: %d held (%s), %d opened in all, %d closed by the server, "
                 "%d refused\n",
                 args.hostile, args.hostile_kind, hostile->opened(), hostile->closed_by_server(),
                 hostile->refused());
  }
  if (probe) {
    const std::vector<double> health = probe->latencies();
    const double max = health.empty() ? 0 : *std::max_element(health.begin(), health.end());
    summary["health"] = {{"probes", health.size()},
                         {"failures", probe->failures()},
                         {"p50", Percentile(health, 0.5)},
                         {"p99", Percentile(health, 0.99)},
                         {"max", max}};
    absl::PrintF("health: %d probes, %d failed; p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
                 health.size(), probe->failures(), 1e3 * Percentile(health, 0.5),
                 1e3 * Percentile(health, 0.99), 1e3 * max);
    failures += probe->failures();
  }
  absl::PrintF(
      "clients %d: %d requests (%d failed) in %.1f s; %.1f generated t/s in all, %.1f t/s per "
      "stream; TTFT p50 %.1f ms, p99 %.1f ms\n",
      args.clients, results.size(), failures, wall, tokens / wall, mean_rate,
      1e3 * Percentile(ttft, 0.5), 1e3 * Percentile(ttft, 0.99));
  absl::PrintF("prompt tokens %d, %d of them from the server's cache\n", prompt_tokens, cached_tokens);
  if (!args.json.empty()) {
    std::FILE* f = std::fopen(args.json.c_str(), "w");
    if (f != nullptr) {
      std::fputs(summary.dump(2).c_str(), f);
      std::fclose(f);
    }
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) { return Run(argc, argv); }
