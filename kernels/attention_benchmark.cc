// Attention over a cache, per stored type: one head's decode step
// (AttendHead) and a prefill block (AttendBlock). Run:
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

// Args: positions, head_dim, cache type (core::DType, keys and values).
void BM_AttendHead(benchmark::State& state) {
  const size_t positions = state.range(0), head_dim = state.range(1);
  const auto dtype = static_cast<core::DType>(state.range(2));
  state.SetLabel(std::string(core::DTypeName(dtype)));
  // Six heads' rows side by side, as a cache of six kv heads holds them.
  const size_t stride = *core::BytesFor(dtype, head_dim * 6);
  std::vector<uint8_t> k(positions * stride), v(positions * stride);
  const std::vector<float> rows = BenchFloats(head_dim * 6, 2);
  for (size_t p = 0; p < positions; ++p) {
    EncodeRow(dtype, rows.data(), k.data() + p * stride, head_dim * 6);
    EncodeRow(dtype, rows.data(), v.data() + p * stride, head_dim * 6);
  }
  const std::vector<float> q = BenchFloats(head_dim, 1);
  std::vector<float> scores(positions), out(head_dim);
  for (auto _ : state) {
    AttendHead(q.data(), {k.data(), dtype, stride}, {v.data(), dtype, stride}, positions,
               head_dim, 1.0f / std::sqrt(float(head_dim)), scores.data(), out.data());
    benchmark::DoNotOptimize(out.data());
  }
  SetRates(state, double(positions * head_dim),
           2.0 * positions * *core::BytesFor(dtype, head_dim));
}
BENCHMARK(BM_AttendHead)->ArgsProduct({{256, 4096}, {64}, {
    static_cast<int64_t>(core::DType::kF32), static_cast<int64_t>(core::DType::kF16),
    static_cast<int64_t>(core::DType::kBF16), static_cast<int64_t>(core::DType::kQ8_0),
    static_cast<int64_t>(core::DType::kQ4_0)}});

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
