// RoPE over all heads of one position.
// Run: bazel run --config=opt //kernels:rope_benchmark
#include <vector>

#include "benchmark/benchmark.h"
#include "kernels/benchmark_util.h"
#include "kernels/rope.h"

namespace smallmind::kernels {
namespace {

// Args: heads, head_dim (32×128 is Llama-7B's query; 6×48 is stories15m).
template <void (*Kernel)(float*, size_t, size_t, const RopeTable&, size_t)>
void BM_Rope(benchmark::State& state) {
  const size_t heads = static_cast<size_t>(state.range(0));
  const size_t head_dim = static_cast<size_t>(state.range(1));
  auto table = RopeTable::Make(head_dim, 2048, 10000.0);
  std::vector<float> x = BenchFloats(heads * head_dim);
  size_t pos = 0;
  for (auto _ : state) {
    Kernel(x.data(), heads, head_dim, *table, pos);
    pos = (pos + 1) % 2048;
    benchmark::DoNotOptimize(x.data());
  }
  SetRates(state, double(heads * head_dim), 2.0 * heads * head_dim * sizeof(float));
}

void BM_RoPE(benchmark::State& state) { BM_Rope<RopePairwise>(state); }
void BM_RoPERotateHalf(benchmark::State& state) { BM_Rope<RopeRotateHalf>(state); }
BENCHMARK(BM_RoPE)->Args({6, 48})->Args({32, 128});
BENCHMARK(BM_RoPERotateHalf)->Args({6, 48})->Args({32, 128});

BENCHMARK(BM_Memcpy)->Arg(288)->Arg(4096);

}  // namespace
}  // namespace smallmind::kernels
