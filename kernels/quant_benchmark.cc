// Quantization and block dot products, with the F32 dot at the same element
// count as the reference. The large size puts ≥ 64 MB of Q4_0 weights out
// of cache. Run: bazel run --config=opt //kernels:quant_benchmark
#include <vector>

#include "benchmark/benchmark.h"
#include "core/dtype.h"
#include "kernels/benchmark_util.h"
#include "kernels/quant.h"
#include "kernels/reductions.h"

namespace smallmind::kernels {
namespace {

using core::BlockQ4_0;
using core::BlockQ8_0;

// 4096 (one row of a 7B model) and 128M elements (72 MB of Q4_0 weights,
// 512 MB as F32).
constexpr int64_t kRow = 4096, kHuge = int64_t{128} << 20;

void BM_Quantize(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<float> x = BenchFloats(n);
  std::vector<BlockQ8_0> q(n / 32);
  for (auto _ : state) {
    QuantizeQ8_0(x.data(), q.data(), n);
    benchmark::DoNotOptimize(q.data());
  }
  SetRates(state, double(n), n * (4.0 + 34.0 / 32));
}
BENCHMARK(BM_Quantize)->Arg(kRow)->Arg(1 << 20);

void BM_DotF32(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<float> w = BenchFloats(n, 1), x = BenchFloats(n, 2);
  for (auto _ : state) benchmark::DoNotOptimize(Dot(w.data(), x.data(), n));
  SetRates(state, double(n), 8.0 * n);
}
BENCHMARK(BM_DotF32)->Arg(kRow)->Arg(kHuge);

void BM_DotQ8_0(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  std::vector<BlockQ8_0> w(n / 32), x(n / 32);
  {
    const std::vector<float> f = BenchFloats(n, 1);
    QuantizeQ8_0(f.data(), w.data(), n);
    QuantizeQ8_0(f.data(), x.data(), n);
  }
  for (auto _ : state) benchmark::DoNotOptimize(DotQ8_0(w.data(), x.data(), n));
  SetRates(state, double(n), n * 2 * 34.0 / 32);
}
BENCHMARK(BM_DotQ8_0)->Arg(kRow)->Arg(kHuge);

void BM_DotQ4_0(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  std::vector<BlockQ4_0> w(n / 32);
  std::vector<BlockQ8_0> x(n / 32);
  {
    const std::vector<float> f = BenchFloats(n, 1);
    QuantizeQ4_0(f.data(), w.data(), n);
    QuantizeQ8_0(f.data(), x.data(), n);
  }
  for (auto _ : state) benchmark::DoNotOptimize(DotQ4_0Q8_0(w.data(), x.data(), n));
  SetRates(state, double(n), n * (18.0 + 34.0) / 32);
}
BENCHMARK(BM_DotQ4_0)->Arg(kRow)->Arg(kHuge);

BENCHMARK(BM_Memcpy)->Arg(kRow)->Arg(1 << 20);

}  // namespace
}  // namespace smallmind::kernels
