// The server in-process on loopback: the API's objects and streams, its
// errors, every OpenAI field implemented or refused by name, and its
// behaviour under concurrency and faults (vanishing, slow and idle clients,
// oversized bodies, a connection cap, a full queue, a port in use,
// shutdown). Runs under TSan too.
#include "server/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "backends/registry.h"
#include "core/file_util.h"
#include "core/thread_pool.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "model/model.h"
#include "model/presets.h"
#include "nlohmann/json.hpp"
#include "runtime/embedder.h"
#include "runtime/session.h"
#include "server/openai.h"

namespace smallmind::server {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;

// A random GPT-2 of the medium preset (context 128, byte vocabulary).
std::string ModelPath() {
  static const std::string* path = [] {
    auto* p = new std::string(std::string(std::getenv("TEST_TMPDIR")) + "/medium.smm");
    model::Preset preset = *model::FindPreset("medium");
    absl::Status s = model::WriteRandomModel(
        *p, model::DescribeModel(preset.arch, *model::ByteTokenizer(512), "test", "test"), {});
    EXPECT_TRUE(s.ok()) << s;
    return p;
  }();
  return *path;
}

class ServerTest : public ::testing::Test {
 protected:
  void StartServer(ServerOptions options = {}, const std::string& model = ModelPath()) {
    options.port = 0;
    if (options.chat_template.empty()) options.chat_template = "chatml";
    absl::StatusOr<std::unique_ptr<Server>> server = Server::Create(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    server_->Start([model] { return runtime::LoadedModel::Load(model, {}); });
    for (int i = 0; i < 500 && absl::IsUnavailable(server_->load_status()); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_TRUE(server_->load_status().ok()) << server_->load_status();
  }

  void TearDown() override {
    if (server_ != nullptr) {
      server_->Shutdown();
      server_->Wait();
    }
  }

  httplib::Client Client() {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_read_timeout(60, 0);
    return c;
  }

  httplib::Result Post(const std::string& path, const Json& body,
                       const httplib::Headers& headers = {}) {
    return Client().Post(path.c_str(), headers, body.dump(), "application/json");
  }

  static Json Chat(const std::string& content, int max_tokens, bool stream = false) {
    return {{"model", "medium"},
            {"messages", {{{"role", "user"}, {"content", content}}}},
            {"max_tokens", max_tokens},
            {"temperature", 0},
            {"stream", stream}};
  }

  // The data of every "data: " event of an SSE body.
  static std::vector<std::string> Events(const std::string& body) {
    std::vector<std::string> events;
    for (absl::string_view block : absl::StrSplit(body, "\n\n", absl::SkipEmpty())) {
      EXPECT_TRUE(absl::StartsWith(block, "data: ")) << block;
      events.emplace_back(block.substr(6));
    }
    return events;
  }

  std::unique_ptr<Server> server_;
};

TEST_F(ServerTest, HealthModelsAndChatCompletion) {
  StartServer();
  httplib::Result health = Client().Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(Json::parse(health->body)["status"], "ok");
  httplib::Result models = Client().Get("/v1/models");
  EXPECT_EQ(Json::parse(models->body)["data"][0]["id"], "medium");

  httplib::Result r = Post("/v1/chat/completions", Chat("Hello", 6));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const Json body = Json::parse(r->body);
  EXPECT_EQ(body["object"], "chat.completion");
  EXPECT_THAT(body["id"].get<std::string>(), ::testing::StartsWith("chatcmpl-"));
  EXPECT_EQ(body["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(body["choices"][0]["finish_reason"], "length");
  // ChatML around "Hello", one byte per token.
  const std::string prompt = "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n";
  EXPECT_EQ(body["usage"]["prompt_tokens"], prompt.size());
  EXPECT_EQ(body["usage"]["completion_tokens"], 6);
  EXPECT_EQ(body["usage"]["total_tokens"], prompt.size() + 6);
  // Greedy: the same request gives the same text, now from the cache.
  httplib::Result again = Post("/v1/chat/completions", Chat("Hello", 6));
  const Json second = Json::parse(again->body);
  EXPECT_EQ(second["choices"][0]["message"]["content"], body["choices"][0]["message"]["content"]);
  EXPECT_EQ(second["usage"]["prompt_tokens_details"]["cached_tokens"], prompt.size() - 1);
}

TEST_F(ServerTest, StreamsServerSentEvents) {
  StartServer();
  Json request = Chat("Hi", 5, /*stream=*/true);
  request["stream_options"] = {{"include_usage", true}};
  httplib::Result r = Post("/v1/chat/completions", request);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/event-stream");
  const std::vector<std::string> events = Events(r->body);
  ASSERT_GE(events.size(), 4u);
  EXPECT_EQ(events.back(), "[DONE]");
  const Json first = Json::parse(events[0]);
  EXPECT_EQ(first["object"], "chat.completion.chunk");
  EXPECT_EQ(first["choices"][0]["delta"]["role"], "assistant");
  const Json usage = Json::parse(events[events.size() - 2]);
  EXPECT_TRUE(usage["choices"].empty());
  EXPECT_EQ(usage["usage"]["completion_tokens"], 5);
  const Json last = Json::parse(events[events.size() - 3]);
  EXPECT_EQ(last["choices"][0]["finish_reason"], "length");
  // The streamed text is the non-streamed one.
  std::string streamed;
  for (size_t i = 1; i + 3 < events.size(); ++i) {
    streamed += Json::parse(events[i])["choices"][0]["delta"]["content"].get<std::string>();
  }
  const Json whole = Json::parse(Post("/v1/chat/completions", Chat("Hi", 5))->body);
  EXPECT_EQ(streamed, whole["choices"][0]["message"]["content"]);

  // Text completions stream too.
  httplib::Result text = Post("/v1/completions", {{"prompt", "Once"}, {"max_tokens", 3}, {"stream", true}});
  const std::vector<std::string> text_events = Events(text->body);
  EXPECT_EQ(text_events.back(), "[DONE]");
  EXPECT_EQ(Json::parse(text_events[0])["object"], "text_completion");
}

TEST_F(ServerTest, StopStringsAndTheContextCap) {
  StartServer();
  const Json free_text = Json::parse(Post("/v1/completions", {{"prompt", "abc"}, {"max_tokens", 12},
                                                               {"temperature", 0}})
                                         ->body);
  const std::string text = free_text["choices"][0]["text"];
  ASSERT_GE(text.size(), 4u);
  // Stopping at the text's third character gives the first two.
  const Json stopped = Json::parse(Post("/v1/completions", {{"prompt", "abc"},
                                                            {"max_tokens", 12},
                                                            {"temperature", 0},
                                                            {"stop", {text.substr(2, 1)}}})
                                       ->body);
  EXPECT_EQ(stopped["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(stopped["choices"][0]["text"].get<std::string>(), text.substr(0, text.find(text[2])));
  // 10^9 tokens asked: capped by the context (128) and reported as length.
  const Json capped = Json::parse(
      Post("/v1/completions", {{"prompt", "abc"}, {"max_tokens", 1000000000}})->body);
  EXPECT_EQ(capped["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(capped["usage"]["prompt_tokens"].get<int>() + capped["usage"]["completion_tokens"].get<int>(),
            128);
}

// --context-shift: a slot whose context fills keeps its last half and goes
// on, as a Session does (one decode engine under both).
TEST_F(ServerTest, ContextShiftGoesPastAFullContext) {
  ServerOptions options;
  options.session.context = 32;
  options.context_shift = true;
  StartServer(options);
  const Json shifted = Json::parse(
      Post("/v1/completions", {{"prompt", "abc"}, {"max_tokens", 100}, {"temperature", 0}})->body);
  EXPECT_EQ(shifted["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(shifted["usage"]["completion_tokens"], 100);

  absl::StatusOr<runtime::LoadedModel> loaded = runtime::LoadedModel::Load(ModelPath(), {});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  auto session = runtime::Session::Create(*loaded->transformer, *loaded->tokenizer,
                                          {.threads = 1, .context = 32, .batch = 256});
  ASSERT_TRUE(session.ok()) << session.status();
  runtime::GenerateOptions generate;
  generate.max_tokens = 100;
  generate.sampler.temperature = 0;
  std::string text;
  absl::StatusOr<runtime::GenerationStats> stats =
      (*session)->Generate("abc", generate, [&](absl::string_view piece) {
        text.append(piece.data(), piece.size());
        return true;
      });
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_GT(stats->context_shifts, 1);
  // The server's JSON writes bytes that are not UTF-8 as U+FFFD.
  EXPECT_EQ(shifted["choices"][0]["text"],
            Json::parse(Json(text).dump(-1, ' ', false, Json::error_handler_t::replace)));
}

TEST_F(ServerTest, BadRequestsAreClearErrors) {
  StartServer();
  auto error = [&](const std::string& path, const std::string& body, int status) {
    httplib::Result r = Client().Post(path.c_str(), body, "application/json");
    EXPECT_TRUE(r);
    if (!r) return std::string();
    EXPECT_EQ(r->status, status) << body << " -> " << r->body;
    const Json e = Json::parse(r->body, nullptr, false);
    EXPECT_TRUE(e.contains("error")) << r->body;
    return e["error"]["message"].get<std::string>();
  };
  EXPECT_THAT(error("/v1/chat/completions", "{not json", 400), HasSubstr("not valid JSON"));
  EXPECT_THAT(error("/v1/chat/completions", "[1]", 400), HasSubstr("not a JSON object"));
  EXPECT_THAT(error("/v1/chat/completions", R"({"messages": "hi"})", 400), HasSubstr("'messages'"));
  EXPECT_THAT(error("/v1/chat/completions",
                    R"({"messages": [{"role": "user", "content": "x"}], "temperature": "hot"})", 400),
              HasSubstr("'temperature'"));
  EXPECT_THAT(error("/v1/chat/completions",
                    R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": -1})", 400),
              HasSubstr("'max_tokens'"));
  EXPECT_THAT(error("/v1/chat/completions", R"({"messages": [{"role": "user", "content": "x"}], "n": 2})",
                    400),
              HasSubstr("'n' is 2; this server runs at most 1 sequences at once (--parallel)"));
  EXPECT_THAT(error("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"\xff\xfe\"}]}",
                    400),
              HasSubstr("not valid JSON"));
  EXPECT_THAT(error("/v1/chat/completions",
                    R"({"model": "gpt-4", "messages": [{"role": "user", "content": "x"}]})", 404),
              HasSubstr("'gpt-4' does not exist"));
  EXPECT_THAT(error("/v1/completions", R"({"prompt": 7})", 400), HasSubstr("'prompt'"));
  EXPECT_THAT(error("/v1/completions", absl::StrCat(R"({"prompt": ")", std::string(300, 'x'), "\"}"), 400),
              HasSubstr("the prompt is 300 tokens"));
  EXPECT_THAT(error("/v1/nothing", "{}", 404), HasSubstr("no such endpoint"));
  EXPECT_THAT(error("/detokenize", R"({"tokens": [99999]})", 400), HasSubstr("vocabulary"));
  // tokenize and detokenize round-trip.
  const Json ids = Json::parse(Post("/tokenize", {{"content", "héllo"}})->body);
  EXPECT_EQ(ids["tokens"].size(), 6u);
  EXPECT_EQ(Json::parse(Post("/detokenize", {{"tokens", ids["tokens"]}})->body)["content"], "héllo");
}

// A raw connection: what a client that misbehaves sends and reads.
class RawClient {
 public:
  explicit RawClient(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    EXPECT_EQ(connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  }
  ~RawClient() { Close(); }
  void Send(const std::string& data) { EXPECT_TRUE(TrySend(data)); }
  // False once the server has closed the connection.
  bool TrySend(const std::string& data) {
    return send(fd_, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
  }
  std::string Read(size_t at_most) {
    std::string out(at_most, '\0');
    const ssize_t n = recv(fd_, out.data(), at_most, 0);
    out.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return out;
  }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

std::string HttpPost(const std::string& path, const std::string& body) {
  return absl::StrCat("POST ", path, " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n",
                      "Content-Length: ", body.size(), "\r\n\r\n", body);
}

TEST_F(ServerTest, VanishingClientCancelsAndFreesItsSlot) {
  ServerOptions options;
  options.parallel = 1;
  StartServer(options);
  {
    RawClient client(server_->port());
    client.Send(HttpPost("/v1/chat/completions", Chat("Hi", 120, true).dump()));
    EXPECT_THAT(client.Read(256), HasSubstr("200"));  // the headers and first events
  }  // gone mid-stream
  for (int i = 0; i < 500 && server_->metrics().cancelled.load() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(server_->metrics().cancelled.load(), 1u);
  EXPECT_EQ(server_->live().busy_slots, 0);
  // The one slot serves the next request.
  httplib::Result r = Post("/v1/chat/completions", Chat("Hi", 3));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_THAT(Client().Get("/metrics")->body, HasSubstr("smallmind_cancelled_total 1"));
}

TEST_F(ServerTest, OversizedBodiesAndSlowClientsLeaveTheServerUp) {
  ServerOptions options;
  options.parallel = 2;
  options.max_body = 1 << 20;
  options.timeout = 1;
  options.body_timeout = 1;
  StartServer(options);
  {
    // A 100 MB body is refused from its Content-Length.
    RawClient client(server_->port());
    client.Send(absl::StrCat("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n",
                             std::string(1000, 'x')));
    EXPECT_THAT(client.Read(4096), HasSubstr("413"));
  }
  {
    // A client that sends half a body and stops: 408 after the body
    // deadline, while others are served.
    RawClient slow(server_->port());
    slow.Send("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{\"pro");
    httplib::Result r = Post("/v1/completions", {{"prompt", "abc"}, {"max_tokens", 2}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_THAT(slow.Read(4096), HasSubstr("408"));
  }
  {
    // A streaming client that never reads: its writes time out, the
    // generation is cancelled and the slot comes back.
    RawClient stuck(server_->port());
    stuck.Send(HttpPost("/v1/completions", Json{{"prompt", "abc"}, {"max_tokens", 120},
                                                 {"stream", true}}.dump()));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    httplib::Result r = Post("/v1/completions", {{"prompt", "xyz"}, {"max_tokens", 2}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
  EXPECT_EQ(Client().Get("/health")->status, 200);
}

TEST_F(ServerTest, ApiKeyOnEveryEndpointButHealth) {
  ServerOptions options;
  options.api_key = "s3cret";
  StartServer(options);
  httplib::Result denied = Post("/v1/chat/completions", Chat("Hi", 2));
  EXPECT_EQ(denied->status, 401);
  EXPECT_EQ(Json::parse(denied->body)["error"]["type"], "authentication_error");
  EXPECT_EQ(Post("/v1/chat/completions", Chat("Hi", 2), {{"Authorization", "Bearer wrong"}})->status, 401);
  EXPECT_EQ(Client().Get("/metrics")->status, 401);
  EXPECT_EQ(Post("/v1/chat/completions", Chat("Hi", 2), {{"Authorization", "Bearer s3cret"}})->status, 200);
  EXPECT_EQ(Client().Get("/health")->status, 200);
}

// Concurrent requests with different seeds give what each gives alone.
TEST_F(ServerTest, ConcurrentRequestsMatchSequentialOnes) {
  ServerOptions options;
  options.parallel = 3;
  options.session.threads = 2;
  StartServer(options);
  auto request = [](int seed) {
    return Json{{"prompt", "The"}, {"max_tokens", 16}, {"seed", seed}, {"temperature", 0.9}};
  };
  std::vector<std::string> alone;
  for (int seed = 1; seed <= 6; ++seed) {
    alone.push_back(Json::parse(Post("/v1/completions", request(seed))->body)["choices"][0]["text"]);
  }
  std::vector<std::string> together(6);
  std::vector<std::thread> threads;
  for (int seed = 1; seed <= 6; ++seed) {
    threads.emplace_back([&, seed] {
      httplib::Result r = Post("/v1/completions", request(seed));
      if (r && r->status == 200) together[seed - 1] = Json::parse(r->body)["choices"][0]["text"];
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(together, alone);
  // (A request is counted once its response is written: just after the
  // client has it.)
  for (int i = 0; i < 200 && server_->metrics().Requests("/v1/completions") < 12; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(server_->metrics().Requests("/v1/completions"), 12u);
}

// Four slots sharing one slot's worth of KV positions (--kv-budget 128, the
// medium model's context): requests of 60 positions each (prompt and
// max_tokens) run two at a time, the others waiting their turn, and each
// answers as it does alone; the budget is in /metrics.
TEST_F(ServerTest, SlotsShareTheKvBudget) {
  ServerOptions bad;
  bad.kv_budget = -1;
  EXPECT_EQ(Server::Create(bad).status().message(), "--kv-budget must be >= 0");
  bad.kv_budget = 100;
  bad.session.context = 128;  // refused before any model is loaded
  EXPECT_THAT(std::string(Server::Create(bad).status().message()),
              HasSubstr("--kv-budget 100 is less than a slot's context (-c 128)"));
  ServerOptions options;
  options.parallel = 4;
  options.kv_budget = 128;
  StartServer(options);
  auto request = [](int i) {
    return Json{{"prompt", std::string(40, static_cast<char>('a' + i))},
                {"max_tokens", 20},
                {"temperature", 0}};
  };
  std::vector<std::string> alone;
  for (int i = 0; i < 4; ++i) {
    alone.push_back(Json::parse(Post("/v1/completions", request(i))->body)["choices"][0]["text"]);
  }
  std::vector<std::string> together(4);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      httplib::Result r = Post("/v1/completions", request(i));
      if (r && r->status == 200) together[i] = Json::parse(r->body)["choices"][0]["text"];
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(together, alone);
  const std::string metrics = Client().Get("/metrics")->body;
  EXPECT_THAT(metrics, HasSubstr("\nsmallmind_kv_budget_positions 128\n"));
  EXPECT_THAT(metrics, HasSubstr("\nsmallmind_kv_positions "));
  // A budget under one slot's context fails the load, saying why.
  server_->Shutdown();
  server_->Wait();
  options.kv_budget = 100;
  options.port = 0;
  server_ = *Server::Create(options);
  server_->Start([] { return runtime::LoadedModel::Load(ModelPath(), {}); });
  for (int i = 0; i < 500 && absl::IsUnavailable(server_->load_status()); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_THAT(std::string(server_->load_status().message()),
              HasSubstr("the KV budget is 100 positions, less than a slot's context (128)"));
}

// More conversations than slots: with --cache-ram, a conversation whose
// slot was taken by another gets its history back from the prompt cache,
// and answers exactly as it does without the cache.
TEST_F(ServerTest, PromptCacheBringsBackAConversationsHistory) {
  auto conversation = [&](const ServerOptions& options) {
    StartServer(options);
    // The medium model's context is 128 bytes, one token each.
    Json first = Chat("Hi.", 4);
    EXPECT_EQ(Post("/v1/chat/completions", first)->status, 200);
    Post("/v1/chat/completions", Chat("Something else entirely.", 4));
    Json second = first;
    second["messages"].push_back({{"role", "assistant"}, {"content", "OK."}});
    second["messages"].push_back({{"role", "user"}, {"content", "And?"}});
    Json answer = Json::parse(Post("/v1/chat/completions", second)->body);
    const std::string metrics = Client().Get("/metrics")->body;
    server_->Shutdown();
    server_->Wait();
    server_.reset();
    return std::make_pair(answer, metrics);
  };
  ServerOptions options;
  options.parallel = 1;
  options.cache_ram = 0;
  const auto [uncached, no_metrics] = conversation(options);
  const int shared_start = uncached["usage"]["prompt_tokens_details"]["cached_tokens"];
  EXPECT_THAT(no_metrics, ::testing::Not(HasSubstr("smallmind_prompt_cache")));
  options.cache_ram = 8;
  const auto [cached, metrics] = conversation(options);
  EXPECT_EQ(cached["choices"][0]["message"], uncached["choices"][0]["message"]);
  // The first turn, not only the template's opening.
  EXPECT_GT(cached["usage"]["prompt_tokens_details"]["cached_tokens"].get<int>(), shared_start + 30);
  EXPECT_THAT(metrics, HasSubstr("\nsmallmind_prompt_cache_hits_total 1\n"));
  EXPECT_THAT(metrics, HasSubstr("\nsmallmind_prompt_cache_entries 2\n"));
}

TEST_F(ServerTest, FullQueueIs503WithRetryAfter) {
  ServerOptions options;
  options.parallel = 1;
  options.queue = 0;
  StartServer(options);
  std::thread busy([&] { Post("/v1/completions", {{"prompt", "a"}, {"max_tokens", 120}}); });
  for (int i = 0; i < 500 && server_->live().busy_slots == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  httplib::Result r = Post("/v1/completions", {{"prompt", "b"}, {"max_tokens", 1}});
  busy.join();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->get_header_value("Retry-After"), "1");
  EXPECT_EQ(server_->live().rejected, 1u);
}

TEST_F(ServerTest, ShutdownCancelsWhatTheGracePeriodDoesNotFinish) {
  ServerOptions options;
  options.grace = 0;
  StartServer(options);
  std::string body;
  std::thread client([&] {
    httplib::Result r = Post("/v1/completions", {{"prompt", "a"}, {"max_tokens", 127}, {"stream", true}});
    if (r) body = r->body;
  });
  for (int i = 0; i < 500 && server_->live().busy_slots == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  server_->Shutdown();
  server_->Wait();
  client.join();
  EXPECT_EQ(server_->live().busy_slots, 0);
  server_.reset();
}

TEST_F(ServerTest, SlotsTakeTheKvCacheTypesAskedFor) {
  ServerOptions bad;
  bad.session.cache_type_k = "q9";
  EXPECT_EQ(Server::Create(bad).status().message(),
            "--cache-type-k 'q9' is not a KV cache type; one of f32, f16, bf16, q8_0, q4_0");
  ServerOptions quantized;
  quantized.session.cache_type_k = "q8_0";
  quantized.session.cache_type_v = "q4_0";
  StartServer(quantized);
  const Json reply = Json::parse(Post("/v1/completions", {{"prompt", "abc"}, {"max_tokens", 5},
                                                          {"temperature", 0}})->body);
  EXPECT_EQ(reply["usage"]["completion_tokens"], 5);
}

TEST_F(ServerTest, APortInUseIsRefused) {
  StartServer();
  ServerOptions second;
  second.port = server_->port();
  absl::StatusOr<std::unique_ptr<Server>> other = Server::Create(second);
  ASSERT_FALSE(other.ok());
  EXPECT_THAT(std::string(other.status().message()), HasSubstr("in use"));
}

// OpenAI's request fields (from its API reference), each implemented or
// refused by name; a request asking for something not implemented gets a
// 400 that names the field, never an answer that ignores it.
TEST_F(ServerTest, EveryOpenAIFieldIsImplementedOrRefusedByName) {
  const std::vector<std::string> chat_fields = {
      "messages", "model", "audio", "frequency_penalty", "function_call", "functions",
      "logit_bias", "logprobs", "max_completion_tokens", "max_tokens", "metadata",
      "modalities", "n", "parallel_tool_calls", "prediction", "presence_penalty",
      "prompt_cache_key", "reasoning_effort", "response_format", "safety_identifier", "seed",
      "service_tier", "stop", "store", "stream", "stream_options", "temperature",
      "tool_choice", "tools", "top_logprobs", "top_p", "user", "verbosity",
      "web_search_options"};
  const std::vector<std::string> completion_fields = {
      "model", "prompt", "best_of", "echo", "frequency_penalty", "logit_bias", "logprobs",
      "max_tokens", "n", "presence_penalty", "seed", "stop", "stream", "stream_options",
      "suffix", "temperature", "top_p", "user"};
  auto known = [](bool chat, const std::string& f) {
    const std::vector<std::string> names = RequestFieldNames(chat);
    return std::find(names.begin(), names.end(), f) != names.end();
  };
  for (const std::string& f : chat_fields) EXPECT_TRUE(known(true, f)) << f;
  for (const std::string& f : completion_fields) EXPECT_TRUE(known(false, f)) << f;

  StartServer();
  // Values that ask for something not implemented yet.
  const std::vector<std::pair<std::string, Json>> refused_chat = {
      {"audio", {{"voice", "alloy"}, {"format", "wav"}}},
      {"function_call", "auto"},
      {"functions", {{{"name", "f"}}}},
      {"metadata", {{"k", "v"}}},
      {"modalities", {"text", "audio"}},
      {"n", 2},
      {"prediction", {{"type", "content"}, {"content", "x"}}},
      {"prompt_cache_key", "k"},
      {"reasoning_effort", "low"},
      {"service_tier", "flex"},
      {"store", true},
      {"stream_options", {{"include_obfuscation", true}}},
      {"tool_choice", "required"},  // without tools
      // This server's ChatML template renders no tools.
      {"tools", {{{"type", "function"}, {"function", {{"name", "f"}}}}}},
      {"verbosity", "low"},
      {"web_search_options", Json::object()},
      {"n_probs", 3},
  };
  for (const auto& [field, value] : refused_chat) {
    Json body = Chat("Hi", 2);
    body[field] = value;
    httplib::Result r = Post("/v1/chat/completions", body);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << field;
    const std::string name = field == "stream_options" ? "stream_options.include_obfuscation" : field;
    EXPECT_THAT(Json::parse(r->body)["error"]["message"].get<std::string>(),
                HasSubstr("'" + name + "'"))
        << field;
  }
  const std::vector<std::pair<std::string, Json>> refused_completion = {
      {"best_of", 3}, {"suffix", "end"}};
  for (const auto& [field, value] : refused_completion) {
    httplib::Result r =
        Post("/v1/completions", {{"prompt", "a"}, {"max_tokens", 1}, {field, value}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << field;
    EXPECT_THAT(r->body, HasSubstr("'" + field + "'")) << field;
  }
  // The values that ask for nothing are fine.
  Json harmless = Chat("Hi", 2);
  harmless.update({{"logprobs", false}, {"store", false}, {"n", 1}, {"tools", Json::array()},
                   {"tool_choice", "none"}, {"response_format", {{"type", "text"}}},
                   {"modalities", {"text"}}, {"service_tier", "auto"}, {"user", "u-1"},
                   {"metadata", Json::object()}, {"logit_bias", Json::object()}});
  httplib::Result ok = Post("/v1/chat/completions", harmless);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
}

// response_format, json_schema and grammar constrain what is sampled: the
// text always follows them, whatever the (random) model prefers.
TEST_F(ServerTest, StructuredOutputFollowsTheGrammarOrSchema) {
  StartServer();
  auto reply = [&](Json fields, int seed) {
    Json body = Chat("Answer", 60);
    body["seed"] = seed;
    body.update(fields);
    httplib::Result r = Post("/v1/chat/completions", body);
    EXPECT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
    const Json out = Json::parse(r->body);
    return std::make_pair(out["choices"][0]["message"]["content"].get<std::string>(),
                          out["choices"][0]["finish_reason"].get<std::string>());
  };
  for (int seed = 0; seed < 4; ++seed) {
    const auto [yes_no, finish] = reply({{"grammar", "root ::= \"yes\" | \"no\""}}, seed);
    EXPECT_TRUE(yes_no == "yes" || yes_no == "no") << yes_no;
    EXPECT_EQ(finish, "stop");
    const auto [color, color_finish] = reply({{"json_schema", {{"enum", {"red", "green"}}}}}, seed);
    EXPECT_TRUE(color == "\"red\"" || color == "\"green\"") << color;
    // A schema's object: its properties in the schema's order (not sorted).
    const Json schema = Json::parse(R"({"type": "object", "properties": {"z": {"type": "boolean"},
        "a": {"enum": [1, 2]}}, "required": ["z", "a"]})");
    const auto [object, object_finish] =
        reply({{"response_format", {{"type", "json_schema"},
                                    {"json_schema", {{"name", "t"}, {"strict", true}, {"schema", schema}}}}}},
              seed);
    if (object_finish == "stop") {
      const Json parsed = Json::parse(object, nullptr, false);
      ASSERT_TRUE(parsed.is_object()) << object;
      EXPECT_TRUE(parsed["z"].is_boolean()) << object;
      EXPECT_TRUE(parsed["a"] == 1 || parsed["a"] == 2) << object;
      EXPECT_LT(object.find("\"z\""), object.find("\"a\"")) << object;
    } else {
      EXPECT_EQ(object_finish, "length");  // whitespace the schema allows ran out of tokens
      EXPECT_EQ(object.substr(0, 1), "{") << object;
    }
  }
  // Refused by name: two constraints, a grammar that does not parse, a
  // schema keyword that is not supported.
  auto refused = [&](Json fields) {
    Json body = Chat("Answer", 4);
    body.update(fields);
    httplib::Result r = Post("/v1/chat/completions", body);
    EXPECT_TRUE(r);
    EXPECT_EQ(r->status, 400) << r->body;
    return Json::parse(r->body)["error"]["message"].get<std::string>();
  };
  EXPECT_EQ(refused({{"grammar", "root ::= \"a\""}, {"json_schema", {{"type", "object"}}}}),
            "'json_schema' cannot be given with 'grammar' (each constrains the output)");
  EXPECT_EQ(refused({{"grammar", "root ::= a"}}),
            "'grammar' is not usable: grammar: line 1, column 10: rule 'a' is used but not defined");
  EXPECT_EQ(refused({{"json_schema", {{"type", "integer"}, {"minimum", 0}}}}),
            "'json_schema' is not usable: json_schema: /: 'minimum' is not supported");
  EXPECT_EQ(refused({{"response_format", {{"type", "xml"}}}}),
            "'response_format.type' must be 'text', 'json_object' or 'json_schema'");
  EXPECT_EQ(refused({{"response_format", {{"type", "json_schema"}, {"json_schema", {{"schema", Json::object()}, {"extra", 1}}}}}}),
            "'response_format.json_schema.extra' is not supported");
}

// Tools through a template that renders them in the <tool_call> format:
// tool_choice required or a function gives calls that parse, with
// arguments of the function's schema (the random model cannot do
// otherwise), finish_reason tool_calls; streamed, the same call comes as a
// delta.tool_calls chunk; a conversation with calls and results renders.
TEST_F(ServerTest, ToolCallsFollowTheFunctionsSchemas) {
  ServerOptions options;
  absl::StatusOr<std::string> tool_template = core::ReadFileToString("tests/server/tool_template.jinja");
  ASSERT_TRUE(tool_template.ok()) << tool_template.status();
  options.chat_template = *tool_template;
  options.context_shift = true;  // the byte vocabulary's context is 128 tokens
  StartServer(options);
  const Json tools = Json::parse(R"([
      {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
       "parameters": {"type": "object", "properties": {"city": {"type": "string", "maxLength": 6},
                      "unit": {"enum": ["c", "f"]}}, "required": ["city", "unit"]}}},
      {"type": "function", "function": {"name": "add", "parameters": {"type": "object",
       "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "required": ["a", "b"]}}}])");
  auto ask = [&](Json choice, bool parallel, int seed, bool stream = false) {
    Json body = Chat("Weather?", 400, stream);
    body.update({{"tools", tools}, {"tool_choice", choice}, {"parallel_tool_calls", parallel},
                 {"seed", seed}, {"temperature", 0.8}});
    httplib::Result r = Post("/v1/chat/completions", body);
    EXPECT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
    return r->body;
  };
  for (int seed = 0; seed < 3; ++seed) {
    const Json one = Json::parse(ask("required", false, seed))["choices"][0];
    ASSERT_EQ(one["finish_reason"], "tool_calls") << one;
    EXPECT_TRUE(one["message"]["content"].is_null()) << one;
    ASSERT_EQ(one["message"]["tool_calls"].size(), 1u) << one;
    const Json& call = one["message"]["tool_calls"][0];
    EXPECT_EQ(call["type"], "function");
    EXPECT_THAT(call["id"].get<std::string>(), ::testing::StartsWith("call_"));
    const Json args = Json::parse(call["function"]["arguments"].get<std::string>());
    if (call["function"]["name"] == "get_weather") {
      EXPECT_TRUE(args["city"].is_string() && args["city"].get<std::string>().size() <= 6) << args;
      EXPECT_TRUE(args["unit"] == "c" || args["unit"] == "f") << args;
    } else {
      EXPECT_EQ(call["function"]["name"], "add");
      EXPECT_TRUE(args["a"].is_number_integer() && args["b"].is_number_integer()) << args;
    }
  }
  // A named function; streamed, the same call (greedy).
  const Json named = {{"type", "function"}, {"function", {{"name", "add"}}}};
  Json body = Chat("Add", 400);
  body.update({{"tools", tools}, {"tool_choice", named}, {"temperature", 0}});
  const Json whole = Json::parse(Post("/v1/chat/completions", body)->body)["choices"][0]["message"];
  ASSERT_EQ(whole["tool_calls"].size(), 1u) << whole;
  EXPECT_EQ(whole["tool_calls"][0]["function"]["name"], "add");
  body["stream"] = true;
  Json streamed_call;
  std::string finish;
  for (const std::string& event : Events(Post("/v1/chat/completions", body)->body)) {
    if (event == "[DONE]") continue;
    const Json chunk = Json::parse(event);
    const Json& choice = chunk["choices"][0];
    if (choice["delta"].contains("tool_calls")) streamed_call = choice["delta"]["tool_calls"][0];
    if (!choice["finish_reason"].is_null()) finish = choice["finish_reason"];
  }
  EXPECT_EQ(finish, "tool_calls");
  EXPECT_EQ(streamed_call["index"], 0);
  EXPECT_EQ(streamed_call["function"], whole["tool_calls"][0]["function"]);
  // The next turn: the call and its result in the conversation.
  Json next = {{"messages", {{{"role", "user"}, {"content", "Add"}},
                             {{"role", "assistant"}, {"content", nullptr}, {"tool_calls", whole["tool_calls"]}},
                             {{"role", "tool"}, {"tool_call_id", whole["tool_calls"][0]["id"]}, {"content", "3"}}}},
               {"max_tokens", 4}, {"tools", tools}};
  httplib::Result after = Post("/v1/chat/completions", next);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200) << after->body;
  // Refused by name: an unknown function, a name twice, a schema the
  // grammar cannot follow.
  auto refused = [&](Json fields) {
    Json b = Chat("x", 4);
    b.update(fields);
    httplib::Result r = Post("/v1/chat/completions", b);
    EXPECT_EQ(r->status, 400) << r->body;
    return Json::parse(r->body)["error"]["message"].get<std::string>();
  };
  EXPECT_EQ(refused({{"tools", tools}, {"tool_choice", {{"type", "function"}, {"function", {{"name", "nope"}}}}}}),
            "'tool_choice' names 'nope', which is not in 'tools'");
  EXPECT_EQ(refused({{"tools", {tools[1], tools[1]}}}), "'tools[1].function.name' repeats 'add'");
  Json bad = tools[1];
  bad["function"]["parameters"]["properties"]["a"]["minimum"] = 0;
  EXPECT_EQ(refused({{"tools", {bad}}}),
            "'tools[0].function.parameters' is not usable: json_schema: /properties/a: 'minimum' is not supported");
  EXPECT_EQ(refused({{"tools", tools}, {"tool_choice", "required"}, {"grammar", "root ::= \"x\""}}),
            "'tool_choice' 'required' cannot be given with 'grammar' (each constrains the output)");
}

// logit_bias moves the logits: +100 on one byte makes greedy text that
// byte; a bias out of range or a token outside the vocabulary is a 400.
TEST_F(ServerTest, LogitBiasSteersAndIsChecked) {
  StartServer();
  httplib::Result r = Post("/v1/completions", {{"prompt", "Hi"}, {"max_tokens", 5}, {"temperature", 0},
                                               {"logit_bias", {{"120", 100}}}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Json::parse(r->body)["choices"][0]["text"], "xxxxx");
  for (const auto& [bias, message] : std::vector<std::pair<Json, std::string>>{
           {{{"120", 101}}, "'logit_bias' of token 120 must be a number in [-100, 100]"},
           {{{"x", 1}}, "'logit_bias' has 'x', not a token id"},
           {{{"99999", 1}}, "logit_bias (--logit-bias) names token 99999, outside the vocabulary of 512"}}) {
    httplib::Result bad = Post("/v1/completions", {{"prompt", "Hi"}, {"max_tokens", 1}, {"logit_bias", bias}});
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad->status, 400) << bad->body;
    EXPECT_EQ(Json::parse(bad->body)["error"]["message"], message);
  }
}

// n: that many choices of one prompt, prefilled once (the forks' prompt
// tokens come from the first's KV cache), each sampled with seed + index;
// greedy choices agree; streamed, every chunk names its choice.
TEST_F(ServerTest, SeveralChoicesShareThePrompt) {
  ServerOptions options;
  options.parallel = 4;
  StartServer(options);
  Json body = Chat("Tell me", 6);
  body.update({{"n", 3}, {"seed", 5}, {"temperature", 1}});
  httplib::Result r = Post("/v1/chat/completions", body);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const Json out = Json::parse(r->body);
  ASSERT_EQ(out["choices"].size(), 3u);
  std::set<std::string> texts;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(out["choices"][i]["index"], i);
    texts.insert(out["choices"][i]["message"]["content"].get<std::string>());
  }
  EXPECT_EQ(texts.size(), 3u);  // seeds 5, 6, 7
  EXPECT_EQ(out["usage"]["completion_tokens"], 18);
  // The same request gives the same choices; choice 1 is what seed 6 gives alone.
  EXPECT_EQ(Json::parse(Post("/v1/chat/completions", body)->body)["choices"], out["choices"]);
  Json alone = Chat("Tell me", 6);
  alone.update({{"seed", 6}, {"temperature", 1}});
  EXPECT_EQ(Json::parse(Post("/v1/chat/completions", alone)->body)["choices"][0]["message"],
            out["choices"][1]["message"]);
  // Greedy: three times the same text.
  body.update({{"temperature", 0}, {"stream", true}});
  std::map<int, std::string> streamed;
  std::map<int, std::string> finishes;
  for (const std::string& event : Events(Post("/v1/chat/completions", body)->body)) {
    if (event == "[DONE]") continue;
    const Json chunk = Json::parse(event);
    for (const Json& c : chunk["choices"]) {
      streamed[c["index"]] += c["delta"].value("content", "");
      if (!c["finish_reason"].is_null()) finishes[c["index"]] = c["finish_reason"];
    }
  }
  ASSERT_EQ(streamed.size(), 3u);
  EXPECT_EQ(streamed[0], streamed[1]);
  EXPECT_EQ(streamed[1], streamed[2]);
  EXPECT_EQ(finishes.size(), 3u);
  // More choices than slots: a clear 400.
  body["n"] = 5;
  httplib::Result many = Post("/v1/chat/completions", body);
  EXPECT_EQ(many->status, 400);
  EXPECT_THAT(many->body, HasSubstr("'n' is 5; this server runs at most 4 sequences at once"));
  // Echoed prompts are scored in the one sequence that runs them.
  httplib::Result echoed = Post("/v1/completions", {{"prompt", "Hi"}, {"n", 2}, {"echo", true}, {"logprobs", 1}});
  EXPECT_EQ(echoed->status, 400);
  EXPECT_THAT(echoed->body, HasSubstr("'n' above 1 cannot be given with 'echo' and 'logprobs'"));
}

// Chat's logprobs/top_logprobs and completions' legacy logprobs: one entry
// per token of the text, the chosen token's among the alternatives when
// decoding greedily, alternatives most likely first; streamed with the text
// they belong to.
TEST_F(ServerTest, LogprobsCoverTheTextTokenByToken) {
  StartServer();
  Json body = Chat("Hello", 8);
  body.update({{"temperature", 0}, {"logprobs", true}, {"top_logprobs", 3}});
  httplib::Result r = Post("/v1/chat/completions", body);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const Json choice = Json::parse(r->body)["choices"][0];
  const Json& content = choice["logprobs"]["content"];
  ASSERT_TRUE(content.is_array()) << r->body;
  ASSERT_FALSE(content.empty());
  std::string joined;
  for (const Json& t : content) {
    std::string bytes;
    for (int b : t["bytes"]) bytes += static_cast<char>(b);
    joined += bytes;
    ASSERT_EQ(t["top_logprobs"].size(), 3u);
    EXPECT_LE(t["logprob"].get<double>(), 0.0);
    // Greedy: the token is the likeliest.
    EXPECT_EQ(t["top_logprobs"][0]["logprob"], t["logprob"]);
    EXPECT_GE(t["top_logprobs"][0]["logprob"].get<double>(), t["top_logprobs"][1]["logprob"].get<double>());
    EXPECT_GE(t["top_logprobs"][1]["logprob"].get<double>(), t["top_logprobs"][2]["logprob"].get<double>());
  }
  EXPECT_EQ(joined, choice["message"]["content"].get<std::string>());

  // Streamed: the same entries, spread over the chunks.
  body["stream"] = true;
  httplib::Result streamed = Post("/v1/chat/completions", body);
  ASSERT_TRUE(streamed);
  Json all = Json::array();
  for (const std::string& event : Events(streamed->body)) {
    if (event == "[DONE]") continue;
    const Json chunk = Json::parse(event);
    const Json& lp = chunk["choices"][0]["logprobs"];
    if (lp.is_object()) {
      for (const Json& t : lp["content"]) all.push_back(t);
    }
  }
  // (The second request reuses the first's KV cache, so the last bits of
  // the logits may differ.)
  ASSERT_EQ(all.size(), content.size());
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i]["token"], content[i]["token"]) << i;
    EXPECT_NEAR(all[i]["logprob"].get<double>(), content[i]["logprob"].get<double>(), 1e-4) << i;
  }

  // Completions: the legacy lists, offsets into the text.
  httplib::Result legacy = Post("/v1/completions", {{"prompt", "Hello"}, {"max_tokens", 6},
                                                    {"temperature", 0}, {"logprobs", 2}});
  ASSERT_TRUE(legacy);
  ASSERT_EQ(legacy->status, 200) << legacy->body;
  const Json lc = Json::parse(legacy->body)["choices"][0];
  const Json& lp = lc["logprobs"];
  ASSERT_EQ(lp["tokens"].size(), lp["token_logprobs"].size());
  ASSERT_EQ(lp["tokens"].size(), lp["top_logprobs"].size());
  ASSERT_EQ(lp["tokens"].size(), lp["text_offset"].size());
  EXPECT_EQ(lp["text_offset"][0], 0);
  for (const Json& top : lp["top_logprobs"]) EXPECT_LE(top.size(), 2u);

  // echo: the prompt's tokens scored as lm-eval asks (max_tokens 0), the
  // first with nothing before it; then with a continuation.
  for (int max_tokens : {0, 3}) {
    httplib::Result echoed = Post("/v1/completions", {{"prompt", "Hello there"}, {"max_tokens", max_tokens},
                                                      {"temperature", 0}, {"logprobs", 1}, {"echo", true}});
    ASSERT_TRUE(echoed);
    ASSERT_EQ(echoed->status, 200) << echoed->body;
    const Json ec = Json::parse(echoed->body)["choices"][0];
    const std::string text = ec["text"];
    EXPECT_EQ(text.substr(0, 11), "Hello there");
    const Json& e = ec["logprobs"];
    ASSERT_EQ(e["tokens"].size(), 11u + max_tokens);  // bytes as tokens
    EXPECT_TRUE(e["token_logprobs"][0].is_null());
    EXPECT_TRUE(e["top_logprobs"][0].is_null());
    std::string joined;
    for (size_t i = 0; i < e["tokens"].size(); ++i) {
      // Byte offsets; the random model's bytes may not be UTF-8 (replaced
      // in the JSON), so exact only over the prompt.
      if (i < 11) {
        EXPECT_EQ(e["text_offset"][i], joined.size());
      }
      joined += e["tokens"][i].get<std::string>();
      if (i > 0) {
        EXPECT_LE(e["token_logprobs"][i].get<double>(), 0.0);
      }
    }
    EXPECT_EQ(Json::parse(echoed->body)["usage"]["completion_tokens"], max_tokens);
  }

  // top_logprobs alone asks for nothing it can have.
  Json alone = Chat("Hello", 2);
  alone["top_logprobs"] = 2;
  httplib::Result refused = Post("/v1/chat/completions", alone);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 400);
  EXPECT_THAT(refused->body, HasSubstr("'top_logprobs' needs 'logprobs': true"));
}

TEST_F(ServerTest, PromptsAsTokenIdsOrAListOfOne) {
  StartServer();
  auto text = [&](const Json& prompt) {
    httplib::Result r = Post("/v1/completions", {{"prompt", prompt}, {"max_tokens", 4}, {"temperature", 0}});
    EXPECT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
    const Json body = Json::parse(r->body);
    return std::make_pair(body["choices"][0]["text"].get<std::string>(),
                          body["usage"]["prompt_tokens"].get<int>());
  };
  // The byte vocabulary: "Hi" is ids 72, 105.
  const auto by_text = text("Hi");
  EXPECT_EQ(text(Json::array({72, 105})), by_text);
  EXPECT_EQ(text(Json::array({"Hi"})), by_text);
  EXPECT_EQ(text(Json::array({Json::array({72, 105})})), by_text);
  httplib::Result several = Post("/v1/completions", {{"prompt", {"a", "b"}}});
  EXPECT_EQ(several->status, 400);
  EXPECT_THAT(several->body, HasSubstr("'prompt'"));
  httplib::Result outside = Post("/v1/completions", {{"prompt", {72, 99999}}});
  EXPECT_EQ(outside->status, 400);
  EXPECT_THAT(outside->body, HasSubstr("outside the vocabulary"));
}

TEST_F(ServerTest, DeadlinesIdleConnectionsAndTheConnectionCap) {
  ServerOptions options;
  options.header_timeout = 0.5;
  options.idle_timeout = 0.5;
  options.max_connections = 8;
  StartServer(options);
  {
    // Headers a byte at a time: 408 when the header deadline passes.
    RawClient slow(server_->port());
    const std::string head = "GET /health HTTP/1.1\r\nHost: x\r\n";
    for (size_t i = 0; i < 6 && slow.TrySend(head.substr(i, 1)); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(150));
    }
    EXPECT_THAT(slow.Read(4096), HasSubstr("408"));
  }
  {
    // A keep-alive connection idle past the idle timeout is closed.
    RawClient kept(server_->port());
    kept.Send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_THAT(kept.Read(4096), HasSubstr("200"));
    std::this_thread::sleep_for(std::chrono::milliseconds(900));
    EXPECT_EQ(kept.Read(4096), "");  // closed
  }
  // Past the cap: 503 and closed; the others are still served.
  std::vector<std::unique_ptr<RawClient>> idle;
  for (int i = 0; i < 8; ++i) idle.push_back(std::make_unique<RawClient>(server_->port()));
  for (int i = 0; i < 200 && server_->live().connections < 8; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  RawClient refused(server_->port());
  EXPECT_THAT(refused.Read(4096), HasSubstr("503"));
  EXPECT_GE(server_->live().connections_refused, 1u);
  idle.clear();
  for (int i = 0; i < 200 && server_->live().connections > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(Client().Get("/health")->status, 200);
}

// Idle and half-sent connections hold no thread: with hundreds of them open,
// a request is answered at once.
TEST_F(ServerTest, HundredsOfIdleConnectionsDoNotDelayARequest) {
  StartServer();
  std::vector<std::unique_ptr<RawClient>> idle;
  for (int i = 0; i < 300; ++i) {
    idle.push_back(std::make_unique<RawClient>(server_->port()));
    if (i % 2 == 0) idle.back()->Send("POST /v1/completions HTTP/1.1\r\nHo");
  }
  httplib::Result health = Client().Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  httplib::Result r = Post("/v1/completions", {{"prompt", "abc"}, {"max_tokens", 4}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

// An encoder (tests/golden/encoders) serves /v1/embeddings in every input
// form OpenAI's API has, and refuses to generate.
TEST_F(ServerTest, EncoderServesEmbeddings) {
  ServerOptions options;
  StartServer(options, "tests/golden/encoders/bert_tiny.gguf");
  auto embed = [&](const Json& body) { return Post("/v1/embeddings", body); };
  httplib::Result one = embed({{"input", "the city of new york"}, {"model", "bert_tiny"}});
  ASSERT_TRUE(one) << "no answer";
  ASSERT_EQ(one->status, 200) << one->body;
  const Json a = Json::parse(one->body);
  EXPECT_EQ(a["object"], "list");
  EXPECT_EQ(a["model"], "bert_tiny");
  const std::vector<float> vector = a["data"][0]["embedding"].get<std::vector<float>>();
  ASSERT_EQ(vector.size(), 32u);
  double norm = 0;
  for (float x : vector) norm += x * x;
  EXPECT_NEAR(norm, 1.0, 1e-5);
  const int64_t tokens = a["usage"]["prompt_tokens"].get<int64_t>();
  EXPECT_GT(tokens, 2);
  EXPECT_EQ(a["usage"]["total_tokens"], tokens);
  // The same text among others, in order, and as its token ids.
  httplib::Result tokenized = Post("/tokenize", {{"content", "the city of new york"},
                                                 {"add_special", true}});
  const Json ids = Json::parse(tokenized->body)["tokens"];
  httplib::Result many = embed({{"input", {"a", "the city of new york", "b"}}});
  ASSERT_EQ(many->status, 200) << many->body;
  const Json m = Json::parse(many->body);
  ASSERT_EQ(m["data"].size(), 3u);
  EXPECT_EQ(m["data"][1]["index"], 1);
  EXPECT_EQ(m["data"][1]["embedding"].get<std::vector<float>>(), vector);
  httplib::Result by_ids = embed({{"input", {ids, {2, 40, 3}}}});
  ASSERT_EQ(by_ids->status, 200) << by_ids->body;
  EXPECT_EQ(Json::parse(by_ids->body)["data"][0]["embedding"].get<std::vector<float>>(), vector);
  httplib::Result flat_ids = embed({{"input", ids}});
  ASSERT_EQ(flat_ids->status, 200) << flat_ids->body;
  // base64: the float32 bytes.
  httplib::Result b64 = embed({{"input", "the city of new york"}, {"encoding_format", "base64"}});
  ASSERT_EQ(b64->status, 200) << b64->body;
  std::string bytes;
  ASSERT_TRUE(absl::Base64Unescape(
      Json::parse(b64->body)["data"][0]["embedding"].get<std::string>(), &bytes));
  ASSERT_EQ(bytes.size(), 32 * sizeof(float));
  EXPECT_EQ(std::memcmp(bytes.data(), vector.data(), bytes.size()), 0);
  // Matryoshka dimensions.
  httplib::Result short_vector = embed({{"input", "the city"}, {"dimensions", 8}});
  ASSERT_EQ(short_vector->status, 200) << short_vector->body;
  EXPECT_EQ(Json::parse(short_vector->body)["data"][0]["embedding"].size(), 8u);
  // Bad requests are 400s naming what is wrong.
  for (const auto& [body, message] : std::vector<std::pair<Json, std::string>>{
           {{{"input", ""}}, "'input' must not be empty"},
           {{{"input", Json::array()}}, "'input' must not be empty"},
           {{{"input", {"a", ""}}}, "'input' must not be empty"},
           {{{"input", {"a", 3}}}, "'input' must be a list of strings"},
           {{{"input", 7}}, "'input' must be a string"},
           {{{"input", {2, 99999}}}, "outside the vocabulary"},
           {{{"input", "a"}, {"encoding_format", "int8"}}, "'encoding_format'"},
           {{{"input", "a"}, {"dimensions", 64}}, "dimensions 64"},
       }) {
    httplib::Result r = embed(body);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << body.dump();
    EXPECT_THAT(r->body, HasSubstr(message)) << body.dump();
  }
  std::string long_text;
  for (int i = 0; i < 80; ++i) long_text += "the ";
  httplib::Result too_long = embed({{"input", long_text}});
  EXPECT_EQ(too_long->status, 400);
  EXPECT_THAT(too_long->body, HasSubstr("longer than the model's context of 64"));
  httplib::Result cut = embed({{"input", long_text}, {"truncate", true}});
  EXPECT_EQ(cut->status, 200) << cut->body;
  EXPECT_EQ(Json::parse(cut->body)["usage"]["prompt_tokens"], 64);  // embedded: the context
  httplib::Result other_model = embed({{"input", "a"}, {"model", "gpt-4"}});
  EXPECT_EQ(other_model->status, 404);
  // An encoder does not generate, and is not a reranker.
  httplib::Result chat = Post("/v1/chat/completions", Chat("Hello", 4));
  EXPECT_EQ(chat->status, 400);
  EXPECT_THAT(chat->body, HasSubstr("is an embedding model (bert)"));
  httplib::Result rerank = Post("/v1/rerank", {{"query", "a"}, {"documents", {"b"}}});
  EXPECT_EQ(rerank->status, 400);
  EXPECT_THAT(rerank->body, HasSubstr("no classifier head"));
}

// A cross-encoder's scores, best first, as llama-server's /v1/rerank.
TEST_F(ServerTest, RerankScoresDocuments) {
  StartServer({}, "tests/golden/encoders/rerank_tiny.gguf");
  const std::vector<std::string> documents = {"a new house", "the city of music", "no",
                                              "the city of new york"};
  httplib::Result r = Post("/v1/rerank", {{"query", "the city"}, {"documents", documents}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const Json results = Json::parse(r->body)["results"];
  ASSERT_EQ(results.size(), 4u);
  std::vector<int> seen;
  for (size_t i = 0; i < results.size(); ++i) {
    seen.push_back(results[i]["index"].get<int>());
    if (i > 0) {
      EXPECT_GE(results[i - 1]["relevance_score"].get<double>(),
                results[i]["relevance_score"].get<double>());
    }
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 2, 3}));
  // The engine's own scores, through the same tokenizer.
  absl::StatusOr<runtime::LoadedModel> model =
      runtime::LoadedModel::Load("tests/golden/encoders/rerank_tiny.gguf", {});
  ASSERT_TRUE(model.ok());
  core::ThreadPool pool(1);
  auto embedder = *runtime::Embedder::Create(*model, pool);
  const std::vector<float> scores = *embedder->Rerank("the city", documents, false);
  for (const Json& result : results) {
    EXPECT_NEAR(result["relevance_score"].get<double>(), scores[result["index"].get<int>()], 1e-5);
  }
  httplib::Result top = Post("/rerank", {{"query", "the city"},
                                         {"documents", documents},
                                         {"top_n", 2},
                                         {"return_documents", true}});
  ASSERT_EQ(top->status, 200) << top->body;
  const Json best = Json::parse(top->body)["results"];
  ASSERT_EQ(best.size(), 2u);
  EXPECT_EQ(best[0]["index"], results[0]["index"]);
  EXPECT_EQ(best[0]["document"]["text"], documents[best[0]["index"].get<int>()]);
  for (const auto& [body, message] : std::vector<std::pair<Json, std::string>>{
           {{{"documents", {"a"}}}, "'query' must be a string"},
           {{{"query", "q"}, {"documents", Json::array()}}, "'documents' must be a non-empty"},
           {{{"query", "q"}, {"documents", {"a"}}, {"top_n", 0}}, "'top_n'"},
       }) {
    httplib::Result bad = Post("/v1/rerank", body);
    EXPECT_EQ(bad->status, 400) << body.dump();
    EXPECT_THAT(bad->body, HasSubstr(message));
  }
}

// A decoder embeds only when started with --embeddings: its last token's
// final hidden state (after the output norm), normalised.
TEST_F(ServerTest, DecoderEmbeddingsOnlyWhenAsked) {
  StartServer();
  httplib::Result refused = Post("/v1/embeddings", {{"input", "hello"}});
  EXPECT_EQ(refused->status, 400);
  EXPECT_THAT(refused->body, HasSubstr("--embeddings"));
  server_->Shutdown();
  server_->Wait();
  ServerOptions options;
  options.embeddings = true;
  StartServer(options);
  httplib::Result r = Post("/v1/embeddings", {{"input", {"hello", "hello there"}}});
  ASSERT_EQ(r->status, 200) << r->body;
  const Json data = Json::parse(r->body)["data"];
  ASSERT_EQ(data.size(), 2u);
  EXPECT_NE(data[0]["embedding"], data[1]["embedding"]);
  // And it still generates.
  httplib::Result chat = Post("/v1/chat/completions", Chat("Hello", 4));
  EXPECT_EQ(chat->status, 200) << chat->body;
  // `user` goes to the request's log line.
  ::testing::internal::CaptureStderr();
  ASSERT_EQ(Post("/v1/embeddings", {{"input", "hi"}, {"user", "u-42"}})->status, 200);
  for (int i = 0; i < 200 && server_->metrics().Requests("/v1/embeddings") < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_THAT(::testing::internal::GetCapturedStderr(),
              HasSubstr("user=\"u-42\""));
  // Usage counts the tokens embedded: a truncated input its context's 128.
  httplib::Result cut = Post("/v1/embeddings", {{"input", std::string(300, 'a')}, {"truncate", true}});
  ASSERT_EQ(cut->status, 200) << cut->body;
  EXPECT_EQ(Json::parse(cut->body)["usage"]["prompt_tokens"], 128);
  // A client that leaves stops its request at the next pass (counted in
  // /metrics), and the next request is answered.
  httplib::Client impatient("127.0.0.1", server_->port());
  impatient.set_read_timeout(0, 200 * 1000);
  const Json many = {{"input", std::vector<std::string>(2000, std::string(120, 'b'))}};
  EXPECT_FALSE(impatient.Post("/v1/embeddings", many.dump(), "application/json"));
  std::string metrics;
  for (int i = 0; i < 600 && !absl::StrContains(metrics, "\nsmallmind_cancelled_total 1\n"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    metrics = Client().Get("/metrics")->body;
  }
  EXPECT_THAT(metrics, HasSubstr("\nsmallmind_cancelled_total 1\n"));
  EXPECT_EQ(Post("/v1/embeddings", {{"input", "hello"}})->status, 200);
}

}  // namespace
}  // namespace smallmind::server
