// What instrumentation costs: a loop of trivial work with no scope, with a
// scope and no profiler installed (how `generate` runs), and with one
// installed (how `profile` runs). Built with --config=noprofile the scope
// compiles to nothing and the first two are the same code.
#include "benchmark/benchmark.h"
#include "core/profiler.h"

namespace smallmind::core {
namespace {

void BM_NoScope(benchmark::State& state) {
  float x = 1.0f;
  for (auto _ : state) {
    x = x * 1.0000001f + 1e-7f;
    benchmark::DoNotOptimize(x);
  }
}
BENCHMARK(BM_NoScope);

void BM_ScopeProfilerOff(benchmark::State& state) {
  float x = 1.0f;
  for (auto _ : state) {
    SM_PROFILE_SCOPE(ProfileOp::kNorm, 0, 0, 0);
    x = x * 1.0000001f + 1e-7f;
    benchmark::DoNotOptimize(x);
  }
}
BENCHMARK(BM_ScopeProfilerOff);

void BM_ScopeProfilerOn(benchmark::State& state) {
  Profiler profiler(1 << 16);
  ScopedProfiler install(&profiler);
  float x = 1.0f;
  for (auto _ : state) {
    SM_PROFILE_SCOPE(ProfileOp::kNorm, 0, 0, 0);
    x = x * 1.0000001f + 1e-7f;
    benchmark::DoNotOptimize(x);
    if (profiler.dropped() > 0) profiler.Clear();
  }
}
BENCHMARK(BM_ScopeProfilerOn);

}  // namespace
}  // namespace smallmind::core
