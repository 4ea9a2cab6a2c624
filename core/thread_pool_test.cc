#include "core/thread_pool.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#endif

#include "gtest/gtest.h"

namespace smallmind::core {
namespace {

TEST(ThreadPoolTest, RunsEveryTaskExactlyOnce) {
  for (int threads : {1, 2, 4}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.num_threads(), threads);
    for (uint64_t n : {0, 1, 2, 7, 1000}) {
      std::vector<std::atomic<int>> hits(n);
      pool.ParallelFor(n, [&](uint64_t task, int thread) {
        ASSERT_GE(thread, 0);
        ASSERT_LT(thread, threads);
        hits[task].fetch_add(1);
      });
      for (uint64_t i = 0; i < n; ++i) EXPECT_EQ(hits[i].load(), 1);
    }
  }
}

TEST(ThreadPoolTest, OneThreadRunsInlineInOrder) {
  ThreadPool pool(1);
  const std::thread::id caller = std::this_thread::get_id();
  std::vector<uint64_t> order;
  pool.ParallelFor(5, [&](uint64_t task, int thread) {
    EXPECT_EQ(std::this_thread::get_id(), caller);
    EXPECT_EQ(thread, 0);
    order.push_back(task);
  });
  EXPECT_EQ(order, (std::vector<uint64_t>{0, 1, 2, 3, 4}));
}

TEST(ThreadPoolTest, NonPositiveThreadCountMeansOne) {
  ThreadPool pool(0);
  EXPECT_EQ(pool.num_threads(), 1);
}

TEST(ThreadPoolTest, ThreadIndexIsExclusivePerCall) {
  ThreadPool pool(3);
  std::vector<std::atomic<int>> in_use(3);
  std::atomic<bool> clash{false};
  pool.ParallelFor(3000, [&](uint64_t, int thread) {
    if (in_use[thread].fetch_add(1) != 0) clash = true;
    in_use[thread].fetch_sub(1);
  });
  EXPECT_FALSE(clash.load());
}

TEST(ThreadPoolTest, NestedCallRunsInline) {
  ThreadPool pool(2);
  std::atomic<int> inner{0};
  pool.ParallelFor(4, [&](uint64_t, int) {
    pool.ParallelFor(3, [&](uint64_t, int) { inner.fetch_add(1); });
  });
  EXPECT_EQ(inner.load(), 12);
}

// Many short calls back to back (as in a decode step), from two caller
// threads sharing one pool at once. Run under --config=tsan too.
TEST(ThreadPoolStressTest, ManyCallsFromConcurrentCallers) {
  ThreadPool pool(3);
  constexpr int kCalls = 2000;
  auto caller = [&](uint64_t* sum_out) {
    uint64_t total = 0;
    for (int call = 0; call < kCalls; ++call) {
      const uint64_t n = 1 + call % 17;
      std::vector<uint64_t> partial(n, 0);
      pool.ParallelFor(n, [&](uint64_t task, int) { partial[task] = task + 1; });
      for (uint64_t v : partial) total += v;
    }
    *sum_out = total;
  };
  uint64_t a = 0, b = 0;
  std::thread other(caller, &b);
  caller(&a);
  other.join();
  uint64_t expected = 0;
  for (int call = 0; call < kCalls; ++call) {
    const uint64_t n = 1 + call % 17;
    expected += n * (n + 1) / 2;
  }
  EXPECT_EQ(a, expected);
  EXPECT_EQ(b, expected);
}

TEST(ThreadPoolStressTest, CreateAndDestroyRepeatedly) {
  for (int i = 0; i < 50; ++i) {
    ThreadPool pool(4);
    std::atomic<int> count{0};
    pool.ParallelFor(8, [&](uint64_t, int) { count.fetch_add(1); });
    EXPECT_EQ(count.load(), 8);
  }
}

#if defined(__linux__)
// A worker the kernel has preempted, made deterministic: a signal handler
// holds the worker's thread on a semaphore the test controls, wherever it
// was (spinning or asleep between calls). Calls made meanwhile must finish
// without it, the other threads taking its share.
sem_t held_worker;
sem_t release_worker;
void HoldWorker(int) {
  sem_post(&held_worker);
  while (sem_wait(&release_worker) != 0) {
  }
}

TEST(ThreadPoolTest, CallsCompleteWhileAWorkerIsHeld) {
  ASSERT_EQ(sem_init(&held_worker, 0, 0), 0);
  ASSERT_EQ(sem_init(&release_worker, 0, 0), 0);
  struct sigaction action = {};
  action.sa_handler = HoldWorker;
  sigemptyset(&action.sa_mask);
  struct sigaction previous;
  ASSERT_EQ(sigaction(SIGUSR1, &action, &previous), 0);

  constexpr int kThreads = 3;
  ThreadPool pool(kThreads);
  // Learn the workers' threads: each task sleeps a little, so every thread
  // gets some.
  std::vector<pthread_t> thread_of(kThreads);
  std::vector<std::atomic<bool>> seen(kThreads);
  while (!seen[1].load() || !seen[2].load()) {
    pool.ParallelFor(64, [&](uint64_t, int thread) {
      thread_of[thread] = pthread_self();
      seen[thread].store(true);
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    });
  }
  // Hold worker 1 between calls; run calls of many tasks without it.
  ASSERT_EQ(pthread_kill(thread_of[1], SIGUSR1), 0);
  while (sem_wait(&held_worker) != 0) {
  }
  for (int call = 0; call < 20; ++call) {
    std::vector<std::atomic<int>> hits(100);
    std::atomic<int> by_held{0};
    pool.ParallelFor(100, [&](uint64_t task, int thread) {
      hits[task].fetch_add(1);
      if (thread == 1) by_held.fetch_add(1);
    });
    for (const auto& h : hits) ASSERT_EQ(h.load(), 1);
    EXPECT_EQ(by_held.load(), 0);
  }
  // Let it go: it takes part again.
  sem_post(&release_worker);
  std::atomic<bool> held_ran{false};
  while (!held_ran.load()) {
    pool.ParallelFor(64, [&](uint64_t, int thread) {
      if (thread == 1) held_ran = true;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    });
  }
  sigaction(SIGUSR1, &previous, nullptr);
  sem_destroy(&held_worker);
  sem_destroy(&release_worker);
}

bool SameAffinity(const cpu_set_t& a, const cpu_set_t& b) { return CPU_EQUAL(&a, &b); }

cpu_set_t CurrentAffinity() {
  cpu_set_t set;
  CPU_ZERO(&set);
  sched_getaffinity(0, sizeof(set), &set);
  return set;
}

// A pool created without `pin` leaves the caller's affinity alone; with it
// (where the cores allow) it narrows it while it lives and restores it.
TEST(ThreadPoolTest, PinsOnlyWhenAsked) {
  const cpu_set_t before = CurrentAffinity();
  {
    ThreadPool pool(2);
    pool.ParallelFor(4, [](uint64_t, int) {});
    EXPECT_TRUE(SameAffinity(CurrentAffinity(), before));
  }
  if (CPU_COUNT(&before) < 2) GTEST_SKIP() << "one core: nothing to pin";
  {
    ThreadPool pool(2, /*pin=*/true);
    EXPECT_FALSE(SameAffinity(CurrentAffinity(), before));
  }
  EXPECT_TRUE(SameAffinity(CurrentAffinity(), before));
}
#endif

}  // namespace
}  // namespace smallmind::core
