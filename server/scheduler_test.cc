// The engine without HTTP: every job ends exactly once with what a session
// would have made, the queue is first come first served and bounded, a job
// is cancelled whether it runs or waits, a returning conversation takes the
// slot that holds its history, and draining refuses new jobs. Runs under
// TSan too.
#include "server/scheduler.h"

#include <algorithm>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/loaded_model.h"
#include "runtime/session.h"
#include "runtime/test_model.h"

namespace smallmind::server {
namespace {

using runtime::GenerationStats;
using runtime::StopReason;

runtime::LoadedModel& Model() {
  static runtime::LoadedModel* model = [] {
    const std::string path = runtime::WriteSmallTestModel(core::DType::kF32, 64);
    auto loaded = runtime::LoadedModel::Load(path, {});
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    return new runtime::LoadedModel(*std::move(loaded));
  }();
  return *model;
}

std::unique_ptr<Scheduler> MakeScheduler(int slots, int queue) {
  SchedulerOptions options;
  options.slots = slots;
  options.queue = queue;
  auto s = Scheduler::Create(*Model().transformer, *Model().tokenizer, options);
  EXPECT_TRUE(s.ok()) << s.status();
  return *std::move(s);
}

std::vector<int32_t> Prompt(const std::string& text) {
  return *Model().tokenizer->Encode(text, true, false);
}

runtime::GenerateOptions Greedy(int tokens) {
  runtime::GenerateOptions o;
  o.max_tokens = tokens;
  o.sampler.temperature = 0;
  o.ignore_eos = true;
  return o;
}

// What one job produced, delivered once.
struct Outcome {
  std::string text;
  std::promise<absl::StatusOr<GenerationStats>> done;
  int done_calls = 0;
};

Scheduler::Job MakeJob(const std::vector<int32_t>& prompt, const runtime::GenerateOptions& options,
                       Outcome* out) {
  Scheduler::Job job;
  job.prompt = prompt;
  job.options = options;
  job.on_text = [out](absl::string_view t) {
    out->text.append(t.data(), t.size());
    return true;
  };
  job.on_done = [out](absl::StatusOr<GenerationStats> s) {
    if (++out->done_calls == 1) out->done.set_value(std::move(s));
  };
  return job;
}

std::string SessionText(const std::vector<int32_t>& prompt, const runtime::GenerateOptions& o) {
  auto session = runtime::Session::Create(*Model().transformer, *Model().tokenizer, {});
  std::string text;
  auto stats = (*session)->GenerateFrom(prompt, o, [&](absl::string_view t) {
    text.append(t.data(), t.size());
    return true;
  });
  EXPECT_TRUE(stats.ok()) << stats.status();
  return text;
}

TEST(SchedulerTest, MoreJobsThanSlotsAllFinishAsASessionWould) {
  std::unique_ptr<Scheduler> scheduler = MakeScheduler(2, 16);
  constexpr int kJobs = 7;
  std::vector<std::unique_ptr<Outcome>> outcomes;
  for (int i = 0; i < kJobs; ++i) {
    outcomes.push_back(std::make_unique<Outcome>());
    auto ticket = scheduler->Submit(
        MakeJob(Prompt("job " + std::to_string(i)), Greedy(8 + i), outcomes.back().get()));
    ASSERT_TRUE(ticket.ok()) << ticket.status();
  }
  for (int i = 0; i < kJobs; ++i) {
    absl::StatusOr<GenerationStats> stats = outcomes[i]->done.get_future().get();
    ASSERT_TRUE(stats.ok()) << stats.status();
    EXPECT_EQ(stats->generated_tokens, 8 + i);
    EXPECT_EQ(stats->stop_reason, StopReason::kMaxTokens);
    EXPECT_EQ(outcomes[i]->text, SessionText(Prompt("job " + std::to_string(i)), Greedy(8 + i)));
  }
  scheduler.reset();
  for (const auto& o : outcomes) EXPECT_EQ(o->done_calls, 1);
}

TEST(SchedulerTest, QueueIsBoundedAndFirstComeFirstServed) {
  std::unique_ptr<Scheduler> scheduler = MakeScheduler(1, 2);
  std::mutex mu;
  std::vector<int> started;
  std::vector<std::unique_ptr<Outcome>> outcomes;
  std::vector<uint64_t> tickets;
  // One long job holds the slot; two wait; the fourth is refused.
  for (int i = 0; i < 4; ++i) {
    outcomes.push_back(std::make_unique<Outcome>());
    Scheduler::Job job = MakeJob(Prompt("q"), Greedy(i == 0 ? 40 : 4), outcomes.back().get());
    auto text = job.on_text;
    job.on_text = [&, i, text](absl::string_view t) {
      {
        std::lock_guard<std::mutex> lock(mu);
        if (std::find(started.begin(), started.end(), i) == started.end()) started.push_back(i);
      }
      return text(t);
    };
    absl::StatusOr<uint64_t> ticket = scheduler->Submit(std::move(job));
    if (i < 3) {
      ASSERT_TRUE(ticket.ok()) << i << ": " << ticket.status();
    } else {
      EXPECT_TRUE(absl::IsUnavailable(ticket.status())) << ticket.status();
    }
  }
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(outcomes[i]->done.get_future().get().ok());
  EXPECT_EQ(started, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(scheduler->rejected(), 1u);
}

TEST(SchedulerTest, CancelsRunningAndWaitingJobs) {
  std::unique_ptr<Scheduler> scheduler = MakeScheduler(1, 4);
  Outcome running, waiting;
  // The running job's first text holds the engine until both cancels are
  // in, so neither job can finish first.
  std::promise<void> first_text, cancels_in;
  std::shared_future<void> go = cancels_in.get_future().share();
  Scheduler::Job job = MakeJob(Prompt("long"), Greedy(60), &running);
  bool signalled = false;
  auto text = job.on_text;
  job.on_text = [&, text, go](absl::string_view t) {
    if (!signalled) {
      signalled = true;
      first_text.set_value();
      go.wait();
    }
    return text(t);
  };
  const uint64_t run_ticket = *scheduler->Submit(std::move(job));
  const uint64_t wait_ticket = *scheduler->Submit(MakeJob(Prompt("w"), Greedy(4), &waiting));
  first_text.get_future().wait();
  scheduler->Cancel(wait_ticket);
  scheduler->Cancel(run_ticket);
  cancels_in.set_value();
  absl::StatusOr<GenerationStats> w = waiting.done.get_future().get();
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->stop_reason, StopReason::kCancelled);
  EXPECT_EQ(w->generated_tokens, 0);
  EXPECT_TRUE(waiting.text.empty());
  absl::StatusOr<GenerationStats> r = running.done.get_future().get();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stop_reason, StopReason::kCancelled);
  EXPECT_LT(r->generated_tokens, 60);
  scheduler->Cancel(run_ticket);  // finished: ignored
}

TEST(SchedulerTest, AReturningConversationTakesTheSlotThatHoldsIt) {
  std::unique_ptr<Scheduler> scheduler = MakeScheduler(2, 4);
  Outcome a, b;
  const std::vector<int32_t> first = Prompt("a conversation that goes on");
  ASSERT_TRUE(scheduler->Submit(MakeJob(first, Greedy(4), &a)).ok());
  ASSERT_TRUE(a.done.get_future().get().ok());
  // The same history and more: most of it is already in a slot's cache.
  std::vector<int32_t> longer = first;
  for (int32_t id : Prompt(" and on")) longer.push_back(id);
  ASSERT_TRUE(scheduler->Submit(MakeJob(longer, Greedy(4), &b)).ok());
  absl::StatusOr<GenerationStats> stats = b.done.get_future().get();
  ASSERT_TRUE(stats.ok());
  EXPECT_GE(stats->prompt_tokens_cached, static_cast<int64_t>(first.size()) - 1);
}

TEST(SchedulerTest, RefusesWhatCannotFitAndDrains) {
  std::unique_ptr<Scheduler> scheduler = MakeScheduler(1, 4);
  Outcome unused;
  std::vector<int32_t> too_long(static_cast<size_t>(scheduler->context()), 65);
  EXPECT_TRUE(absl::IsInvalidArgument(
      scheduler->Submit(MakeJob(too_long, Greedy(1), &unused)).status()));
  Outcome done;
  ASSERT_TRUE(scheduler->Submit(MakeJob(Prompt("x"), Greedy(2), &done)).ok());
  scheduler->Drain();
  EXPECT_TRUE(absl::IsUnavailable(scheduler->Submit(MakeJob(Prompt("y"), Greedy(2), &unused)).status()));
  EXPECT_TRUE(done.done.get_future().get().ok());  // what was queued still runs
}

// Two slots sharing one slot's worth of KV positions: a job whose prompt
// and max_tokens do not fit beside the running one's waits for it (a free
// slot notwithstanding), then generates what a session would; n
// generations reserving more than the budget are refused.
TEST(SchedulerTest, AJobWaitsForTheKvBudget) {
  SchedulerOptions options;
  options.slots = 2;
  options.kv_budget = 64;  // the context
  std::unique_ptr<Scheduler> scheduler =
      *Scheduler::Create(*Model().transformer, *Model().tokenizer, options);
  EXPECT_EQ(scheduler->kv_budget(), 64);
  std::vector<int32_t> first(30, 66), second(30, 67);
  std::mutex mu;
  std::vector<std::string> events;
  auto log = [&](const std::string& e) {
    std::lock_guard<std::mutex> lock(mu);
    if (std::find(events.begin(), events.end(), e) == events.end()) events.push_back(e);
  };
  Outcome a, b;
  Scheduler::Job job_a = MakeJob(first, Greedy(20), &a);
  auto done_a = job_a.on_done;
  job_a.on_done = [&, done_a](absl::StatusOr<GenerationStats> s) {
    log("a done");
    done_a(std::move(s));
  };
  Scheduler::Job job_b = MakeJob(second, Greedy(8), &b);
  auto text_b = job_b.on_text;
  job_b.on_text = [&, text_b](absl::string_view t) {
    log("b text");
    return text_b(t);
  };
  ASSERT_TRUE(scheduler->Submit(std::move(job_a)).ok());
  ASSERT_TRUE(scheduler->Submit(std::move(job_b)).ok());
  ASSERT_TRUE(a.done.get_future().get().ok());
  absl::StatusOr<GenerationStats> stats = b.done.get_future().get();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->stop_reason, StopReason::kMaxTokens);
  EXPECT_EQ(events, (std::vector<std::string>{"a done", "b text"}));
  EXPECT_EQ(b.text, SessionText(second, Greedy(8)));
  Outcome unused;
  Scheduler::Job forked = MakeJob(first, Greedy(20), &unused);  // n = 2: 2 * 50 positions
  forked.forks.push_back(MakeJob({}, Greedy(20), &unused));
  EXPECT_THAT(std::string(scheduler->Submit(std::move(forked)).status().message()),
              ::testing::HasSubstr("the KV budget (--kv-budget) is 64"));
}

TEST(SchedulerTest, DestroyingEndsEveryJobOnce) {
  Outcome a, b, c;
  {
    std::unique_ptr<Scheduler> scheduler = MakeScheduler(1, 4);
    ASSERT_TRUE(scheduler->Submit(MakeJob(Prompt("a"), Greedy(50), &a)).ok());
    ASSERT_TRUE(scheduler->Submit(MakeJob(Prompt("b"), Greedy(50), &b)).ok());
    ASSERT_TRUE(scheduler->Submit(MakeJob(Prompt("c"), Greedy(50), &c)).ok());
  }
  for (Outcome* o : {&a, &b, &c}) {
    EXPECT_EQ(o->done_calls, 1);
    EXPECT_TRUE(o->done.get_future().get().ok());
  }
}

}  // namespace
}  // namespace smallmind::server
