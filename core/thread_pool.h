// A fixed pool of threads for data-parallel loops.
//
// Created once with N threads in all: N - 1 workers plus the calling thread,
// which takes part in every ParallelFor. A call allocates nothing: the
// callable is passed by reference through a function pointer, and tasks are
// handed out by an atomic counter. Workers spin briefly before sleeping, so
// the back-to-back calls of a decode step do not pay a wake-up each.
//
// Thread-safety: ParallelFor may be called from any thread. Only one call
// uses the workers at a time; a call that finds them busy (another thread's
// call, or a nested call from inside a task) runs its tasks inline on the
// calling thread, so it never deadlocks.
#ifndef SMALLMIND_CORE_THREAD_POOL_H_
#define SMALLMIND_CORE_THREAD_POOL_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

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
  // per-thread scratch.
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
  void PinWorkers();

#if defined(__linux__)
  // The constructing thread's own affinity, restored when it destroys the
  // pool.
  bool pinned_creator_ = false;
  pthread_t creator_{};
  cpu_set_t creator_affinity_{};
#endif
  void RunTasks(int thread);
  void WorkerLoop(int thread);

  std::vector<std::thread> workers_;
  std::mutex call_mutex_;  // held by the call that owns the workers

  // The current job; written before `generation_` is bumped (release) and
  // read by workers after they see the new generation (acquire).
  TaskFn fn_ = nullptr;
  const void* closure_ = nullptr;
  uint64_t num_tasks_ = 0;
  std::atomic<uint64_t> next_task_{0};
  std::atomic<int> busy_workers_{0};

  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> stop_{false};
  std::mutex wake_mutex_;
  std::condition_variable wake_cv_;
};

}  // namespace smallmind::core

#endif  // SMALLMIND_CORE_THREAD_POOL_H_
