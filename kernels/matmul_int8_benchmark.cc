// The int8 dot instruction's peak on this CPU, and activation quantization.
// BM_Int8Peak runs 24 independent chains of the best dot each target
// has (kernels/matmul_int8-inl.h's DotOps) on registers: the multiply-adds
// per second no kernel can exceed, the denominator of the README's "share
// of peak". Matmuls themselves are measured with the backends' threads by
// //backends:matmul_benchmark.
// Run: bazel run --config=opt //kernels:matmul_int8_benchmark

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/matmul_int8_benchmark.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "kernels/matmul_int8-inl.h"

HWY_BEFORE_NAMESPACE();
namespace smallmind::kernels::HWY_NAMESPACE {

template <class Ops>
int64_t PeakChains(size_t iterations) {
  const Int8DI di;
  constexpr size_t kChains = 24;
  Int8VI acc[kChains];
#pragma GCC unroll 32
  for (size_t c = 0; c < kChains; ++c) acc[c] = hn::Set(di, int32_t(c));
  const Int8VI w = hn::Set(di, 0x01020304), x = hn::Set(di, 0x01FF0102);
  for (size_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 32
    for (size_t c = 0; c < kChains; ++c) acc[c] = Ops::U8(acc[c], w, x);
  }
  int64_t sum = 0;
  for (size_t c = 0; c < kChains; ++c) sum += hn::GetLane(acc[c]);
  return sum;
}

// Runs `iterations` rounds of 24 dots; returns a checksum and, in
// `macs_per_round`, the multiply-adds a round does.
int64_t Int8PeakImpl(size_t iterations, size_t* macs_per_round) {
  *macs_per_round = 24 * 4 * hn::Lanes(Int8DI());
#if HWY_TARGET == HWY_AVX2
  return PeakChains<DotOpsAvx2<true>>(iterations);
#else
  return PeakChains<DotOps>(iterations);
#endif
}

}  // namespace smallmind::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <vector>

#include "benchmark/benchmark.h"
#include "kernels/benchmark_util.h"
#include "kernels/matmul_int8.h"

namespace smallmind::kernels {
namespace {

HWY_EXPORT(Int8PeakImpl);

// On the AVX2 target this is AVX-VNNI's vpdpbusd: run it on CPUs with it.
void BM_Int8Peak(benchmark::State& state) {
  size_t macs = 0;
  constexpr size_t kIterations = 1 << 16;
  for (auto _ : state) {
    benchmark::DoNotOptimize(HWY_DYNAMIC_DISPATCH(Int8PeakImpl)(kIterations, &macs));
  }
  state.counters["multiply-adds/s"] = benchmark::Counter(
      double(macs) * kIterations * state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Int8Peak);

void BM_QuantizeActivations(benchmark::State& state) {
  const size_t rows = static_cast<size_t>(state.range(0));
  const size_t cols = static_cast<size_t>(state.range(1));
  const std::vector<float> x = BenchFloats(rows * cols);
  std::vector<uint8_t> storage(Int8ActivationBytes(rows, cols) + 64);
  void* aligned = storage.data() + (64 - reinterpret_cast<uintptr_t>(storage.data()) % 64) % 64;
  const Int8Activations a = Int8ActivationsAt(aligned, rows, cols);
  for (auto _ : state) {
    QuantizeActivations(x.data(), cols, 0, rows, a);
    benchmark::DoNotOptimize(a.q);
  }
  SetRates(state, double(rows * cols), rows * cols * (4.0 + 1.0 + 8.0 / 32));
}
BENCHMARK(BM_QuantizeActivations)->Args({1, 768})->Args({64, 768})->Args({1, 3072});

}  // namespace
}  // namespace smallmind::kernels
#endif  // HWY_ONCE
