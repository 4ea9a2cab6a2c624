// The rules by which a ThreadPool runs calls on its workers or on the
// calling thread alone, fed one window of calls at a time. The pool
// measures (busy time, tasks per call, the scheduler's counters); this
// decides, and can be tested with windows made up.
//
// A worker preempted while it holds a task stalls its call for a time slice
// (~1-3 ms, against tens of microseconds for a decode step's matmul), and
// when the machine is shared (other processes, a CPU quota) two threads
// split one share and spin part of it away. So:
// - A window on the workers in which the caller waited for a core for a
//   fifth of the time it could run sends every workload to the caller alone
//   at once: the machine is crowded. The workers come back once idle cores
//   add up to most of them, or after kTrialMost windows.
// - Otherwise each workload (calls told apart by their tasks per call:
//   prefill's and decode's) keeps its own way and costs: now and then a
//   trial of the other way, two windows to settle first (the scheduler
//   weighs a process by its use of cores over tens of milliseconds), then
//   up to two measured, cut short when clearly lost. The workers are kept
//   only when 10% cheaper; trials grow rarer while one way keeps winning
//   clearly, and come early when the way kept costs half as much again, or
//   a third less, than when chosen (the machine changed). A CPU quota,
//   which the scheduler's wait counters do not show, is found this way.
// - Long calls (milliseconds each: a long prompt's prefill) on the workers
//   are not tried alone: there a trial's windows would take seconds at
//   half speed, and a stalled worker costs little beside a call.
#ifndef SMALLMIND_CORE_PARALLEL_POLICY_H_
#define SMALLMIND_CORE_PARALLEL_POLICY_H_

#include <cstdint>

namespace smallmind::core {

class ParallelPolicy {
 public:
  struct Window {
    double signature = 0;     // log2 of the tasks per call
    double cost = 0;          // busy nanoseconds per call
    double crowding = 0;      // share of its runnable time the caller waited
                              // for a core (0: unknown)
    double idle_workers = 0;  // idle cores per worker lately (0: unknown)
  };

  // Windows between trials of the other way, at most.
  static constexpr int kTrialMost = 512;

  // Whether the next window's calls run on the caller alone.
  bool solo() const { return solo_; }
  // Whether the machine counts as crowded (every workload alone).
  bool crowded() const { return crowded_; }
  // Records a window of calls run as solo() said, and chooses the next way.
  void Add(const Window& window);

 private:
  // What is known of one workload: its cost per call each way (0: not
  // measured yet), the way it runs and what that cost when chosen, and
  // windows until the other way is tried again.
  struct Workload {
    double signature = 0;
    uint64_t last_used = 0;  // 0: a free entry
    bool solo = false;
    double parallel_cost = 0, solo_cost = 0, chosen_cost = 0;
    int windows_to_trial = 0;
    int trial_interval = 0;
  };
  // Windows of one workload run the way it does not keep.
  struct Trial {
    Workload* workload = nullptr;  // none: no trial
    double kept = 0;               // the cost of the way kept, before
    double cost_sum = 0;           // of the tried windows
    int windows = 0;
  };

  Workload& WorkloadOf(double signature);
  void Settle(bool solo);

  bool solo_ = false;
  int settling_ = 0;  // windows left not to count
  bool crowded_ = false;
  int crowded_windows_ = 0;  // left before the workers are tried anyway
  Workload workloads_[8];
  Trial trial_;
  uint64_t windows_ = 0;
};

}  // namespace smallmind::core

#endif  // SMALLMIND_CORE_PARALLEL_POLICY_H_
