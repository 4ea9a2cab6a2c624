#include "core/parallel_policy.h"

#include <algorithm>
#include <cmath>

namespace smallmind::core {
namespace {

// Windows a change of way settles before windows count.
constexpr int kSettleWindows = 2;
// A trial measures up to kTrialWindows, ending after one that costs
// kTrialRout times the way kept.
constexpr int kTrialWindows = 2;
constexpr double kTrialRout = 1.5;
// The workers must be this much cheaper to be used: they cost the machine
// a second core, and a tie on a busy machine is better left to others.
constexpr double kWorkersMargin = 1.1;
// Windows between trials: kTrialSoon after a close verdict or a change of
// way, twice as many after each clear win (by kClearWin) of the same way,
// up to kTrialMost (a trial of the workers on a busy machine slows the
// caller alone for a while after it). A trial also comes when the way kept
// costs kDrift times more or less than when chosen.
constexpr int kTrialSoon = 16;
constexpr double kClearWin = 1.15;
constexpr double kDrift = 1.5;
// A window on the workers whose caller waited kCrowded of its runnable time
// makes the machine crowded, until idle cores reach kFreeCores per worker.
constexpr double kCrowded = 0.2;
constexpr double kFreeCores = 0.75;
// A window within kSameWorkload (log2 of tasks per call) of a known
// workload is of it.
constexpr double kSameWorkload = 0.75;
// Calls of this many nanoseconds or more (a long prompt's prefill) are not
// tried alone while the workers run them: a preempted worker's stall, a
// time slice, is small beside them, a crowded machine shows in the
// scheduler's counters at once, and a trial would run whole windows of them
// (seconds, for a 4k-token prompt) at half speed.
constexpr double kLongCallNs = 2e6;

}  // namespace

ParallelPolicy::Workload& ParallelPolicy::WorkloadOf(double signature) {
  Workload* oldest = &workloads_[0];
  for (Workload& w : workloads_) {
    if (w.last_used > 0 && std::abs(w.signature - signature) < kSameWorkload) return w;
    if (w.last_used < oldest->last_used) oldest = &w;
  }
  // A new workload runs the way the pool runs now, and is timed the other
  // way after a while: a short job is not worth a trial.
  *oldest = Workload{};
  oldest->signature = signature;
  oldest->solo = solo_;
  oldest->windows_to_trial = kTrialSoon;
  return *oldest;
}

void ParallelPolicy::Settle(bool solo) {
  if (solo == solo_) return;
  solo_ = solo;
  settling_ = kSettleWindows;
}

void ParallelPolicy::Add(const Window& window) {
  Workload& w = WorkloadOf(window.signature);
  w.last_used = ++windows_;
  if (trial_.workload != &w) trial_.workload = nullptr;  // the calls changed: no verdict
  if (crowded_) {
    if (window.idle_workers < kFreeCores && --crowded_windows_ > 0) return;
    crowded_ = false;
    settling_ = 0;  // long settled; the workload's own way follows
  } else if (!solo_ && window.crowding > kCrowded) {
    crowded_ = true;
    crowded_windows_ = kTrialMost;
    trial_.workload = nullptr;
    Settle(true);
    return;
  }
  // A workload back while the pool ran another's way takes its own at once.
  if (trial_.workload == nullptr && solo_ != w.solo) {
    Settle(w.solo);
    return;
  }
  if (settling_ > 0) {
    --settling_;
    return;
  }
  if (trial_.workload == &w) {
    Trial& t = trial_;
    t.cost_sum += window.cost;
    ++t.windows;
    const double tried = t.cost_sum / t.windows;
    if (t.windows < kTrialWindows && tried < kTrialRout * t.kept) return;
    (w.solo ? w.solo_cost : w.parallel_cost) = t.kept;
    (w.solo ? w.parallel_cost : w.solo_cost) = tried;
    const bool solo = !(w.parallel_cost * kWorkersMargin < w.solo_cost);
    const bool clear = std::max(tried, t.kept) / std::min(tried, t.kept) > kClearWin;
    w.trial_interval =
        solo == w.solo && clear ? std::clamp(2 * w.trial_interval, kTrialSoon, kTrialMost)
                                : kTrialSoon;
    w.windows_to_trial = w.trial_interval;
    w.chosen_cost = solo ? w.solo_cost : w.parallel_cost;
    w.solo = solo;
    t.workload = nullptr;
  } else {
    double& ran = solo_ ? w.solo_cost : w.parallel_cost;
    ran = ran == 0 ? window.cost : (3 * ran + window.cost) / 4;
    const bool drifted = w.chosen_cost > 0 && (ran > kDrift * w.chosen_cost ||
                                               ran * kDrift < w.chosen_cost);
    const bool long_on_workers = !w.solo && window.cost >= kLongCallNs;
    if (solo_ == w.solo && !long_on_workers && (--w.windows_to_trial <= 0 || drifted)) {
      trial_ = Trial{&w, ran, 0, 0};
      Settle(!solo_);
      return;
    }
  }
  Settle(w.solo);
}

}  // namespace smallmind::core
