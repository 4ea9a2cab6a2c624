// The instruction-count gate's workloads (scripts/perf_gate.sh): the seed's
// microbenchmarks and end-to-end decode, each run once with callgrind's
// collection switched on around the measured part only, so setup (reading
// the model, preparing weights) is not counted.
//
//   gate_workloads --list
//   gate_workloads --workload NAME [--models DIR] [--slow WORKLOAD]
//
// Counts must not depend on the machine: the SIMD target is pinned to AVX2
// without AVX-VNNI (what valgrind itself runs, and every machine here
// has), and everything runs on one thread (spinning workers make counts
// wander). `--slow` selects a deliberately slower variant of one
// microbenchmark, for the test that the gate catches regressions.
#include <valgrind/callgrind.h>

#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "backends/registry.h"
#include "core/arena.h"
#include "core/tensor.h"
#include "core/thread_pool.h"
#include "hwy/targets.h"
#include "kernels/activations.h"
#include "kernels/convert.h"
#include "kernels/elementwise.h"
#include "kernels/matmul_int8.h"
#include "kernels/norm.h"
#include "kernels/softmax.h"
#include "runtime/loaded_model.h"
#include "runtime/session.h"

namespace smallmind::perf {
namespace {

struct Context {
  std::string models;  // directory of <preset>-<dtype>.smm
  bool slow = false;   // run this workload's slow variant
};

std::vector<float> Values(size_t n, uint32_t seed) {
  std::vector<float> v(n);
  uint32_t state = seed * 2654435761u + 1;
  for (float& x : v) {
    state = state * 1664525u + 1013904223u;
    x = static_cast<float>(state >> 8) / 16777216.0f * 4.0f - 2.0f;
  }
  return v;
}

// Runs `body` `repetitions` times with collection on.
void Measure(int repetitions, const std::function<void()>& body) {
  CALLGRIND_TOGGLE_COLLECT;
  for (int i = 0; i < repetitions; ++i) body();
  CALLGRIND_TOGGLE_COLLECT;
}

int TensorAdd(const Context& c) {
  const size_t n = 10000;
  const std::vector<float> a = Values(n, 1), b = Values(n, 2);
  std::vector<float> out(n);
  Measure(100, [&] {
    if (c.slow) {
      // The slower variant: a scalar loop the compiler may not vectorise.
      for (size_t i = 0; i < n; ++i) {
        volatile float sum = a[i] + b[i];
        out[i] = sum;
      }
    } else {
      kernels::Add(a.data(), b.data(), out.data(), n);
    }
  });
  return 0;
}

int BroadcastAdd(const Context&) {
  std::vector<float> rows = Values(10000, 3);
  const std::vector<float> bias = Values(1000, 4);
  Measure(100, [&] { kernels::BiasAdd(bias.data(), rows.data(), 10, 1000, 1000); });
  return 0;
}

int Gelu(size_t n) {
  const std::vector<float> x = Values(n, 5);
  std::vector<float> y(n);
  Measure(10, [&] { kernels::GeluTanh(x.data(), y.data(), n); });
  return 0;
}

int Softmax(size_t n) {
  const std::vector<float> x = Values(n, 6);
  std::vector<float> y(n);
  Measure(100, [&] {
    y = x;
    kernels::Softmax(y.data(), n);
  });
  return 0;
}

int RmsNorm(size_t n) {
  const std::vector<float> x = Values(n, 7), w = Values(n, 8);
  std::vector<float> y(n);
  Measure(100, [&] { kernels::RmsNorm(x.data(), w.data(), 1e-5f, y.data(), n); });
  return 0;
}

// Y[m, n] = X[m, k] · W[n, k]ᵀ through the tiled backend, as inference runs
// it (weights prepared once, outside the count).
int MatMul(core::DType dtype, int64_t m, int64_t n, int64_t k) {
  const backends::Backend* backend = *backends::Registry::Get("tiled", dtype);
  core::Tensor w = *core::Tensor::Zeros(dtype, *core::Shape::Make({n, k}));
  const std::vector<float> values = Values(n * k, 9);
  for (int64_t r = 0; r < n; ++r) {
    kernels::EncodeRow(dtype, values.data() + r * k, w.view().row(r), k);
  }
  auto prepared = backend->Prepare(w.view());
  if (!prepared.ok()) return 1;
  std::vector<float> x = Values(m * k, 10), y(m * n);
  const auto xv = *core::TensorView::Make(x.data(), core::DType::kF32, *core::Shape::Make({m, k}));
  const auto yv = *core::TensorView::Make(y.data(), core::DType::kF32, *core::Shape::Make({m, n}));
  core::ThreadPool pool(1);
  core::Arena scratch = *core::Arena::Create(backend->ScratchBytes(m, **prepared));
  bool ok = true;
  Measure(1, [&] { ok = backend->MatMul(xv, **prepared, nullptr, yv, pool, scratch).ok(); });
  return ok ? 0 : 1;
}

// 32 tokens of greedy decode after a 4-token prompt, on one thread.
int Decode(const Context& c, const std::string& model) {
  const std::string path = c.models + "/" + model + ".smm";
  absl::StatusOr<runtime::LoadedModel> loaded = runtime::LoadedModel::Load(path, {"tiled"});
  if (!loaded.ok()) {
    std::fprintf(stderr, "%s\n", std::string(loaded.status().message()).c_str());
    return 1;
  }
  auto session = runtime::Session::Create(*loaded->transformer, *loaded->tokenizer, {});
  if (!session.ok()) return 1;
  runtime::GenerateOptions options;
  options.max_tokens = 32;
  options.sampler.temperature = 0;
  bool ok = true;
  Measure(1, [&] {
    ok = (*session)->Generate("abcd", options, [](absl::string_view) { return true; }).ok();
  });
  return ok ? 0 : 1;
}

std::map<std::string, std::function<int(const Context&)>> Workloads() {
  std::map<std::string, std::function<int(const Context&)>> w = {
      {"TensorAdd_10000", TensorAdd},
      {"BroadcastAdd_10000", BroadcastAdd},
      {"GELU_1000", [](const Context&) { return Gelu(1000); }},
      {"GELU_100000", [](const Context&) { return Gelu(100000); }},
      {"Softmax_256", [](const Context&) { return Softmax(256); }},
      {"Softmax_2048", [](const Context&) { return Softmax(2048); }},
      {"RMSNorm_4096", [](const Context&) { return RmsNorm(4096); }},
      {"GEMV_Q8_0_4096x4096", [](const Context&) { return MatMul(core::DType::kQ8_0, 1, 4096, 4096); }},
      {"GEMV_Q4_0_4096x4096", [](const Context&) { return MatMul(core::DType::kQ4_0, 1, 4096, 4096); }},
      {"GEMV_Q4_K_4096x4096", [](const Context&) { return MatMul(core::DType::kQ4_K, 1, 4096, 4096); }},
      {"GEMV_Q6_K_4096x4096", [](const Context&) { return MatMul(core::DType::kQ6_K, 1, 4096, 4096); }},
      {"GEMM_Q8_0_64x768x768", [](const Context&) { return MatMul(core::DType::kQ8_0, 64, 768, 768); }},
      {"GEMM_Q4_K_64x768x768", [](const Context&) { return MatMul(core::DType::kQ4_K, 64, 768, 768); }},
  };
  for (int n : {64, 128, 256, 512}) {
    w["MatMul_" + std::to_string(n)] = [n](const Context&) {
      return MatMul(core::DType::kF32, n, n, n);
    };
  }
  for (const char* preset : {"small", "medium", "stories15m"}) {
    for (const char* dtype : {"f32", "q8_0", "q4_0"}) {
      const std::string model = std::string(preset) + "-" + dtype;
      w["Decode32_" + model] = [model](const Context& c) { return Decode(c, model); };
    }
  }
  return w;
}

int Main(int argc, char** argv) {
  Context c;
  std::string workload, slow;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--list") {
      for (const auto& [name, fn] : Workloads()) std::printf("%s\n", name.c_str());
      return 0;
    }
    if (i + 1 >= argc) break;
    if (arg == "--workload") workload = argv[++i];
    else if (arg == "--models") c.models = argv[++i];
    else if (arg == "--slow") slow = argv[++i];
  }
  const auto workloads = Workloads();
  auto it = workloads.find(workload);
  if (it == workloads.end()) {
    std::fprintf(stderr, "gate_workloads: unknown workload '%s'; see --list\n",
                 workload.c_str());
    return 1;
  }
  c.slow = slow == workload;
  hwy::SetSupportedTargetsForTest(HWY_AVX2);
  kernels::SetAvxVnniAllowed(false);
  return it->second(c);
}

}  // namespace
}  // namespace smallmind::perf

int main(int argc, char** argv) { return smallmind::perf::Main(argc, argv); }
