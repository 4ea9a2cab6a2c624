#include "core/parallel_policy.h"

#include "gtest/gtest.h"

namespace smallmind::core {
namespace {

// Windows of a workload with `signature`, costing `parallel` per call on
// the workers and `solo` on the caller alone, on a machine that is
// `crowding` and has `idle_workers`, fed as the policy runs them.
struct Machine {
  double signature = 3, parallel = 100, solo = 160, crowding = 0, idle_workers = 0;
};

// Runs `windows` windows; returns how many ran on the caller alone.
int Feed(ParallelPolicy& policy, const Machine& m, int windows) {
  int solo = 0;
  for (int i = 0; i < windows; ++i) {
    solo += policy.solo();
    policy.Add({m.signature, policy.solo() ? m.solo : m.parallel,
                policy.solo() ? 0 : m.crowding, m.idle_workers});
  }
  return solo;
}

TEST(ParallelPolicyTest, KeepsTheWorkersWhileTheyAreClearlyCheaper) {
  ParallelPolicy policy;
  EXPECT_FALSE(policy.solo());
  // Trials alone at intervals doubling from 16 windows, three windows each
  // (two to settle, one measured: it lost by more than half again).
  EXPECT_LE(Feed(policy, {}, 600), 6 * 3);
  EXPECT_FALSE(policy.solo());
}

TEST(ParallelPolicyTest, LongCallsStayOnTheWorkersUnlessTheMachineIsCrowded) {
  ParallelPolicy policy;
  // A 4k-token prefill's calls: 40 ms on the workers, 70 ms alone.
  const Machine prefill{11, 40e6, 70e6};
  EXPECT_EQ(Feed(policy, prefill, 600), 0);
  policy.Add({11, 40e6, 0.5, 0});
  EXPECT_TRUE(policy.crowded());
  EXPECT_TRUE(policy.solo());
}

TEST(ParallelPolicyTest, TakesTheCallerAloneWhenTheWorkersCostMore) {
  ParallelPolicy policy;
  // Under a CPU quota: the workers cost more and schedstat shows nothing.
  Feed(policy, {3, 130, 100}, 40);
  EXPECT_TRUE(policy.solo());
  EXPECT_GE(Feed(policy, {3, 130, 100}, 300), 280);
}

TEST(ParallelPolicyTest, TheWorkersMustWinByATenth) {
  ParallelPolicy policy;
  Feed(policy, {3, 95, 100}, 40);  // 5% cheaper: not enough
  EXPECT_TRUE(policy.solo());
}

TEST(ParallelPolicyTest, ACallerWaitingForItsCoreGoesAloneAtOnceUntilCoresAreIdle) {
  ParallelPolicy policy;
  Machine busy{3, 100, 160, 0.5, 0};
  policy.Add({3, 100, 0.5, 0});
  EXPECT_TRUE(policy.solo());
  EXPECT_TRUE(policy.crowded());
  // Alone however cheap the workers look, while no core is idle.
  EXPECT_EQ(Feed(policy, busy, 400), 400);
  Machine idle{3, 100, 160, 0, 1.0};
  Feed(policy, idle, 1);
  EXPECT_FALSE(policy.crowded());
  EXPECT_FALSE(policy.solo());
}

TEST(ParallelPolicyTest, ACrowdedMachineIsRetriedAfterAWhile) {
  ParallelPolicy policy;
  policy.Add({3, 100, 0.5, 0});
  ASSERT_TRUE(policy.crowded());
  Feed(policy, {3, 100, 160, 0.5, 0}, ParallelPolicy::kTrialMost);
  EXPECT_FALSE(policy.crowded());
  EXPECT_FALSE(policy.solo());  // the workers again, and crowded again
  policy.Add({3, 100, 0.5, 0});
  EXPECT_TRUE(policy.crowded());
}

TEST(ParallelPolicyTest, WorkloadsKeepTheirOwnWays) {
  ParallelPolicy policy;
  const Machine prefill{7, 100, 200}, decode{3, 130, 100};
  EXPECT_LE(Feed(policy, prefill, 40), 6);  // trials only
  EXPECT_GE(Feed(policy, decode, 100), 70);
  // Each comes back to its own way at once.
  for (int turn = 0; turn < 3; ++turn) {
    Feed(policy, prefill, 1);
    EXPECT_FALSE(policy.solo());
    EXPECT_EQ(Feed(policy, prefill, 5), 0);
    Feed(policy, decode, 1);
    EXPECT_TRUE(policy.solo());
    EXPECT_EQ(Feed(policy, decode, 5), 5);
  }
}

TEST(ParallelPolicyTest, AClearlyLosingTrialEndsEarly) {
  ParallelPolicy policy;
  const Machine m{3, 100, 1000};
  int windows_alone = 0;
  for (int i = 0; i < 20; ++i) {  // 16 windows, then the trial
    windows_alone += policy.solo();
    policy.Add({m.signature, policy.solo() ? m.solo : m.parallel, 0, 0});
  }
  EXPECT_EQ(windows_alone, 3);  // two settling, one measured
}

TEST(ParallelPolicyTest, AChangedMachineBringsATrialEarly) {
  ParallelPolicy policy;
  Feed(policy, {3, 130, 100}, 40);  // alone
  ASSERT_TRUE(policy.solo());
  // The machine got quiet: alone now costs a third less, and the workers
  // much less than that; well before the next scheduled trial, the
  // workers are back.
  Feed(policy, {3, 30, 60}, 20);
  EXPECT_FALSE(policy.solo());
}

}  // namespace
}  // namespace smallmind::core
