// Elementwise kernels against memcpy of the same number of floats.
// Run: bazel run --config=opt //kernels:elementwise_benchmark
#include <vector>

#include "benchmark/benchmark.h"
#include "kernels/benchmark_util.h"
#include "kernels/elementwise.h"

namespace smallmind::kernels {
namespace {

// 10,000 floats (the seed's size, cache-resident), 1M (the size the other
// families are compared at) and 16M (DRAM-bound).
constexpr int64_t kSmall = 10000, kLarge = 16 << 20;

void BM_TensorAdd(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<float> a = BenchFloats(n, 1), b = BenchFloats(n, 2);
  std::vector<float> out(n);
  for (auto _ : state) {
    Add(a.data(), b.data(), out.data(), n);
    benchmark::DoNotOptimize(out.data());
  }
  // Two reads and one write per element; memcpy moves one read + one write.
  SetRates(state, double(n), 3.0 * n * sizeof(float));
}
BENCHMARK(BM_TensorAdd)->Arg(kSmall)->Arg(1000000)->Arg(kLarge);

// One bias row of 1000 broadcast over n / 1000 rows, in place.
void BM_BroadcastAdd(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  constexpr size_t kCols = 1000;
  std::vector<float> rows = BenchFloats(n, 3);
  const std::vector<float> bias = BenchFloats(kCols, 4);
  for (auto _ : state) {
    BiasAdd(bias.data(), rows.data(), n / kCols, kCols, kCols);
    benchmark::DoNotOptimize(rows.data());
  }
  SetRates(state, double(n), 2.0 * n * sizeof(float));
}
BENCHMARK(BM_BroadcastAdd)->Arg(kSmall)->Arg(kLarge);

void BM_Axpy(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<float> x = BenchFloats(n, 5);
  std::vector<float> y = BenchFloats(n, 6);
  for (auto _ : state) {
    Axpy(1e-3f, x.data(), y.data(), n);
    benchmark::DoNotOptimize(y.data());
  }
  SetRates(state, double(n), 3.0 * n * sizeof(float));
}
BENCHMARK(BM_Axpy)->Arg(kSmall)->Arg(kLarge);

BENCHMARK(BM_Memcpy)->Arg(kSmall)->Arg(kLarge);

}  // namespace
}  // namespace smallmind::kernels
