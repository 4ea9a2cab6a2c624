// Every dtype's row codec over 10,000 and 1M elements (bytes/s counts the
// F32 side plus the encoded side). Run: bazel run --config=opt //kernels:convert_benchmark
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "core/dtype.h"
#include "kernels/benchmark_util.h"
#include "kernels/convert.h"

namespace smallmind::kernels {
namespace {

void BM_Encode(benchmark::State& state, core::DType dtype) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<float> x = BenchFloats(n);
  std::vector<uint8_t> out(*core::BytesFor(dtype, n));
  for (auto _ : state) {
    EncodeRow(dtype, x.data(), out.data(), n);
    benchmark::DoNotOptimize(out.data());
  }
  SetRates(state, double(n), 4.0 * n + out.size());
}

void BM_Decode(benchmark::State& state, core::DType dtype) {
  const size_t n = static_cast<size_t>(state.range(0));
  std::vector<uint8_t> encoded(*core::BytesFor(dtype, n));
  EncodeRow(dtype, BenchFloats(n).data(), encoded.data(), n);
  std::vector<float> y(n);
  for (auto _ : state) {
    DecodeRow(dtype, encoded.data(), y.data(), n);
    benchmark::DoNotOptimize(y.data());
  }
  SetRates(state, double(n), 4.0 * n + encoded.size());
}

const int kRegistered = [] {
  for (const core::DTypeTraits& t : core::AllDTypes()) {
    benchmark::RegisterBenchmark((std::string("BM_Encode/") + t.name).c_str(), BM_Encode, t.dtype)
        ->Arg(10016)->Arg(1 << 20);
    benchmark::RegisterBenchmark((std::string("BM_Decode/") + t.name).c_str(), BM_Decode, t.dtype)
        ->Arg(10016)->Arg(1 << 20);
  }
  return 0;
}();

}  // namespace
}  // namespace smallmind::kernels

BENCHMARK(smallmind::kernels::BM_Memcpy)->Arg(10016)->Arg(1 << 20);
