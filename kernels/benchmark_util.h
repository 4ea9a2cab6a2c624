// Shared pieces of the kernel benchmarks.
#ifndef SMALLMIND_KERNELS_BENCHMARK_UTIL_H_
#define SMALLMIND_KERNELS_BENCHMARK_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "benchmark/benchmark.h"

namespace smallmind::kernels {

inline std::vector<float> BenchFloats(size_t n, uint32_t seed = 1) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// Sets the items/s and bytes/s rate counters for `elements` and `bytes`
// processed per iteration.
inline void SetRates(benchmark::State& state, double elements, double bytes) {
  state.counters["elements/s"] = benchmark::Counter(
      elements * state.iterations(), benchmark::Counter::kIsRate);
  state.counters["bytes/s"] = benchmark::Counter(
      bytes * state.iterations(), benchmark::Counter::kIsRate,
      benchmark::Counter::kIs1024);
}

// memcpy of `n` floats: the bandwidth reference each family's binary shows
// beside its kernels (bytes read + written, like the kernels count them).
inline void BM_Memcpy(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  std::vector<float> src = BenchFloats(n), dst(n);
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), n * sizeof(float));
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  SetRates(state, double(n), 2.0 * n * sizeof(float));
}

}  // namespace smallmind::kernels

#endif  // SMALLMIND_KERNELS_BENCHMARK_UTIL_H_
