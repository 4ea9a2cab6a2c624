#include "core/thread_pool.h"

#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace smallmind::core {
namespace {

// About 0.2-1 ms of spinning (PAUSE is ~40-140 cycles): longer than the gap
// between the kernels of one decode step, far shorter than an idle session.
constexpr int kSpinIterations = 8192;
// How long the caller spins for stragglers before yielding its core.
constexpr int kWaitSpinIterations = 1024;
// A spinning worker yields its core once per this many pauses.
constexpr int kYieldEvery = 256;

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

}  // namespace

ThreadPool::ThreadPool(int num_threads, bool pin) {
  const int workers = num_threads > 1 ? num_threads - 1 : 0;
  workers_.reserve(workers);
  for (int i = 0; i < workers; ++i) {
    workers_.emplace_back([this, i] { WorkerLoop(i + 1); });
  }
  if (pin) PinWorkers();
}

void ThreadPool::PinWorkers() {
#if defined(__linux__)
  // The scheduler tends to put a worker on the core of the thread that woke
  // it; a pool whose threads hand work back and forth then shares one core
  // while the others idle (seen on 2-core VMs: 10x slower decode). Worker
  // k gets core k counting down from the last, and the thread creating the
  // pool, which runs its jobs, the cores left. Only when there are at least
  // as many cores as threads.
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) return;
  std::vector<int> cores;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &allowed)) cores.push_back(c);
  }
  if (cores.size() < workers_.size() + 1) return;
  for (size_t i = 0; i < workers_.size(); ++i) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cores[cores.size() - 1 - i], &one);
    pthread_setaffinity_np(workers_[i].native_handle(), sizeof(one), &one);
  }
  creator_ = pthread_self();
  creator_affinity_ = allowed;
  pinned_creator_ = true;
  cpu_set_t rest;
  CPU_ZERO(&rest);
  for (size_t c = 0; c + workers_.size() < cores.size(); ++c) CPU_SET(cores[c], &rest);
  pthread_setaffinity_np(pthread_self(), sizeof(rest), &rest);
#endif
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(wake_mutex_);
    stop_.store(true, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_cv_.notify_all();
  for (std::thread& t : workers_) t.join();
#if defined(__linux__)
  // Give the creating thread its cores back.
  if (pinned_creator_ && pthread_equal(creator_, pthread_self())) {
    pthread_setaffinity_np(creator_, sizeof(creator_affinity_), &creator_affinity_);
  }
#endif
}

void ThreadPool::Run(uint64_t num_tasks, TaskFn fn, const void* closure) {
  if (num_tasks == 0) return;
  std::unique_lock<std::mutex> call(call_mutex_, std::defer_lock);
  if (workers_.empty() || num_tasks == 1 || !call.try_lock()) {
    for (uint64_t t = 0; t < num_tasks; ++t) fn(closure, t, 0);
    return;
  }
  fn_ = fn;
  closure_ = closure;
  num_tasks_ = num_tasks;
  next_task_.store(0, std::memory_order_relaxed);
  busy_workers_.store(static_cast<int>(workers_.size()),
                      std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(wake_mutex_);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_cv_.notify_all();
  RunTasks(0);
  // Spin briefly, then yield: when the machine is oversubscribed (another
  // library's threads, other processes) a descheduled worker needs this
  // core to finish, and pure spinning would hold it for a whole time slice.
  for (int i = 0; busy_workers_.load(std::memory_order_acquire) != 0; ++i) {
    if (i < kWaitSpinIterations) {
      CpuRelax();
    } else {
      std::this_thread::yield();
    }
  }
}

void ThreadPool::RunTasks(int thread) {
  for (;;) {
    const uint64_t task = next_task_.fetch_add(1, std::memory_order_relaxed);
    if (task >= num_tasks_) return;
    fn_(closure_, task, thread);
  }
}

void ThreadPool::WorkerLoop(int thread) {
  uint64_t seen = 0;
  for (;;) {
    uint64_t generation = generation_.load(std::memory_order_acquire);
    for (int i = 0; generation == seen && i < kSpinIterations; ++i) {
      // Yield now and then: if the caller shares this core (an
      // oversubscribed machine), it must run to post the next job.
      if (i % kYieldEvery == kYieldEvery - 1) {
        std::this_thread::yield();
      } else {
        CpuRelax();
      }
      generation = generation_.load(std::memory_order_acquire);
    }
    if (generation == seen) {
      std::unique_lock<std::mutex> lock(wake_mutex_);
      wake_cv_.wait(lock, [&] {
        return generation_.load(std::memory_order_acquire) != seen;
      });
      generation = generation_.load(std::memory_order_acquire);
    }
    seen = generation;
    if (stop_.load(std::memory_order_relaxed)) return;
    RunTasks(thread);
    busy_workers_.fetch_sub(1, std::memory_order_release);
  }
}

}  // namespace smallmind::core
