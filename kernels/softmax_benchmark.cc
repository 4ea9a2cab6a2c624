// Softmax over a row. Run: bazel run --config=opt //kernels:softmax_benchmark
#include <vector>

#include "benchmark/benchmark.h"
#include "kernels/benchmark_util.h"
#include "kernels/softmax.h"

namespace smallmind::kernels {
namespace {

void BM_Softmax(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<float> x = BenchFloats(n);
  std::vector<float> y(n);
  for (auto _ : state) {
    // Copy in, then softmax in place: the cost of the copy is memcpy's.
    std::copy(x.begin(), x.end(), y.begin());
    Softmax(y.data(), n);
    benchmark::DoNotOptimize(y.data());
  }
  SetRates(state, double(n), 2.0 * n * sizeof(float));
}
BENCHMARK(BM_Softmax)->Arg(256)->Arg(1024)->Arg(2048)->Arg(1000000);

BENCHMARK(BM_Memcpy)->Arg(256)->Arg(1024)->Arg(2048)->Arg(1000000);

}  // namespace
}  // namespace smallmind::kernels
