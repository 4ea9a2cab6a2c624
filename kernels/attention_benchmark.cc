// One head's decode-step attention over a cache. Run:
//   bazel run --config=opt //kernels:attention_benchmark
#include <cmath>
#include <vector>

#include "benchmark/benchmark.h"
#include "kernels/attention.h"
#include "kernels/benchmark_util.h"

namespace smallmind::kernels {
namespace {

void BM_AttendHead(benchmark::State& state) {
  const size_t positions = state.range(0), head_dim = state.range(1);
  const size_t stride = head_dim * 6;
  const std::vector<float> q = BenchFloats(head_dim, 1), k = BenchFloats(positions * stride, 2),
                           v = BenchFloats(positions * stride, 3);
  std::vector<float> scores(positions), out(head_dim);
  for (auto _ : state) {
    AttendHead(q.data(), k.data(), v.data(), stride, positions, head_dim,
               1.0f / std::sqrt(float(head_dim)), scores.data(), out.data());
    benchmark::DoNotOptimize(out.data());
  }
  SetRates(state, double(positions * head_dim), 2.0 * positions * head_dim * sizeof(float));
}
BENCHMARK(BM_AttendHead)->Args({64, 32})->Args({128, 48})->Args({256, 48})->Args({1024, 64});

}  // namespace
}  // namespace smallmind::kernels
