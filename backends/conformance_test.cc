// One conformance suite for every registered backend × every dtype it
// supports × a sweep of shapes, with and without bias, on 1 and 2 threads,
// against a double-accumulating reference. A new backend is picked up from
// the registry with no edit here.

#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "backends/registry.h"
#include "core/arena.h"
#include "core/dtype.h"
#include "core/tensor.h"
#include "core/thread_pool.h"
#include "gtest/gtest.h"
#include "hwy/targets.h"
#include "kernels/convert.h"

namespace smallmind::backends {
namespace {

using core::DType;

constexpr int64_t kMs[] = {1, 2, 3, 7, 16, 33, 64};
constexpr int64_t kKs[] = {32, 64, 96, 288, 768, 1000};
constexpr int64_t kNs[] = {1, 5, 16, 17, 64, 288, 1000};

std::vector<float> Uniform(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// W[N,K] in `dtype`, made from uniform floats; also returns the values it
// decodes to, which is what the reference multiplies by.
absl::StatusOr<core::Tensor> MakeWeights(DType dtype, int64_t n, int64_t k,
                                         std::vector<float>* decoded) {
  auto t = core::Tensor::Zeros(dtype, *core::Shape::Make({n, k}));
  if (!t.ok()) return t.status();
  const std::vector<float> f = Uniform(size_t(n * k), uint32_t(n * 7919 + k));
  decoded->resize(f.size());
  for (int64_t r = 0; r < n; ++r) {
    kernels::EncodeRow(dtype, f.data() + r * k, t->view().row(r), size_t(k));
    kernels::DecodeRow(dtype, t->view().row(r), decoded->data() + r * k, size_t(k));
  }
  return t;
}

// The exact product in double, and for each output the error budget:
//  - float accumulation: (2 + √K)·4ε·Σ|x·w|, growing with K and magnitude;
//  - for quantized weights, a backend may quantize X to 8 bits per block
//    of 32 (kernels/matmul_int8.h; GGML's Q8_0 also rounds the scale to
//    f16): each x moves by at most amax(block)·(1/254 + 2^-11), which the
//    budget allows times Σ|w| over the block.
struct Reference {
  std::vector<double> y, tolerance;
};

const Reference& GetReference(DType dtype, int64_t m, int64_t k, int64_t n,
                              const std::vector<float>& x,
                              const std::vector<float>& w) {
  static auto* cache = new std::map<std::tuple<DType, int64_t, int64_t, int64_t>, Reference>();
  auto [it, inserted] = cache->try_emplace({dtype, m, k, n});
  Reference& ref = it->second;
  if (!inserted) return ref;
  ref.y.resize(size_t(m * n));
  ref.tolerance.resize(size_t(m * n));
  const double eps = std::ldexp(1.0, -24);
  for (int64_t i = 0; i < m; ++i) {
    const float* xi = x.data() + i * k;
    for (int64_t j = 0; j < n; ++j) {
      const float* wj = w.data() + j * k;
      double sum = 0.0, magnitude = 0.0, activation = 0.0;
      for (int64_t b = 0; b < k; b += 32) {
        double amax = 0.0, wsum = 0.0;
        for (int64_t t = b; t < std::min(k, b + 32); ++t) {
          const double p = double(xi[t]) * wj[t];
          sum += p;
          magnitude += std::fabs(p);
          amax = std::max(amax, std::fabs(double(xi[t])));
          wsum += std::fabs(double(wj[t]));
        }
        activation += amax * (1.0 / 254 + 1.0 / 2048) * wsum;
      }
      ref.y[size_t(i * n + j)] = sum;
      ref.tolerance[size_t(i * n + j)] =
          (2.0 + std::sqrt(double(k))) * 4.0 * eps * magnitude +
          (core::IsQuantized(dtype) ? activation : 0.0) + 1e-6;
    }
  }
  return ref;
}

using Param = std::tuple<std::string, DType>;

std::vector<Param> AllBackendsAndDtypes() {
  std::vector<Param> params;
  for (const std::string& name : Registry::List()) {
    for (const core::DTypeTraits& t : core::AllDTypes()) {
      if ((*Registry::Get(name, DType::kF32))->Supports(t.dtype)) {
        params.emplace_back(name, t.dtype);
      }
    }
  }
  return params;
}

class ConformanceTest : public testing::TestWithParam<Param> {};

// Every (K, N) of `ks` × `ns` and M of `ms`, with and without bias, on 1
// and 2 threads. Scratch is exactly what the backend asks for.
void CheckSweep(const std::string& name, DType dtype,
                absl::Span<const int64_t> ms, absl::Span<const int64_t> ks,
                absl::Span<const int64_t> ns) {
  auto backend = Registry::Get(name, dtype);
  ASSERT_TRUE(backend.ok()) << backend.status();
  core::ThreadPool one(1), two(2);
  for (int64_t k : ks) {
    for (int64_t n : ns) {
      std::vector<float> w_decoded;
      auto w = MakeWeights(dtype, n, k, &w_decoded);
      if (k % int64_t(core::BlockElements(dtype)) != 0) {
        // Quantized weights cannot have a partial block: refused, clearly.
        ASSERT_FALSE(w.ok());
        EXPECT_NE(w.status().message().find("not a whole number of"),
                  absl::string_view::npos)
            << w.status();
        continue;
      }
      ASSERT_TRUE(w.ok()) << w.status();
      auto prepared = (*backend)->Prepare(w->view());
      ASSERT_TRUE(prepared.ok()) << prepared.status();
      const std::vector<float> bias = Uniform(size_t(n), uint32_t(n + 5));
      for (int64_t m : ms) {
        auto scratch = core::Arena::Create((*backend)->ScratchBytes(m, **prepared));
        ASSERT_TRUE(scratch.ok());
        const std::vector<float> x = Uniform(size_t(m * k), uint32_t(m * 31 + k));
        const Reference& ref = GetReference(dtype, m, k, n, x, w_decoded);
        auto xv = core::TensorView::Make(const_cast<float*>(x.data()), DType::kF32,
                                         *core::Shape::Make({m, k}));
        ASSERT_TRUE(xv.ok());
        for (bool with_bias : {false, true}) {
          for (core::ThreadPool* pool : {&one, &two}) {
            std::vector<float> y(size_t(m * n), std::nanf(""));
            auto yv = core::TensorView::Make(y.data(), DType::kF32,
                                             *core::Shape::Make({m, n}));
            ASSERT_TRUE(yv.ok());
            const absl::Status s = (*backend)->MatMul(
                *xv, **prepared, with_bias ? bias.data() : nullptr, *yv, *pool,
                *scratch);
            ASSERT_TRUE(s.ok()) << s;
            ASSERT_EQ(scratch->used(), 0u) << "scratch not given back";
            for (int64_t i = 0; i < m; ++i) {
              for (int64_t j = 0; j < n; ++j) {
                const size_t at = size_t(i * n + j);
                const double expected = ref.y[at] + (with_bias ? bias[size_t(j)] : 0.0);
                ASSERT_NEAR(y[at], expected, ref.tolerance[at])
                    << name << " " << core::DTypeName(dtype) << " M=" << m
                    << " K=" << k << " N=" << n << " bias=" << with_bias
                    << " threads=" << pool->num_threads() << " at (" << i << ","
                    << j << ")";
              }
            }
          }
        }
      }
    }
  }
}

TEST_P(ConformanceTest, MatchesDoubleReference) {
  const auto& [name, dtype] = GetParam();
  CheckSweep(name, dtype, kMs, kKs, kNs);
}

// The backends' SIMD code on every target compiled into the binary (the
// best one runs above), on a smaller sweep: weights are prepared under the
// forced target, as a CPU with only that target would prepare them.
TEST_P(ConformanceTest, MatchesOnEverySimdTarget) {
  const auto& [name, dtype] = GetParam();
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    SCOPED_TRACE(hwy::TargetName(target));
    hwy::SetSupportedTargetsForTest(target);
    CheckSweep(name, dtype, {1, 7, 16}, {32, 256, 288}, {5, 17, 64});
    hwy::SetSupportedTargetsForTest(0);
  }
}

TEST_P(ConformanceTest, RejectsMismatchedShapes) {
  const auto& [name, dtype] = GetParam();
  auto backend = Registry::Get(name, dtype);
  ASSERT_TRUE(backend.ok());
  std::vector<float> unused;
  const int64_t k = std::max<int64_t>(64, core::BlockElements(dtype));
  auto w = MakeWeights(dtype, 8, k, &unused);
  ASSERT_TRUE(w.ok());
  auto prepared = (*backend)->Prepare(w->view());
  ASSERT_TRUE(prepared.ok());
  std::vector<float> x(3 * k / 2), y(3 * 8, 7.0f);
  auto xv = core::TensorView::Make(x.data(), DType::kF32, *core::Shape::Make({3, k / 2}));
  auto yv = core::TensorView::Make(y.data(), DType::kF32, *core::Shape::Make({3, 8}));
  core::ThreadPool pool(1);
  auto scratch = core::Arena::Create(4096);
  const absl::Status s = (*backend)->MatMul(*xv, **prepared, nullptr, *yv, pool, *scratch);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("shapes do not match"), absl::string_view::npos) << s;
  EXPECT_EQ(y[0], 7.0f);  // nothing written
}

TEST_P(ConformanceTest, RejectsNonMatrixWeights) {
  const auto& [name, dtype] = GetParam();
  auto backend = Registry::Get(name, dtype);
  ASSERT_TRUE(backend.ok());
  const int64_t k = std::max<int64_t>(64, core::BlockElements(dtype));
  auto w = core::Tensor::Zeros(dtype, *core::Shape::Make({2, 4, k}));
  ASSERT_TRUE(w.ok());
  EXPECT_EQ((*backend)->Prepare(w->view()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

std::string ParamName(const testing::TestParamInfo<Param>& info) {
  return std::get<0>(info.param) + "_" +
         std::string(core::DTypeName(std::get<1>(info.param)));
}

INSTANTIATE_TEST_SUITE_P(AllBackends, ConformanceTest,
                         testing::ValuesIn(AllBackendsAndDtypes()), ParamName);

}  // namespace
}  // namespace smallmind::backends
