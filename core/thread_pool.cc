#include "core/thread_pool.h"

#include <algorithm>
#include <chrono>
#include <climits>

#if defined(__linux__)
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace smallmind::core {
namespace {

// Pauses a worker spins for the next call before it sleeps: about 50-150 us
// (PAUSE is ~40-140 cycles), longer than the gap between the kernels of a
// decode step, short enough that an idle pool gives its core back quickly.
constexpr int kWorkerSpin = 2048;
// Pauses the caller spins for tasks still running on other threads before
// it sleeps. A worker that is running finishes a claimed task within this;
// one the kernel preempted does not, and then the caller's core is better
// given to it.
constexpr int kCallerSpin = 512;
// Choosing between the workers and the caller alone (ThreadPool::Weigh):
// windows of at least kWindowNs of busy time and kWindowCalls calls; a gap
// between calls longer than kIdleGapNs is idle time and not counted. Every
// few windows one runs the other way; the way with the lower cost per call
// is kept, by a margin of kSwitchMargin. Explorations are rarer when one
// way is kClearWin times cheaper.
constexpr int64_t kWindowNs = 5'000'000;
constexpr int kWindowCalls = 32;
constexpr int64_t kIdleGapNs = 2'000'000;
constexpr int kExploreSoon = 8;
constexpr int kExploreLate = 64;
constexpr double kClearWin = 1.3;
// Margins a way must win by to be taken: the workers are what the caller
// asked for, so leaving them takes more.
constexpr double kToSoloMargin = 1.15;
constexpr double kToParallelMargin = 1.05;
// A window whose cost per call is this factor off the running average has
// calls of another kind.
constexpr double kNewWorkload = 2.0;
// The low 32 bits of `claim_` while a call is being set up: no task of it
// can be claimed yet.
constexpr uint32_t kClosed = 0xFFFFFFFFu;
// Tasks per round of a call; larger calls run in rounds.
constexpr uint64_t kMaxTasksPerRound = uint64_t{1} << 31;

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

uint64_t ClaimWord(uint32_t epoch, uint32_t task) { return uint64_t{epoch} << 32 | task; }

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Sleeps while `*word` is `expected` (or until woken; spurious returns are
// fine: every caller re-checks).
void FutexWait(std::atomic<uint32_t>* word, uint32_t expected) {
#if defined(__linux__)
  static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t), "futex word");
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_PRIVATE, expected, nullptr,
          nullptr, 0);
#else
  if (word->load() == expected) std::this_thread::yield();
#endif
}

void FutexWake(std::atomic<uint32_t>* word, int count) {
#if defined(__linux__)
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE_PRIVATE, count, nullptr,
          nullptr, 0);
#else
  (void)word;
  (void)count;
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
  stop_.store(true, std::memory_order_relaxed);
  const uint32_t epoch = epoch_.load(std::memory_order_relaxed) + 1;
  claim_.store(ClaimWord(epoch, kClosed), std::memory_order_release);
  epoch_.store(epoch, std::memory_order_seq_cst);
  FutexWake(&epoch_, INT_MAX);
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
  const int64_t start_ns = NowNs();
  if (solo_) {
    for (uint64_t t = 0; t < num_tasks; ++t) fn(closure, t, 0);
  } else {
    RunOnWorkers(num_tasks, fn, closure);
  }
  Weigh(start_ns, NowNs());
}

void ThreadPool::RunOnWorkers(uint64_t num_tasks, TaskFn fn, const void* closure) {
  for (uint64_t first = 0; first < num_tasks; first += kMaxTasksPerRound) {
    const uint32_t n = static_cast<uint32_t>(std::min(kMaxTasksPerRound, num_tasks - first));
    // Close the previous call's claims under a new epoch before touching
    // the call's fields: a worker still holding the old claim word then
    // fails its compare-and-swap.
    const uint32_t epoch = epoch_.load(std::memory_order_relaxed) + 1;
    claim_.store(ClaimWord(epoch, kClosed), std::memory_order_release);
    fn_ = fn;
    closure_ = closure;
    first_task_ = first;
    done_.store(0, std::memory_order_relaxed);
    num_tasks_.store(n, std::memory_order_release);
    claim_.store(ClaimWord(epoch, 0), std::memory_order_release);
    // Spinning workers see the epoch; sleeping ones need a wake-up.
#if defined(__linux__)
    caller_cpu_.store(sched_getcpu(), std::memory_order_relaxed);
#endif
    epoch_.store(epoch, std::memory_order_seq_cst);
    if (sleeping_workers_.load(std::memory_order_seq_cst) > 0) FutexWake(&epoch_, INT_MAX);

    RunTasks(epoch, 0);
    // What is left was claimed by workers: spin while they finish it, then
    // sleep until the last one wakes us.
    for (int i = 0; done_.load(std::memory_order_acquire) < n; ++i) {
      if (i < kCallerSpin) {
        CpuRelax();
        continue;
      }
      caller_sleeping_.store(1, std::memory_order_seq_cst);
      const uint32_t done = done_.load(std::memory_order_seq_cst);
      if (done < n) FutexWait(&done_, done);
      caller_sleeping_.store(0, std::memory_order_relaxed);
    }
  }
}

// On a machine others share, the workers can cost more than they give: a
// worker the kernel preempts while it holds a task stalls its call for a
// time slice (~1-3 ms, against tens of microseconds for a decode step's
// matmul), and under a CPU quota (a cgroup, or another session's busy
// processes under autogroup scheduling) two threads split one share and
// spin part of it away. So the pool measures what matters, the busy time
// per call (the time between calls included: the caller's own work is the
// same either way), run on the workers and run on the caller alone, and
// keeps the cheaper way. A window's calls are the same mix either way when
// it is long enough (a decode step's dozens of calls repeat).
void ThreadPool::Weigh(int64_t start_ns, int64_t end_ns) {
  const int64_t gap = start_ns - last_call_end_ns_;
  if (gap < kIdleGapNs) window_busy_ns_ += gap;
  window_busy_ns_ += end_ns - start_ns;
  last_call_end_ns_ = end_ns;
  if (++window_calls_ < kWindowCalls || window_busy_ns_ < kWindowNs) return;
  double per_call = static_cast<double>(window_busy_ns_) / window_calls_;
  window_busy_ns_ = 0;
  window_calls_ = 0;
  // The first window after a change of way is not counted: a worker woken
  // from sleep, or caches the other way filled, would weigh on it.
  if (settling_) {
    settling_ = false;
    return;
  }
  double& mine = solo_ ? solo_cost_ : parallel_cost_;
  double& other = solo_ ? parallel_cost_ : solo_cost_;
  const bool off = mine > 0 && (per_call > kNewWorkload * mine || per_call * kNewWorkload < mine);
  if (off && last_window_off_) {
    // Two windows running of calls another size (prefill gave way to
    // decode): neither way's cost compares any more. This window may still
    // hold some of the old calls, so this way is measured again too, then
    // the other.
    mine = 0;
    other = 0;
    last_window_off_ = false;
    if (!exploring_) windows_to_explore_ = 2;
    return;
  } else if (off) {
    // One window off may be the machine's hiccup: it counts, clipped.
    per_call = std::clamp(per_call, mine / kNewWorkload, mine * kNewWorkload);
  }
  last_window_off_ = off;
  mine = mine == 0 ? per_call : (mine + per_call) / 2;
  if (exploring_) {
    // The other way has been tried: keep the cheaper, by a margin.
    exploring_ = false;
    if (other == 0) {  // the calls changed meanwhile: back, and try again
      solo_ = !solo_;
      settling_ = true;
      windows_to_explore_ = 1;
      return;
    }
    if (other * (solo_ ? kToParallelMargin : kToSoloMargin) < mine) {
      solo_ = !solo_;
      settling_ = true;
    }
    const double ratio = std::max(mine, other) / std::min(mine, other);
    windows_to_explore_ = ratio > kClearWin ? kExploreLate : kExploreSoon;
    return;
  }
  // This way has grown dearer than the other was (the machine got busy, or
  // quiet): try the other at once.
  if (other > 0 && other < mine) windows_to_explore_ = 0;
  if (--windows_to_explore_ <= 0) {
    exploring_ = true;
    solo_ = !solo_;
    settling_ = true;
  }
}

void ThreadPool::RunTasks(uint32_t epoch, int thread) {
  uint64_t claim = claim_.load(std::memory_order_acquire);
  for (;;) {
    if (static_cast<uint32_t>(claim >> 32) != epoch) return;  // a newer call
    const uint32_t task = static_cast<uint32_t>(claim);
    // Reading a newer call's count implies its epoch is in `claim_`
    // (release/acquire), so the exchange below fails and nothing runs.
    const uint32_t n = num_tasks_.load(std::memory_order_acquire);
    if (task >= n) return;
    if (!claim_.compare_exchange_weak(claim, claim + 1, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
      continue;
    }
    fn_(closure_, first_task_ + task, thread);
    if (done_.fetch_add(1, std::memory_order_seq_cst) + 1 == n &&
        caller_sleeping_.load(std::memory_order_seq_cst) != 0) {
      FutexWake(&done_, 1);
    }
    claim = claim_.load(std::memory_order_acquire);
  }
}

// The scheduler wakes a thread on the core of the thread that woke it, if
// it can: a worker woken by the caller then shares the caller's core, and
// both spin on it while another core idles, until the load balancer steps
// in milliseconds later. A woken worker that finds itself there moves to
// another of its allowed cores (without pinning: its affinity is given back
// at once, so a busy core can still be left).
void ThreadPool::LeaveCallersCore() {
#if defined(__linux__)
  if (pinned_creator_) return;  // pinned workers stay where they were put
  const int cpu = sched_getcpu();
  if (cpu < 0 || cpu != caller_cpu_.load(std::memory_order_relaxed)) return;
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0 || CPU_COUNT(&allowed) < 2) return;
  cpu_set_t elsewhere = allowed;
  CPU_CLR(cpu, &elsewhere);
  if (sched_setaffinity(0, sizeof(elsewhere), &elsewhere) == 0) {
    sched_setaffinity(0, sizeof(allowed), &allowed);
  }
#endif
}

void ThreadPool::WorkerLoop(int thread) {
  uint32_t seen = 0;
  for (;;) {
    uint32_t epoch = epoch_.load(std::memory_order_acquire);
    for (int i = 0; epoch == seen && i < kWorkerSpin; ++i) {
      CpuRelax();
      epoch = epoch_.load(std::memory_order_acquire);
    }
    bool slept = false;
    while (epoch == seen) {
      sleeping_workers_.fetch_add(1, std::memory_order_seq_cst);
      if (epoch_.load(std::memory_order_seq_cst) == seen) FutexWait(&epoch_, seen);
      sleeping_workers_.fetch_sub(1, std::memory_order_relaxed);
      epoch = epoch_.load(std::memory_order_acquire);
      slept = true;
    }
    if (slept) LeaveCallersCore();
    seen = epoch;
    if (stop_.load(std::memory_order_relaxed)) return;
    RunTasks(epoch, thread);
  }
}

}  // namespace smallmind::core
