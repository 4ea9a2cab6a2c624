// Norms. Run: bazel run --config=opt //kernels:norm_benchmark
#include <vector>

#include "benchmark/benchmark.h"
#include "kernels/benchmark_util.h"
#include "kernels/norm.h"

namespace smallmind::kernels {
namespace {

void BM_LayerNorm(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<float> x = BenchFloats(n, 1), w = BenchFloats(n, 2),
                           b = BenchFloats(n, 3);
  std::vector<float> y(n);
  for (auto _ : state) {
    LayerNorm(x.data(), w.data(), b.data(), 1e-5f, y.data(), n);
    benchmark::DoNotOptimize(y.data());
  }
  SetRates(state, double(n), 2.0 * n * sizeof(float));
}
BENCHMARK(BM_LayerNorm)->Arg(768)->Arg(4096)->Arg(1000000);

void BM_RMSNorm(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<float> x = BenchFloats(n, 1), w = BenchFloats(n, 2);
  std::vector<float> y(n);
  for (auto _ : state) {
    RmsNorm(x.data(), w.data(), 1e-5f, y.data(), n);
    benchmark::DoNotOptimize(y.data());
  }
  SetRates(state, double(n), 2.0 * n * sizeof(float));
}
BENCHMARK(BM_RMSNorm)->Arg(768)->Arg(4096)->Arg(1000000);

BENCHMARK(BM_Memcpy)->Arg(768)->Arg(4096)->Arg(1000000);

}  // namespace
}  // namespace smallmind::kernels
