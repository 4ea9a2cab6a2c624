// Activations; compare bytes/s with BM_TensorAdd (elementwise_benchmark).
// Run: bazel run --config=opt //kernels:activations_benchmark
#include <vector>

#include "benchmark/benchmark.h"
#include "kernels/activations.h"
#include "kernels/benchmark_util.h"

namespace smallmind::kernels {
namespace {

void BM_GELU(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<float> x = BenchFloats(n);
  std::vector<float> y(n);
  for (auto _ : state) {
    GeluTanh(x.data(), y.data(), n);
    benchmark::DoNotOptimize(y.data());
  }
  SetRates(state, double(n), 2.0 * n * sizeof(float));
}
BENCHMARK(BM_GELU)->Arg(1000)->Arg(10000)->Arg(100000)->Arg(1000000);

void BM_GeluErf(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<float> x = BenchFloats(n);
  std::vector<float> y(n);
  for (auto _ : state) {
    GeluErf(x.data(), y.data(), n);
    benchmark::DoNotOptimize(y.data());
  }
  SetRates(state, double(n), 2.0 * n * sizeof(float));
}
BENCHMARK(BM_GeluErf)->Arg(1000000);

void BM_SwiGLU(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<float> gate = BenchFloats(n, 1), up = BenchFloats(n, 2);
  std::vector<float> out(n);
  for (auto _ : state) {
    SwiGlu(gate.data(), up.data(), out.data(), n);
    benchmark::DoNotOptimize(out.data());
  }
  SetRates(state, double(n), 3.0 * n * sizeof(float));
}
BENCHMARK(BM_SwiGLU)->Arg(1000000);

void BM_GeGLU(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<float> gate = BenchFloats(n, 1), up = BenchFloats(n, 2);
  std::vector<float> out(n);
  for (auto _ : state) {
    GeGlu(gate.data(), up.data(), out.data(), n);
    benchmark::DoNotOptimize(out.data());
  }
  SetRates(state, double(n), 3.0 * n * sizeof(float));
}
BENCHMARK(BM_GeGLU)->Arg(1000000);

BENCHMARK(BM_Memcpy)->Arg(1000)->Arg(10000)->Arg(100000)->Arg(1000000);

}  // namespace
}  // namespace smallmind::kernels
