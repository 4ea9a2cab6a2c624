#include "server/scheduler.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "runtime/prompt_cache.h"

namespace smallmind::server {

using Clock = std::chrono::steady_clock;

absl::StatusOr<std::unique_ptr<Scheduler>> Scheduler::Create(
    const runtime::Transformer& transformer, const text::Tokenizer& tokenizer,
    const SchedulerOptions& options) {
  if (options.slots < 1) return absl::InvalidArgumentError("a scheduler needs at least one slot");
  if (options.queue < 0) return absl::InvalidArgumentError("the queue must be >= 0");
  runtime::DecodeBatchOptions batch;
  batch.slots = options.slots;
  batch.context = options.context;
  batch.prompt_budget = options.prompt_budget;
  batch.threads = options.threads;
  batch.pin_threads = options.pin_threads;
  batch.kv_types = options.kv_types;
  batch.kv_budget = options.kv_budget;
  batch.prompt_cache = options.prompt_cache;
  absl::StatusOr<std::unique_ptr<runtime::DecodeBatch>> created =
      runtime::DecodeBatch::Create(transformer, tokenizer, batch);
  if (!created.ok()) return created.status();
  return std::unique_ptr<Scheduler>(new Scheduler(options, *std::move(created)));
}

Scheduler::Scheduler(const SchedulerOptions& options, std::unique_ptr<runtime::DecodeBatch> batch)
    : options_(options),
      batch_(std::move(batch)),
      context_(batch_->context()),
      kv_budget_(batch_->kv_budget()),
      slot_ticket_(static_cast<size_t>(options.slots), 0) {
  engine_ = std::thread([this] { Engine(); });
}

Scheduler::~Scheduler() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  engine_.join();
}

absl::StatusOr<uint64_t> Scheduler::Submit(Job job) {
  if (static_cast<int64_t>(job.forks.size()) >= options_.slots) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'n' is ", job.forks.size() + 1, "; this server runs at most ", options_.slots,
        " sequences at once (--parallel)"));
  }
  if (static_cast<int64_t>(job.prompt.size()) >= context_) {
    return absl::InvalidArgumentError(absl::StrCat("the prompt is ", job.prompt.size(),
                                                   " tokens; the context holds ", context_,
                                                   " with room to generate"));
  }
  const int64_t positions = KvPositionsOf(job);
  if (positions > kv_budget_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'n' is ", job.forks.size() + 1, ": that many generations of a ", job.prompt.size(),
        "-token prompt reserve ", positions,
        " KV cache positions (prompt and max_tokens each); the KV budget (--kv-budget) is ",
        kv_budget_));
  }
  uint64_t ticket;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (draining_ || stop_) {
      ++rejected_;
      return absl::UnavailableError("the server is shutting down");
    }
    // Jobs in the queue beyond the free slots are the ones that wait.
    const int free_slots =
        static_cast<int>(std::count(slot_ticket_.begin(), slot_ticket_.end(), 0));
    if (static_cast<int>(queue_.size()) - free_slots >= options_.queue) {
      ++rejected_;
      return absl::UnavailableError("every slot is busy and the queue is full; retry later");
    }
    ticket = next_ticket_++;
    queue_.push_back({ticket, Clock::now(), std::move(job)});
    waiting_.store(static_cast<int>(queue_.size()));
  }
  wake_.notify_all();
  return ticket;
}

int64_t Scheduler::KvPositionsOf(const Job& job) const {
  const int64_t prompt = static_cast<int64_t>(job.prompt.size());
  int64_t positions = batch_->PositionsFor(prompt, job.options);
  for (const Job& fork : job.forks) positions += batch_->PositionsFor(prompt, fork.options);
  return positions;
}

void Scheduler::Cancel(uint64_t ticket) {
  std::unique_lock<std::mutex> lock(mu_);
  for (auto it = queue_.begin(); it != queue_.end(); ++it) {
    if (it->ticket != ticket) continue;
    Job job = std::move(it->job);
    queue_.erase(it);
    waiting_.store(static_cast<int>(queue_.size()));
    lock.unlock();
    runtime::GenerationStats stats;
    stats.prompt_tokens = static_cast<int64_t>(job.prompt.size());
    stats.stop_reason = runtime::StopReason::kCancelled;
    if (job.on_done) job.on_done(stats);
    for (Job& fork : job.forks) {
      if (fork.on_done) fork.on_done(stats);
    }
    return;
  }
  for (size_t slot = 0; slot < slot_ticket_.size(); ++slot) {
    if (slot_ticket_[slot] == ticket) batch_->Cancel(static_cast<int>(slot));
  }
}

void Scheduler::Drain() {
  std::lock_guard<std::mutex> lock(mu_);
  draining_ = true;
}

void Scheduler::CancelAll() {
  std::vector<uint64_t> tickets;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const Waiting& w : queue_) tickets.push_back(w.ticket);
    for (uint64_t t : slot_ticket_) {
      if (t != 0) tickets.push_back(t);
    }
  }
  for (uint64_t t : tickets) Cancel(t);
}

void Scheduler::StartWaiting(std::vector<std::function<void()>>* failed) {
  while (!queue_.empty()) {
    const std::vector<int32_t>& prompt = queue_.front().job.prompt;
    // A job and its forks start together.
    const size_t free_slots = static_cast<size_t>(std::count(slot_ticket_.begin(), slot_ticket_.end(), 0));
    if (free_slots < 1 + queue_.front().job.forks.size()) return;
    int best = -1;
    size_t best_common = 0;
    for (int s = 0; s < options_.slots; ++s) {
      if (slot_ticket_[s] != 0) continue;
      const size_t common = runtime::SharedPrefix(batch_->history(s), prompt);
      if (best < 0 || common > best_common) {
        best = s;
        best_common = common;
      }
    }
    if (best < 0) return;  // every slot is busy
    // First come, first served: the front waits until its positions fit.
    if (!batch_->MakeRoom(KvPositionsOf(queue_.front().job), best)) return;
    Waiting waiting = std::move(queue_.front());
    queue_.pop_front();
    waiting_.store(static_cast<int>(queue_.size()));
    const Clock::time_point started = Clock::now();
    const double queued = std::chrono::duration<double>(started - waiting.submitted).count();
    // Frees the slot, then reports.
    auto finish = [this, queued](int slot, std::shared_ptr<DoneCallback> done) {
      return [this, slot, done, queued](absl::StatusOr<runtime::GenerationStats> result) {
        {
          std::lock_guard<std::mutex> lock(mu_);
          slot_ticket_[slot] = 0;
          busy_.store(static_cast<int>(std::count_if(slot_ticket_.begin(), slot_ticket_.end(),
                                                     [](uint64_t t) { return t != 0; })));
        }
        if (result.ok()) result->queue_seconds = queued;
        if (*done) (*done)(std::move(result));
      };
    };
    auto done = std::make_shared<DoneCallback>(std::move(waiting.job.on_done));
    const absl::Status status =
        batch_->Start(best, waiting.job.prompt, waiting.job.options, std::move(waiting.job.on_text),
                      finish(best, done), std::move(waiting.job.on_token));
    if (!status.ok()) {
      failed->push_back([done, status, forks = std::move(waiting.job.forks)]() mutable {
        if (*done) (*done)(status);
        for (Job& fork : forks) {
          if (fork.on_done) fork.on_done(status);
        }
      });
      continue;
    }
    slot_ticket_[best] = waiting.ticket;
    for (Job& fork : waiting.job.forks) {
      const int slot = static_cast<int>(std::find(slot_ticket_.begin(), slot_ticket_.end(), 0) -
                                        slot_ticket_.begin());
      auto fork_done = std::make_shared<DoneCallback>(std::move(fork.on_done));
      const absl::Status forked = batch_->StartFork(slot, best, fork.options, std::move(fork.on_text),
                                                    finish(slot, fork_done), std::move(fork.on_token));
      if (!forked.ok()) {
        failed->push_back([fork_done, forked] {
          if (*fork_done) (*fork_done)(forked);
        });
        continue;
      }
      slot_ticket_[slot] = waiting.ticket;
    }
    busy_.store(static_cast<int>(std::count_if(slot_ticket_.begin(), slot_ticket_.end(),
                                               [](uint64_t t) { return t != 0; })));
  }
}

void Scheduler::Engine() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    wake_.wait(lock, [&] {
      const bool startable =
          !queue_.empty() && std::count(slot_ticket_.begin(), slot_ticket_.end(), 0) > 0;
      return stop_ || startable || batch_->active() > 0;
    });
    if (stop_) break;
    std::vector<std::function<void()>> failed;
    StartWaiting(&failed);
    lock.unlock();
    for (auto& f : failed) f();
    if (batch_->active() > 0) {
      absl::StatusOr<bool> stepped = batch_->Step();
      if (!stepped.ok()) {
        absl::FPrintF(stderr, "serve: a batch step failed: %s\n", stepped.status().message());
        for (int s = 0; s < options_.slots; ++s) batch_->Cancel(s);
      }
    }
    kv_positions_.store(batch_->kv_positions());
    lock.lock();
  }
  // Stopping: what runs ends before its next token; what waits is dropped.
  std::deque<Waiting> dropped = std::move(queue_);
  queue_.clear();
  waiting_.store(0);
  lock.unlock();
  for (int s = 0; s < options_.slots; ++s) batch_->Cancel(s);
  while (batch_->active() > 0) {
    if (!batch_->Step().ok()) break;
  }
  for (Waiting& w : dropped) {
    runtime::GenerationStats stats;
    stats.prompt_tokens = static_cast<int64_t>(w.job.prompt.size());
    stats.stop_reason = runtime::StopReason::kCancelled;
    if (w.job.on_done) w.job.on_done(stats);
    for (Job& fork : w.job.forks) {
      if (fork.on_done) fork.on_done(stats);
    }
  }
}

}  // namespace smallmind::server
