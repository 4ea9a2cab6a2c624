// Matmul across every registered backend, 1 and 2 threads.
//   BM_MatMul/<backend>/<N>/t<threads>: square GEMM, GFLOPS counter.
//   BM_MatVec/<backend>/<dtype>/<rows>x<cols>/t<threads>: decode GEMV, with
//     GB/s of weights read.
// Run: bazel run --config=opt //backends:matmul_benchmark
//      (add --benchmark_filter=MatVec/tiled to narrow it).
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "backends/registry.h"
#include "benchmark/benchmark.h"
#include "core/arena.h"
#include "core/dtype.h"
#include "core/tensor.h"
#include "core/thread_pool.h"
#include "kernels/quant.h"

namespace smallmind::backends {
namespace {

using core::DType;

std::vector<float> Uniform(size_t n) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// W[rows, cols] in `dtype` from uniform floats (F32, Q8_0, Q4_0).
core::Tensor MakeWeights(DType dtype, int64_t rows, int64_t cols) {
  core::Tensor t = *core::Tensor::Zeros(dtype, *core::Shape::Make({rows, cols}));
  const std::vector<float> f = Uniform(size_t(rows * cols));
  for (int64_t r = 0; r < rows; ++r) {
    const float* src = f.data() + r * cols;
    if (dtype == DType::kF32) std::copy(src, src + cols, t.row_as<float>(r));
    if (dtype == DType::kQ8_0) kernels::QuantizeQ8_0(src, t.row_as<core::BlockQ8_0>(r), cols);
    if (dtype == DType::kQ4_0) kernels::QuantizeQ4_0(src, t.row_as<core::BlockQ4_0>(r), cols);
  }
  return t;
}

void RunMatMul(benchmark::State& state, const Backend* backend, DType dtype,
               int64_t m, int64_t n, int64_t k, int threads) {
  const core::Tensor w = MakeWeights(dtype, n, k);
  auto prepared = backend->Prepare(w.view());
  if (!prepared.ok()) {
    state.SkipWithError(prepared.status().ToString().c_str());
    return;
  }
  std::vector<float> x = Uniform(size_t(m * k)), y(size_t(m * n));
  const auto xv = *core::TensorView::Make(x.data(), DType::kF32, *core::Shape::Make({m, k}));
  const auto yv = *core::TensorView::Make(y.data(), DType::kF32, *core::Shape::Make({m, n}));
  core::ThreadPool pool(threads);
  core::Arena scratch = *core::Arena::Create(size_t(m * k) * 2 + 4096);
  for (auto _ : state) {
    const absl::Status s = backend->MatMul(xv, **prepared, nullptr, yv, pool, scratch);
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      return;
    }
    benchmark::DoNotOptimize(y.data());
  }
  const double flops = 2.0 * double(m) * double(n) * double(k);
  state.counters["GFLOPS"] = benchmark::Counter(
      flops * state.iterations() / 1e9, benchmark::Counter::kIsRate);
  state.counters["weightGB/s"] = benchmark::Counter(
      double(w.size_bytes()) * state.iterations() / 1e9,
      benchmark::Counter::kIsRate);
}

void RegisterAll() {
  for (const std::string& name : Registry::List()) {
    for (int threads : {1, 2}) {
      const Backend* f32 = *Registry::Get(name, DType::kF32);
      for (int64_t n : {64, 128, 256, 512, 1024, 2048}) {
        // portable is the reference: time it only where it finishes quickly.
        if (name == "portable" && n > 512) continue;
        benchmark::RegisterBenchmark(
            absl::StrCat("BM_MatMul/", name, "/", n, "/t", threads).c_str(),
            [=](benchmark::State& s) { RunMatMul(s, f32, DType::kF32, n, n, n, threads); })
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
      }
      for (DType dtype : {DType::kF32, DType::kQ8_0, DType::kQ4_0}) {
        auto backend = Registry::Get(name, dtype);
        if (!backend.ok()) continue;
        for (auto [rows, cols] : {std::pair<int64_t, int64_t>{4096, 4096},
                                  {768, 288}, {288, 768}, {32000, 288}}) {
          benchmark::RegisterBenchmark(
              absl::StrCat("BM_MatVec/", name, "/", core::DTypeName(dtype), "/",
                           rows, "x", cols, "/t", threads)
                  .c_str(),
              [=](benchmark::State& s) {
                RunMatMul(s, *backend, dtype, 1, rows, cols, threads);
              })
              ->Unit(benchmark::kMicrosecond)
              ->UseRealTime();
        }
      }
    }
  }
}

}  // namespace
}  // namespace smallmind::backends

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  smallmind::backends::RegisterAll();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
