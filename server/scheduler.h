// The server's engine: generations in the slots of one DecodeBatch, driven
// by one thread. Requests wait in a bounded first-come-first-served queue;
// a request that reaches the front takes the free slot whose cached history
// shares the longest prefix with its prompt (a chat resending its
// conversation prefills only the new turn), once what it reserves fits the
// KV budget beside what the running ones do. Nothing here blocks a caller:
// Submit queues and returns, text and the end come back through callbacks
// on the engine thread, and Cancel works from any thread, for a request
// running or still waiting. Knows nothing of HTTP (tested without it).
#ifndef SMALLMIND_SERVER_SCHEDULER_H_
#define SMALLMIND_SERVER_SCHEDULER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/decode_batch.h"
#include "runtime/generation.h"
#include "runtime/options.h"
#include "runtime/prompt_cache.h"
#include "runtime/transformer.h"
#include "text/tokenizer.h"

namespace smallmind::server {

struct SchedulerOptions {
  int32_t slots = 1;
  int32_t queue = 64;         // requests that may wait for a slot
  int64_t context = 0;        // per slot; 0: the model's
  int64_t prompt_budget = 256;  // prompt tokens per forward pass
  int32_t threads = 1;
  bool pin_threads = false;
  runtime::KvTypes kv_types;
  // Positions all slots' caches may hold together; 0: every slot its
  // context. Beyond it a request waits its turn (see DecodeBatch::MakeRoom).
  int64_t kv_budget = 0;
  runtime::PromptCache* prompt_cache = nullptr;  // shared, outliving the scheduler
};

class Scheduler {
 public:
  using DoneCallback = std::function<void(absl::StatusOr<runtime::GenerationStats>)>;
  struct Job {
    std::vector<int32_t> prompt;  // the whole history
    runtime::GenerateOptions options;
    // On the engine thread; must not block. Returning false cancels.
    runtime::TextCallback on_text;
    // Each token's log probabilities, when options.logprobs asks; on the
    // engine thread, before the token's text.
    runtime::TokenCallback on_token;
    // Once, when the generation ends (stats.stop_reason says how; a job
    // cancelled while waiting reports kCancelled with nothing run), on the
    // engine thread or on the thread that cancelled a waiting job.
    DoneCallback on_done;
    // More sequences of the same prompt (OpenAI's n), each with its own
    // options and callbacks (their prompts unused): started together in
    // free slots, forks of this job's slot, so the prompt is prefilled
    // once. One ticket for all.
    std::vector<Job> forks;
  };

  // The transformer and tokenizer must outlive the scheduler.
  static absl::StatusOr<std::unique_ptr<Scheduler>> Create(const runtime::Transformer& transformer,
                                                           const text::Tokenizer& tokenizer,
                                                           const SchedulerOptions& options);
  // Cancels what is running or waiting and stops the engine.
  ~Scheduler();

  // Queues `job` and returns its ticket. Unavailable when the queue is full
  // or the scheduler is draining; InvalidArgument when the prompt cannot
  // fit a slot's context or the job and its forks outnumber the slots.
  absl::StatusOr<uint64_t> Submit(Job job);
  // Ends the job before its next token (running) or drops it (waiting).
  // Unknown or finished tickets are ignored.
  void Cancel(uint64_t ticket);
  // Refuses new jobs from now on; queued and running ones go on.
  void Drain();
  // Cancels every job, running or waiting.
  void CancelAll();

  int64_t context() const { return context_; }
  int32_t slots() const { return options_.slots; }
  int busy() const { return busy_.load(); }
  int waiting() const { return waiting_.load(); }
  uint64_t rejected() const { return rejected_.load(); }
  // KV cache positions the slots hold (DecodeBatch::kv_positions) as of
  // the last step, and how many they may.
  int64_t kv_positions() const { return kv_positions_.load(); }
  int64_t kv_budget() const { return kv_budget_; }

 private:
  struct Waiting {
    uint64_t ticket;
    std::chrono::steady_clock::time_point submitted;
    Job job;
  };

  Scheduler(const SchedulerOptions& options, std::unique_ptr<runtime::DecodeBatch> batch);
  void Engine();
  // Starts waiting jobs in free slots, oldest first (engine thread, mu_ held).
  void StartWaiting(std::vector<std::function<void()>>* failed);
  // KV cache positions `job` and its forks reserve.
  int64_t KvPositionsOf(const Job& job) const;

  SchedulerOptions options_;
  std::unique_ptr<runtime::DecodeBatch> batch_;
  int64_t context_ = 0;
  int64_t kv_budget_ = 0;

  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Waiting> queue_;
  std::vector<uint64_t> slot_ticket_;  // 0: free
  uint64_t next_ticket_ = 1;
  bool draining_ = false, stop_ = false;
  std::atomic<int> busy_{0}, waiting_{0};
  std::atomic<uint64_t> rejected_{0};
  std::atomic<int64_t> kv_positions_{0};
  std::thread engine_;
};

}  // namespace smallmind::server

#endif  // SMALLMIND_SERVER_SCHEDULER_H_
