#include "training/ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/activations.h"
#include "kernels/elementwise.h"
#include "kernels/reductions.h"

namespace smallmind::training {

void LayerNormForward(const float* x, const float* w, const float* b,
                      float eps, int64_t rows, int64_t dim, float* out,
                      float* mean, float* rstd) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * dim;
    double sum = 0, sq = 0;
    for (int64_t i = 0; i < dim; ++i) sum += xr[i];
    const double m = sum / dim;
    for (int64_t i = 0; i < dim; ++i) sq += (xr[i] - m) * (xr[i] - m);
    const float s = static_cast<float>(1.0 / std::sqrt(sq / dim + eps));
    float* o = out + r * dim;
    for (int64_t i = 0; i < dim; ++i) {
      o[i] = (xr[i] - static_cast<float>(m)) * s * w[i] + b[i];
    }
    mean[r] = static_cast<float>(m);
    rstd[r] = s;
  }
}

void LayerNormBackward(const float* dout, const float* x, const float* w,
                       const float* mean, const float* rstd, int64_t rows,
                       int64_t dim, float* dx, float* dw, float* db) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * dim;
    const float* dr = dout + r * dim;
    // With xhat = (x - mean)·rstd and g = dout·w:
    //   dx = rstd · (g - mean(g) - xhat · mean(g · xhat)).
    double g_mean = 0, gx_mean = 0;
    for (int64_t i = 0; i < dim; ++i) {
      const float xhat = (xr[i] - mean[r]) * rstd[r];
      const float g = dr[i] * w[i];
      g_mean += g;
      gx_mean += g * xhat;
      dw[i] += dr[i] * xhat;
      db[i] += dr[i];
    }
    g_mean /= dim;
    gx_mean /= dim;
    float* dxr = dx + r * dim;
    for (int64_t i = 0; i < dim; ++i) {
      const float xhat = (xr[i] - mean[r]) * rstd[r];
      dxr[i] += rstd[r] * (dr[i] * w[i] - static_cast<float>(g_mean) -
                           xhat * static_cast<float>(gx_mean));
    }
  }
}

namespace {
constexpr float kGeluScale = 0.7978845608028654f;  // sqrt(2/pi)
constexpr float kGeluCubic = 0.044715f;
}  // namespace

void GeluForward(const float* x, float* out, int64_t n) {
  kernels::GeluTanh(x, out, n);
}

void GeluBackward(const float* dout, const float* x, const float* y, float* dx,
                  int64_t n, core::ThreadPool& pool) {
  constexpr int64_t kChunk = 4096;
  pool.ParallelFor((n + kChunk - 1) / kChunk, [&](uint64_t chunk, int) {
  const int64_t end = std::min<int64_t>(n, (chunk + 1) * kChunk);
  for (int64_t i = chunk * kChunk; i < end; ++i) {
    const float v = x[i];
    const float u = kGeluScale * (v + kGeluCubic * v * v * v);
    // y = v·(1 + t)/2 gives t = tanh(u) without another tanh, except near
    // v = 0 where the division loses precision.
    const float t = std::abs(v) > 1e-2f ? 2.0f * y[i] / v - 1.0f : std::tanh(u);
    const float du = kGeluScale * (1.0f + 3.0f * kGeluCubic * v * v);
    dx[i] = dout[i] * (0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * du);
  }
  });
}

void AttentionForward(const float* qkv, int64_t batch, int64_t seq,
                      int64_t heads, int64_t head_dim, float* probs,
                      float* out, core::ThreadPool& pool) {
  const int64_t dim = heads * head_dim;
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  pool.ParallelFor(batch * heads, [&](uint64_t task, int) {
    const int64_t b = task / heads, h = task % heads;
    const float* base = qkv + b * seq * 3 * dim;
    for (int64_t t = 0; t < seq; ++t) {
      const float* q = base + t * 3 * dim + h * head_dim;
      float* p = probs + ((b * heads + h) * seq + t) * seq;
      float max = -std::numeric_limits<float>::infinity();
      for (int64_t s = 0; s <= t; ++s) {
        p[s] = kernels::Dot(q, base + s * 3 * dim + dim + h * head_dim, head_dim) * scale;
        max = std::max(max, p[s]);
      }
      float sum = 0;
      for (int64_t s = 0; s <= t; ++s) {
        p[s] = std::exp(p[s] - max);
        sum += p[s];
      }
      for (int64_t s = 0; s <= t; ++s) p[s] /= sum;
      for (int64_t s = t + 1; s < seq; ++s) p[s] = 0;
      float* o = out + (b * seq + t) * dim + h * head_dim;
      std::memset(o, 0, head_dim * sizeof(float));
      for (int64_t s = 0; s <= t; ++s) {
        kernels::Axpy(p[s], base + s * 3 * dim + 2 * dim + h * head_dim, o, head_dim);
      }
    }
  });
}

void AttentionBackward(const float* dout, const float* qkv, const float* probs,
                       int64_t batch, int64_t seq, int64_t heads,
                       int64_t head_dim, float* dqkv, float* scratch,
                       core::ThreadPool& pool) {
  const int64_t dim = heads * head_dim;
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  std::memset(dqkv, 0, batch * seq * 3 * dim * sizeof(float));
  // Tasks own whole (batch, head) pairs, so their dq/dk/dv slices are
  // disjoint and need no atomics.
  pool.ParallelFor(batch * heads, [&](uint64_t task, int thread) {
    const int64_t b = task / heads, h = task % heads;
    const float* base = qkv + b * seq * 3 * dim;
    float* dbase = dqkv + b * seq * 3 * dim;
    float* dp = scratch + thread * seq;
    for (int64_t t = 0; t < seq; ++t) {
      const float* p = probs + ((b * heads + h) * seq + t) * seq;
      const float* dot = dout + (b * seq + t) * dim + h * head_dim;
      // dP[s] = dout·v_s; dv_s += P[s]·dout.
      float pdp = 0;
      for (int64_t s = 0; s <= t; ++s) {
        const float* v = base + s * 3 * dim + 2 * dim + h * head_dim;
        dp[s] = kernels::Dot(dot, v, head_dim);
        pdp += p[s] * dp[s];
        kernels::Axpy(p[s], dot, dbase + s * 3 * dim + 2 * dim + h * head_dim, head_dim);
      }
      // Softmax backward: dS = P·(dP - Σ P·dP); then the scaled dot.
      const float* q = base + t * 3 * dim + h * head_dim;
      float* dq = dbase + t * 3 * dim + h * head_dim;
      for (int64_t s = 0; s <= t; ++s) {
        const float ds = p[s] * (dp[s] - pdp) * scale;
        const float* k = base + s * 3 * dim + dim + h * head_dim;
        kernels::Axpy(ds, k, dq, head_dim);
        kernels::Axpy(ds, q, dbase + s * 3 * dim + dim + h * head_dim, head_dim);
      }
    }
  });
}

double CrossEntropyForwardBackward(float* logits, const int32_t* targets,
                                   int64_t rows, int64_t vocab,
                                   core::ThreadPool& pool) {
  // Per-row losses are summed in task order afterwards, so the loss does
  // not depend on the thread count.
  constexpr int64_t kRowsPerTask = 16;
  const int64_t tasks = (rows + kRowsPerTask - 1) / kRowsPerTask;
  double partial[1024];
  double total = 0;
  for (int64_t first = 0; first < tasks; first += 1024) {
    const int64_t count = std::min<int64_t>(1024, tasks - first);
    pool.ParallelFor(count, [&](uint64_t t, int) {
      double loss = 0;
      const int64_t begin = (first + t) * kRowsPerTask;
      const int64_t end = std::min(rows, begin + kRowsPerTask);
      for (int64_t r = begin; r < end; ++r) {
        float* l = logits + r * vocab;
        const float max = kernels::Max(l, vocab);
        double sum = 0;
        for (int64_t v = 0; v < vocab; ++v) {
          l[v] = std::exp(l[v] - max);
          sum += l[v];
        }
        const float inv = static_cast<float>(1.0 / sum);
        const float invrows = 1.0f / rows;
        loss -= std::log(std::max(l[targets[r]] * inv, 1e-30f));
        for (int64_t v = 0; v < vocab; ++v) l[v] = l[v] * inv * invrows;
        l[targets[r]] -= invrows;
      }
      partial[t] = loss;
    });
    for (int64_t t = 0; t < count; ++t) total += partial[t];
  }
  return total / rows;
}

void BiasBackward(const float* dy, int64_t rows, int64_t n, float* db) {
  for (int64_t r = 0; r < rows; ++r) kernels::AddInPlace(dy + r * n, db, n);
}

void Transpose(const float* in, int64_t rows, int64_t cols, float* out,
               core::ThreadPool& pool) {
  // Tiles small enough that a tile's source rows and destination rows stay
  // in L1; tasks take bands of source rows.
  constexpr int64_t kTile = 16;
  const int64_t bands = (rows + kTile - 1) / kTile;
  pool.ParallelFor(bands, [&](uint64_t band, int) {
    const int64_t r0 = band * kTile, r1 = std::min(rows, r0 + kTile);
    for (int64_t c0 = 0; c0 < cols; c0 += kTile) {
      const int64_t c1 = std::min(cols, c0 + kTile);
      for (int64_t c = c0; c < c1; ++c) {
        float* o = out + c * rows;
        for (int64_t r = r0; r < r1; ++r) o[r] = in[r * cols + c];
      }
    }
  });
}

}  // namespace smallmind::training
