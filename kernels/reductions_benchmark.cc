// Reductions. Run: bazel run --config=opt //kernels:reductions_benchmark
#include <cstdint>
#include <vector>

#include "benchmark/benchmark.h"
#include "kernels/benchmark_util.h"
#include "kernels/reductions.h"

namespace smallmind::kernels {
namespace {

void BM_Dot(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<float> a = BenchFloats(n, 1), b = BenchFloats(n, 2);
  for (auto _ : state) benchmark::DoNotOptimize(Dot(a.data(), b.data(), n));
  SetRates(state, double(n), 2.0 * n * sizeof(float));
}
BENCHMARK(BM_Dot)->Arg(4096)->Arg(1 << 20)->Arg(16 << 20);

void BM_ArgMax(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<float> x = BenchFloats(n);
  for (auto _ : state) benchmark::DoNotOptimize(ArgMax(x.data(), n));
  SetRates(state, double(n), double(n) * sizeof(float));
}
BENCHMARK(BM_ArgMax)->Arg(32000)->Arg(50257);

// Sampling's top-k over a vocabulary.
void BM_TopK(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const size_t k = static_cast<size_t>(state.range(1));
  const std::vector<float> x = BenchFloats(n);
  std::vector<float> values(k);
  std::vector<int32_t> indices(k);
  for (auto _ : state) {
    benchmark::DoNotOptimize(TopK(x.data(), n, k, values.data(), indices.data()));
  }
  SetRates(state, double(n), double(n) * sizeof(float));
}
BENCHMARK(BM_TopK)->Args({32000, 40})->Args({50257, 40});

BENCHMARK(BM_Memcpy)->Arg(4096)->Arg(1 << 20)->Arg(16 << 20);

}  // namespace
}  // namespace smallmind::kernels
