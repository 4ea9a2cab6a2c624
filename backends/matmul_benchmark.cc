// Matmul across every registered backend, 1 and 2 threads.
//   BM_MatMul/<backend>/<N>/t<threads>: square F32 GEMM.
//   BM_Model/<backend>/<dtype>/<model>.<matrix>/m<M>/t<threads>: the weight
//     matrices of stories15m and GPT-2 124M at decode (M = 1) and prefill
//     (M = 64), every dtype the backend takes.
// Counters: GFLOPS, multiply-adds/s and weightGB/s (weight bytes read per
// second, as the file stores them).
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
#include "kernels/convert.h"

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

// W[rows, cols] in `dtype` from uniform floats.
core::Tensor MakeWeights(DType dtype, int64_t rows, int64_t cols) {
  core::Tensor t = *core::Tensor::Zeros(dtype, *core::Shape::Make({rows, cols}));
  const std::vector<float> f = Uniform(size_t(rows * cols));
  for (int64_t r = 0; r < rows; ++r) {
    kernels::EncodeRow(dtype, f.data() + r * cols, t.view().row(r), size_t(cols));
  }
  return t;
}

// The matrices of a forward pass, [rows, cols] = [N, K].
struct ModelMatrix {
  const char* name;
  int64_t rows, cols;
};
constexpr ModelMatrix kModelMatrices[] = {
    {"stories15m.qkv", 864, 288},      {"stories15m.attn_out", 288, 288},
    {"stories15m.gate_up", 1536, 288}, {"stories15m.down", 288, 768},
    {"stories15m.lm_head", 32000, 288}, {"gpt2.qkv", 2304, 768},
    {"gpt2.attn_out", 768, 768},       {"gpt2.up", 3072, 768},
    {"gpt2.down", 768, 3072},          {"gpt2.lm_head", 50257, 768},
};

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
  core::Arena scratch = *core::Arena::Create(backend->ScratchBytes(m, **prepared));
  for (auto _ : state) {
    const absl::Status s = backend->MatMul(xv, **prepared, nullptr, yv, pool, scratch);
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      return;
    }
    benchmark::DoNotOptimize(y.data());
  }
  const double macs = double(m) * double(n) * double(k);
  state.counters["GFLOPS"] = benchmark::Counter(
      2 * macs * state.iterations() / 1e9, benchmark::Counter::kIsRate);
  state.counters["multiply-adds/s"] = benchmark::Counter(
      macs * state.iterations(), benchmark::Counter::kIsRate);
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
      if (name == "portable") continue;
      for (const core::DTypeTraits& t : core::AllDTypes()) {
        const DType dtype = t.dtype;
        if (!f32->Supports(dtype)) continue;
        for (const ModelMatrix& mm : kModelMatrices) {
          // K-quant super-blocks do not divide stories15m's rows of 288.
          if (mm.cols % t.block_elements != 0) continue;
          for (int64_t m : {1, 64}) {
            benchmark::RegisterBenchmark(
                absl::StrCat("BM_Model/", name, "/", t.name, "/", mm.name, "/m", m,
                             "/t", threads)
                    .c_str(),
                [=](benchmark::State& s) {
                  RunMatMul(s, f32, dtype, m, mm.rows, mm.cols, threads);
                })
                ->Unit(benchmark::kMicrosecond)
                ->UseRealTime();
          }
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
