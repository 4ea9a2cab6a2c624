#include "core/thread_pool.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdio>

#if defined(__linux__)
#include <fcntl.h>
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
// The windows ParallelPolicy weighs: at least kWindowNs of busy time and
// kWindowCalls calls; a gap between calls longer than kIdleGapNs is idle
// time and not counted. Idle cores are sampled over kIdleSampleNs at least
// (/proc/stat counts in hundredths of a second).
constexpr int64_t kWindowNs = 10'000'000;
constexpr int kWindowCalls = 32;
constexpr int64_t kIdleGapNs = 2'000'000;
constexpr int64_t kIdleSampleNs = 100'000'000;
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

// How long the calling thread has run and waited for a core, in
// nanoseconds (Linux's schedstat); false where unknown.
bool ReadSchedStat(int64_t* run_ns, int64_t* wait_ns) {
#if defined(__linux__)
  const int fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char text[96];
  const ssize_t n = read(fd, text, sizeof(text) - 1);
  close(fd);
  if (n <= 0) return false;
  text[n] = 0;
  long long run = 0, wait = 0;
  if (std::sscanf(text, "%lld %lld", &run, &wait) != 2) return false;
  *run_ns = run;
  *wait_ns = wait;
  return true;
#else
  return false;
#endif
}

// Idle time of all cores so far, in clock ticks (/proc/stat: idle and
// iowait); -1 where unknown.
int64_t ReadIdleTicks() {
#if defined(__linux__)
  const int fd = open("/proc/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char text[256];
  const ssize_t n = read(fd, text, sizeof(text) - 1);
  close(fd);
  if (n <= 0) return -1;
  text[n] = 0;
  long long user, nice, system, idle, iowait;
  if (std::sscanf(text, "cpu %lld %lld %lld %lld %lld", &user, &nice, &system, &idle, &iowait) !=
      5) {
    return -1;
  }
  return idle + iowait;
#else
  return -1;
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
  if (policy_.solo()) {
    for (uint64_t t = 0; t < num_tasks; ++t) fn(closure, t, 0);
  } else {
    RunOnWorkers(num_tasks, fn, closure);
  }
  Weigh(num_tasks, start_ns, NowNs());
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

void ThreadPool::WatchMachine(int64_t now_ns) {
  crowding_ = 0;
  int64_t run_ns, wait_ns;
#if defined(__linux__)
  const int64_t tid = syscall(SYS_gettid);
#else
  const int64_t tid = 0;
#endif
  if (ReadSchedStat(&run_ns, &wait_ns)) {
    const int64_t runnable = (run_ns - sched_run_ns_) + (wait_ns - sched_wait_ns_);
    if (tid == sched_tid_ && runnable > 0) {
      crowding_ = static_cast<double>(wait_ns - sched_wait_ns_) / static_cast<double>(runnable);
    }
    sched_tid_ = tid;
    sched_run_ns_ = run_ns;
    sched_wait_ns_ = wait_ns;
  }
  if (now_ns - idle_since_ns_ < kIdleSampleNs) return;
  const int64_t ticks = ReadIdleTicks();
  if (ticks >= 0 && idle_ticks_ >= 0) {
    idle_cores_ = static_cast<double>(ticks - idle_ticks_) /
                  (static_cast<double>(sysconf(_SC_CLK_TCK)) * 1e-9 * (now_ns - idle_since_ns_));
  }
  idle_ticks_ = ticks;
  idle_since_ns_ = now_ns;
}

// Busy time per call is what matters: the time between calls is counted
// too (the caller's own work is the same either way), and a window's calls
// are the same mix either way when it is long enough (a decode step's
// dozens of calls repeat).
void ThreadPool::Weigh(uint64_t num_tasks, int64_t start_ns, int64_t end_ns) {
  const int64_t gap = start_ns - last_call_end_ns_;
  if (gap < kIdleGapNs) window_busy_ns_ += gap;
  window_busy_ns_ += end_ns - start_ns;
  window_tasks_ += num_tasks;
  last_call_end_ns_ = end_ns;
  if (++window_calls_ < kWindowCalls || window_busy_ns_ < kWindowNs) return;
  ParallelPolicy::Window window;
  window.cost = static_cast<double>(window_busy_ns_) / window_calls_;
  window.signature = std::log2(static_cast<double>(window_tasks_) / window_calls_);
  window_busy_ns_ = window_tasks_ = 0;
  window_calls_ = 0;
  WatchMachine(end_ns);
  window.crowding = crowding_;
  window.idle_workers = idle_cores_ / static_cast<double>(workers_.size());
  const bool was_crowded = policy_.crowded();
  policy_.Add(window);
  if (policy_.crowded() && !was_crowded) {
    idle_cores_ = 0;
    idle_ticks_ = -1;  // idle time counts from here
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
