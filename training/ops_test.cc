// Every backward pass against central-difference numerical gradients of the
// scalar loss L = Σ out·R for a fixed random R (so dL/dout = R).
#include "training/ops.h"

#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include "backends/registry.h"
#include "gtest/gtest.h"
#include "training/linear.h"

namespace smallmind::training {
namespace {

std::vector<float> Random(size_t n, uint64_t seed, float scale = 1.0f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

double Dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

// Compares `analytic` with numerical derivatives of `loss` with respect to
// every element of `input`.
void ExpectGradient(std::vector<float>& input, const std::vector<float>& analytic,
                    const std::function<double()>& loss, const char* what,
                    float eps = 1e-2f, float tolerance = 2e-2f) {
  ASSERT_EQ(input.size(), analytic.size());
  for (size_t i = 0; i < input.size(); ++i) {
    const float saved = input[i];
    input[i] = saved + eps;
    const double up = loss();
    input[i] = saved - eps;
    const double down = loss();
    input[i] = saved;
    const double numeric = (up - down) / (2 * eps);
    EXPECT_NEAR(analytic[i], numeric, tolerance * std::max(1.0, std::abs(numeric)))
        << what << "[" << i << "]";
  }
}

TEST(OpsGradientTest, LayerNorm) {
  const int64_t rows = 3, dim = 7;
  std::vector<float> x = Random(rows * dim, 1), w = Random(dim, 2), b = Random(dim, 3);
  const std::vector<float> r = Random(rows * dim, 4);
  std::vector<float> out(rows * dim), mean(rows), rstd(rows);
  auto loss = [&] {
    LayerNormForward(x.data(), w.data(), b.data(), 1e-5f, rows, dim, out.data(),
                     mean.data(), rstd.data());
    return Dot(out, r);
  };
  loss();
  std::vector<float> dx(rows * dim), dw(dim), db(dim);
  LayerNormBackward(r.data(), x.data(), w.data(), mean.data(), rstd.data(), rows,
                    dim, dx.data(), dw.data(), db.data());
  ExpectGradient(x, dx, loss, "dx");
  ExpectGradient(w, dw, loss, "dw");
  ExpectGradient(b, db, loss, "db");
}

TEST(OpsGradientTest, Gelu) {
  std::vector<float> x = Random(50, 5, 2.0f);
  const std::vector<float> r = Random(50, 6);
  std::vector<float> out(50), dx(50);
  auto loss = [&] {
    GeluForward(x.data(), out.data(), 50);
    return Dot(out, r);
  };
  loss();
  core::ThreadPool pool(2);
  GeluBackward(r.data(), x.data(), out.data(), dx.data(), 50, pool);
  ExpectGradient(x, dx, loss, "dx", 1e-3f);
}

TEST(OpsGradientTest, CausalAttention) {
  const int64_t batch = 2, seq = 5, heads = 2, head_dim = 3, dim = heads * head_dim;
  core::ThreadPool pool(2);
  std::vector<float> qkv = Random(batch * seq * 3 * dim, 7);
  const std::vector<float> r = Random(batch * seq * dim, 8);
  std::vector<float> probs(batch * heads * seq * seq), out(batch * seq * dim);
  auto loss = [&] {
    AttentionForward(qkv.data(), batch, seq, heads, head_dim, probs.data(),
                     out.data(), pool);
    return Dot(out, r);
  };
  loss();
  // Causality: a row's output ignores later positions.
  for (int64_t t = 0; t < seq; ++t) {
    for (int64_t s = t + 1; s < seq; ++s) EXPECT_EQ(probs[t * seq + s], 0.0f);
  }
  std::vector<float> dqkv(qkv.size()), scratch(pool.num_threads() * seq);
  AttentionBackward(r.data(), qkv.data(), probs.data(), batch, seq, heads,
                    head_dim, dqkv.data(), scratch.data(), pool);
  ExpectGradient(qkv, dqkv, loss, "dqkv");
}

TEST(OpsGradientTest, CrossEntropy) {
  const int64_t rows = 37, vocab = 11;
  core::ThreadPool pool(2);
  std::vector<float> logits = Random(rows * vocab, 9, 2.0f);
  std::vector<int32_t> targets(rows);
  for (int64_t i = 0; i < rows; ++i) targets[i] = (i * 7) % vocab;
  auto loss = [&] {
    std::vector<float> copy = logits;
    return CrossEntropyForwardBackward(copy.data(), targets.data(), rows, vocab, pool);
  };
  std::vector<float> grad = logits;
  const double l = CrossEntropyForwardBackward(grad.data(), targets.data(), rows,
                                               vocab, pool);
  EXPECT_GT(l, 0);
  ExpectGradient(logits, grad, loss, "dlogits", 1e-2f, 5e-2f);
  // Uniform logits: the loss is log(vocab).
  std::vector<float> flat(rows * vocab, 0.5f);
  EXPECT_NEAR(CrossEntropyForwardBackward(flat.data(), targets.data(), rows, vocab, pool),
              std::log(11.0), 1e-6);
}

// dX = dY·W and dW = dYᵀ·X through every backend.
class LinearGradientTest : public ::testing::TestWithParam<std::string> {};

TEST_P(LinearGradientTest, MatchesNumericalGradients) {
  const backends::Backend* backend =
      *backends::Registry::Get(GetParam(), core::DType::kF32);
  core::ThreadPool pool(2);
  LinearOps linear(*backend, pool, 1000);
  const int64_t m = 5, k = 9, n = 7;
  std::vector<float> x = Random(m * k, 10), w = Random(n * k, 11), b = Random(n, 12);
  const std::vector<float> r = Random(m * n, 13);
  std::vector<float> y(m * n);
  auto loss = [&] {
    EXPECT_TRUE(linear.Forward(x.data(), m, k, w.data(), n, b.data(), y.data()).ok());
    return Dot(y, r);
  };
  std::vector<float> dx(m * k), dw(n * k, 0.0f), db(n, 0.0f);
  ASSERT_TRUE(linear.Backward(r.data(), x.data(), m, k, w.data(), n, dx.data(),
                              dw.data(), db.data()).ok());
  ExpectGradient(x, dx, loss, "dx");
  ExpectGradient(w, dw, loss, "dw");
  ExpectGradient(b, db, loss, "db");
}

INSTANTIATE_TEST_SUITE_P(Backends, LinearGradientTest,
                         ::testing::ValuesIn(backends::Registry::List()));

TEST(OpsTest, TransposeIsExact) {
  const std::vector<float> in = Random(37 * 45, 14);
  std::vector<float> out(in.size()), back(in.size());
  core::ThreadPool pool(2);
  Transpose(in.data(), 37, 45, out.data(), pool);
  EXPECT_EQ(out[3 * 37 + 5], in[5 * 45 + 3]);
  Transpose(out.data(), 45, 37, back.data(), pool);
  EXPECT_EQ(back, in);
}

}  // namespace
}  // namespace smallmind::training
