// Attention over a cache, per stored type: a decode step (AttendRow) and a
// prefill block (AttendBlock). Run:
//   bazel run --config=opt //kernels:attention_benchmark
#include <cmath>
#include <vector>

#include "benchmark/benchmark.h"
#include "core/dtype.h"
#include "kernels/attention.h"
#include "kernels/benchmark_util.h"
#include "kernels/convert.h"

namespace smallmind::kernels {
namespace {

// Args: positions, cache type. One decode step's attention in a model of
// Qwen2.5-0.5B's shape (24 layers, 14 query heads over 2 kv heads of 64):
// every layer's cache its own buffer, 192 MiB in all at 16k positions in
// F16, so the rows come from memory as in the forward pass, not from a
// cache kept hot by the loop. Elements/s counts query-key pairs.
void BM_DecodeStepAttention(benchmark::State& state) {
  const size_t positions = state.range(0), head_dim = 64, heads = 14, kv_heads = 2, layers = 24;
  const auto dtype = static_cast<core::DType>(state.range(1));
  state.SetLabel(std::string(core::DTypeName(dtype)));
  const size_t stride = *core::BytesFor(dtype, head_dim * kv_heads);
  std::vector<std::vector<uint8_t>> k(layers), v(layers);
  const std::vector<float> row = BenchFloats(head_dim * kv_heads, 2);
  for (size_t l = 0; l < layers; ++l) {
    k[l].resize(positions * stride);
    v[l].resize(positions * stride);
    for (size_t p = 0; p < positions; ++p) {
      EncodeRow(dtype, row.data(), k[l].data() + p * stride, head_dim * kv_heads);
      EncodeRow(dtype, row.data(), v[l].data() + p * stride, head_dim * kv_heads);
    }
  }
  const std::vector<float> q = BenchFloats(heads * head_dim, 1);
  std::vector<float> out(heads * head_dim), scratch(AttendRowScratch(heads, kv_heads, head_dim));
  for (auto _ : state) {
    for (size_t l = 0; l < layers; ++l) {
      AttendRow(q.data(), heads, kv_heads, {k[l].data(), dtype, stride}, {v[l].data(), dtype, stride},
                positions, head_dim, 0.125f, scratch.data(), out.data(), head_dim, false);
    }
    benchmark::DoNotOptimize(out.data());
  }
  SetRates(state, double(layers * heads * positions), 2.0 * layers * positions * stride);
}
BENCHMARK(BM_DecodeStepAttention)->ArgsProduct({{512, 4096, 16384}, {
    static_cast<int64_t>(core::DType::kF32), static_cast<int64_t>(core::DType::kF16),
    static_cast<int64_t>(core::DType::kBF16), static_cast<int64_t>(core::DType::kQ8_0),
    static_cast<int64_t>(core::DType::kQ4_0)}})->Unit(benchmark::kMillisecond);

// Args: positions before the block, cache type. A prefill block of 21 rows
// × 3 query heads (SmolLM2's group) of 64, as the forward pass runs it;
// elements/s counts query-key pairs.
void BM_AttendBlock(benchmark::State& state) {
  const size_t depth = state.range(0), head_dim = 64, rows = 21, heads = 3;
  const auto dtype = static_cast<core::DType>(state.range(1));
  state.SetLabel(std::string(core::DTypeName(dtype)));
  const size_t positions = depth + rows;
  const size_t stride = *core::BytesFor(dtype, head_dim * 3);
  std::vector<uint8_t> k(positions * stride), v(positions * stride);
  const std::vector<float> row = BenchFloats(head_dim * 3, 2);
  for (size_t p = 0; p < positions; ++p) {
    EncodeRow(dtype, row.data(), k.data() + p * stride, head_dim * 3);
    EncodeRow(dtype, row.data(), v.data() + p * stride, head_dim * 3);
  }
  const std::vector<float> q = BenchFloats(rows * heads * head_dim, 1);
  std::vector<float> out(q.size()), scratch(AttendBlockScratch(rows * heads, head_dim));
  const QueryBlock block{q.data(), out.data(), heads * head_dim, heads * head_dim,
                         rows, heads, static_cast<int64_t>(depth)};
  for (auto _ : state) {
    AttendBlock(block, {k.data(), dtype, stride}, {v.data(), dtype, stride}, head_dim, 0.125f, 0,
                scratch.data());
    benchmark::DoNotOptimize(out.data());
  }
  SetRates(state, double(rows * heads * positions),
           2.0 * positions * *core::BytesFor(dtype, head_dim));
}
BENCHMARK(BM_AttendBlock)->ArgsProduct({{512, 4096, 32768}, {
    static_cast<int64_t>(core::DType::kF32), static_cast<int64_t>(core::DType::kF16),
    static_cast<int64_t>(core::DType::kQ8_0)}});

}  // namespace
}  // namespace smallmind::kernels
