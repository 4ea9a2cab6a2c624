// A fixed pool of threads for data-parallel loops.
//
// Created once with N threads in all: N - 1 workers plus the calling thread,
// which takes part in every ParallelFor. A call allocates nothing: the
// callable is passed by reference through a function pointer.
//
// Made to stay fast on a machine it shares (other processes, a CPU quota):
// - Tasks are claimed one at a time from a counter tagged with the call's
//   epoch, and a call waits only for tasks that were claimed. A worker the
//   kernel has preempted before it claimed anything is not waited for: the
//   threads that run take its share.
// - Waiting spins briefly, then sleeps on a futex: a worker idle between
//   calls, or a caller whose last task runs on a preempted worker, gives its
//   core away instead of burning the time slice the preempted thread needs.
// - A worker preempted while it holds a task still stalls its call, and
//   when the machine is shared two threads split one share. So the pool
//   runs each kind of call (workload) on the workers or on the calling
//   thread alone: alone at once when the caller is seen waiting for a core
//   (Linux's schedstat), back on the workers when cores are idle, and
//   otherwise the cheaper way as timed both ways now and then
//   (core/parallel_policy.h). On a busy machine -t N is then not slower
//   than -t 1.
// The spins are short enough to cost little when the machine is busy and
// long enough to bridge the gaps between the kernels of a decode step, so an
// idle machine does not pay a wake-up per call (docs/architecture.md,
// "Threads").
//
// Thread-safety: ParallelFor may be called from any thread. Only one call
// uses the workers at a time; a call that finds them busy (another thread's
// call, or a nested call from inside a task) runs its tasks inline on the
// calling thread, so it never deadlocks.
#ifndef SMALLMIND_CORE_THREAD_POOL_H_
#define SMALLMIND_CORE_THREAD_POOL_H_

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "core/parallel_policy.h"

#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#endif

namespace smallmind::core {

class ThreadPool {
 public:
  // `num_threads` < 1 is treated as 1 (everything inline). With `pin`, and
  // when the process may use at least `num_threads` cores, workers are
  // pinned to cores of their own and the constructing thread (which should
  // be the one calling ParallelFor) to the others, so the scheduler cannot
  // stack them on one; the constructing thread gets its affinity back when
  // it destroys the pool. Without `pin` no thread's affinity changes: what
  // a library linked into another program must do unless asked.
  explicit ThreadPool(int num_threads, bool pin = false);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls `fn(task, thread)` once for every task in [0, num_tasks) and
  // returns when all are done. `thread` is in [0, num_threads()) and no two
  // tasks running at the same time in one call share it, so it can index
  // per-thread scratch. Tasks go to whichever thread asks first, so a
  // thread may run any number of them, or none.
  template <class Fn>
  void ParallelFor(uint64_t num_tasks, const Fn& fn) {
    Run(num_tasks, &Trampoline<Fn>, &fn);
  }

 private:
  using TaskFn = void (*)(const void* closure, uint64_t task, int thread);

  template <class Fn>
  static void Trampoline(const void* closure, uint64_t task, int thread) {
    (*static_cast<const Fn*>(closure))(task, thread);
  }

  void Run(uint64_t num_tasks, TaskFn fn, const void* closure);
  void RunOnWorkers(uint64_t num_tasks, TaskFn fn, const void* closure);
  // Runs tasks of the call whose epoch is `epoch` until none is left to
  // claim (or a newer call has begun).
  void RunTasks(uint32_t epoch, int thread);
  // Reads how long the caller waited for a core since the last window
  // (crowding_) and, every so often, how many cores were idle (idle_cores_).
  void WatchMachine(int64_t now_ns);
  // Records a call's time and chooses how the next ones run.
  void Weigh(uint64_t num_tasks, int64_t start_ns, int64_t end_ns);
  void WorkerLoop(int thread);
  void LeaveCallersCore();
  void PinWorkers();

#if defined(__linux__)
  // The constructing thread's own affinity, restored when it destroys the
  // pool.
  bool pinned_creator_ = false;
  pthread_t creator_{};
  cpu_set_t creator_affinity_{};
#endif

  std::vector<std::thread> workers_;
  std::mutex call_mutex_;  // held by the call that owns the workers

  // The current call. `fn_` and `closure_` are written before `claim_`
  // announces the call (release) and read only by a thread that has claimed
  // one of its tasks, which the call waits for, so they cannot change under
  // it.
  TaskFn fn_ = nullptr;
  const void* closure_ = nullptr;
  uint64_t first_task_ = 0;  // a call of more than 2^31 tasks runs in rounds
  // The call's epoch (high 32 bits) and its next unclaimed task (low 32).
  // A claim is a compare-and-swap that fails once the epoch has moved on,
  // so a worker that wakes late can never run a task of the wrong call.
  std::atomic<uint64_t> claim_{0};
  std::atomic<uint32_t> num_tasks_{0};
  // Tasks of the current call finished; the caller sleeps on it (a futex)
  // once it has spun for a while, announced by `caller_sleeping_`.
  std::atomic<uint32_t> done_{0};
  std::atomic<uint32_t> caller_sleeping_{0};
  // The epoch of the newest call, which idle workers sleep on (a futex),
  // announced by `sleeping_workers_`; `stop_` ends them.
  std::atomic<uint32_t> epoch_{0};
  std::atomic<uint32_t> sleeping_workers_{0};
  std::atomic<bool> stop_{false};
  std::atomic<int> caller_cpu_{-1};  // the core the current call began on

  // Whether calls run on the workers or on the caller alone
  // (core/parallel_policy.h), the window being measured and what the
  // scheduler said at the last one: how long the calling thread waited for
  // a core, and idle cores lately. Used by the thread owning the workers,
  // under call_mutex_.
  ParallelPolicy policy_;
  int window_calls_ = 0;
  int64_t window_busy_ns_ = 0, window_tasks_ = 0, last_call_end_ns_ = 0;
  double crowding_ = 0, idle_cores_ = 0;
  int64_t sched_tid_ = -1, sched_run_ns_ = 0, sched_wait_ns_ = 0;
  int64_t idle_ticks_ = -1, idle_since_ns_ = 0;
};

}  // namespace smallmind::core

#endif  // SMALLMIND_CORE_THREAD_POOL_H_
