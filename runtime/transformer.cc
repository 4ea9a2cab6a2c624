#include "runtime/transformer.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "core/profiler.h"
#include "core/status.h"
#include "kernels/activations.h"
#include "kernels/attention.h"
#include "kernels/elementwise.h"
#include "kernels/norm.h"
#include "runtime/tensor_codec.h"

namespace smallmind::runtime {
namespace {

// Attention work (multiply-adds) below which spreading heads over the pool
// costs more in wake-ups than it saves.
constexpr int64_t kParallelAttentionWork = 1 << 15;
// Threads whose softmax time the profiler can tell apart.
constexpr int kMaxThreads = 256;

// Bytes the arena gives an allocation of `count` floats, alignment included.
size_t ArenaFloats(int64_t count) {
  return (static_cast<size_t>(count) * sizeof(float) + core::kAlignment -
          1) / core::kAlignment * core::kAlignment;
}

int64_t QDim(const Architecture& a) { return a.num_heads() * a.head_dim(); }
int64_t KvDim(const Architecture& a) { return a.num_kv_heads() * a.head_dim(); }
int64_t FfnRows(const Architecture& a) {
  return a.mlp() == SWIGLU ? 2 * a.hidden_dim() : a.hidden_dim();
}

const float* BiasOrNull(const core::TensorView& bias) {
  return bias.data() == nullptr ? nullptr
                                : static_cast<const float*>(bias.data());
}

using core::ProfileOp;

// Work of Y[M,N] = X[M,K]·Wᵀ for the profiler: flops and bytes of weights.
double MatMulFlops(int64_t m, const backends::PreparedWeights& w) {
  return 2.0 * m * w.rows() * w.cols();
}
double WeightBytes(const backends::PreparedWeights& w) {
  return static_cast<double>(
      core::BytesFor(w.dtype(), w.rows() * w.cols()).value_or(0));
}

absl::StatusOr<core::TensorView> F32Matrix(float* data, int64_t rows,
                                           int64_t cols) {
  SM_ASSIGN_OR_RETURN(core::Shape shape, core::Shape::Make({rows, cols}));
  return core::TensorView::Make(data, core::DType::kF32, shape);
}

}  // namespace

absl::StatusOr<KvCache> KvCache::Create(const Architecture& arch,
                                        int64_t context) {
  if (context <= 0 || context > arch.context_length()) {
    return absl::InvalidArgumentError(
        absl::StrCat("KV cache context ", context, " must be in [1, ",
                     arch.context_length(), "], the model's context length"));
  }
  KvCache cache;
  cache.context_ = context;
  cache.kv_dim_ = KvDim(arch);
  SM_ASSIGN_OR_RETURN(
      cache.buffer_,
      core::AlignedBuffer::Allocate(static_cast<size_t>(arch.num_layers()) * 2 *
                                    context * cache.kv_dim_ * sizeof(float)));
  return cache;
}

absl::StatusOr<std::unique_ptr<Transformer>> Transformer::Create(
    const Model& model, const backends::Backend& backend) {
  std::unique_ptr<Transformer> t(new Transformer(model, backend));
  // Prepare errors, naming the backend, on a dtype it does not support.
  for (const LayerTensors& lt : model.layers()) {
    Layer layer;
    SM_ASSIGN_OR_RETURN(layer.qkv, backend.Prepare(lt.qkv));
    SM_ASSIGN_OR_RETURN(layer.attn_output, backend.Prepare(lt.attn_output));
    SM_ASSIGN_OR_RETURN(layer.ffn_up, backend.Prepare(lt.ffn_up));
    SM_ASSIGN_OR_RETURN(layer.ffn_down, backend.Prepare(lt.ffn_down));
    t->layers_.push_back(std::move(layer));
  }
  SM_ASSIGN_OR_RETURN(t->output_, backend.Prepare(model.output()));
  const Architecture& arch = model.arch();
  if (arch.positions() == ROPE) {
    SM_ASSIGN_OR_RETURN(
        kernels::RopeTable table,
        kernels::RopeTable::Make(arch.rotary_dim(), arch.context_length(),
                                 arch.rope_base()));
    t->rope_ = std::move(table);
  }
  return t;
}

size_t Transformer::ScratchBytes(int64_t max_tokens, int threads) const {
  const Architecture& a = model_.arch();
  const int64_t m = std::max<int64_t>(max_tokens, 1);
  const int64_t dim = a.embedding_dim();
  const int64_t max_k = std::max<int64_t>(dim, a.hidden_dim());
  return ArenaFloats(m * dim) * 2                       // residual, normed
         + ArenaFloats(m * (QDim(a) + 2 * KvDim(a)))    // q|k|v
         + ArenaFloats(m * QDim(a))                     // attention output
         + ArenaFloats(m * FfnRows(a))                  // MLP up (gate|up)
         + ArenaFloats(m * a.hidden_dim())              // MLP activation
         + ArenaFloats(int64_t{std::max(threads, 1)} * a.context_length())
         // A backend's per-call scratch (tiled: X quantized to Q8_0) is
         // below M·K floats; the slack covers its alignment.
         + ArenaFloats(m * max_k) + 4 * core::kAlignment;
}

void Transformer::Norm(const float* x, const core::TensorView& weight,
                       const core::TensorView& bias, float* out,
                       int64_t rows) const {
  const Architecture& a = model_.arch();
  const int64_t dim = a.embedding_dim();
  const float* w = static_cast<const float*>(weight.data());
  for (int64_t i = 0; i < rows; ++i) {
    if (a.norm() == LAYER_NORM) {
      kernels::LayerNorm(x + i * dim, w, static_cast<const float*>(bias.data()),
                         a.norm_eps(), out + i * dim, dim);
    } else {
      kernels::RmsNorm(x + i * dim, w, a.norm_eps(), out + i * dim, dim);
    }
  }
}

void Transformer::Attention(int layer, const float* qkv, int64_t rows,
                            int64_t pos, KvCache& cache, float* scores,
                            float* out, core::ThreadPool& pool) const {
  const Architecture& a = model_.arch();
  const int64_t head_dim = a.head_dim();
  const int64_t heads = a.num_heads();
  const int64_t group = heads / a.num_kv_heads();  // query heads per kv head
  const int64_t qkv_dim = QDim(a) + 2 * KvDim(a);
  const int64_t context = cache.context();
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  // Softmax time per thread when profiling: it runs inside the kernel, on
  // whichever thread has the task.
  core::Profiler* profiler = core::CurrentProfiler();
  int64_t softmax_storage[kMaxThreads];
  int64_t* softmax_ns = nullptr;
  if (profiler != nullptr && pool.num_threads() <= kMaxThreads) {
    softmax_ns = softmax_storage;
    std::fill(softmax_ns, softmax_ns + pool.num_threads(), 0);
  }

  // One task per (row, head): scores against every cached key up to the
  // row's own position, softmax, then the weighted sum of values, fused in
  // one kernel call.
  auto task = [&](uint64_t t, int thread) {
    const int64_t row = static_cast<int64_t>(t) / heads;
    const int64_t head = static_cast<int64_t>(t) % heads;
    const int64_t last = pos + row;  // attends to positions [0, last]
    const int64_t kv_offset = (head / group) * head_dim;
    const float* q = qkv + row * qkv_dim + head * head_dim;
    float* s = scores + thread * context;
    float* o = out + row * QDim(a) + head * head_dim;
    const float* keys = cache.keys(layer, 0) + kv_offset;
    const float* values = cache.values(layer, 0) + kv_offset;
    const size_t stride = cache.keys(layer, 1) - cache.keys(layer, 0);
    kernels::AttendHead(q, keys, values, stride, last + 1, head_dim, scale, s, o,
                        softmax_ns != nullptr ? softmax_ns + thread : nullptr);
  };
  const int64_t tasks = rows * heads;
  const int64_t work = tasks * (pos + rows) * head_dim;
  if (pool.num_threads() > 1 && work >= kParallelAttentionWork) {
    pool.ParallelFor(tasks, task);
  } else {
    for (int64_t t = 0; t < tasks; ++t) task(t, 0);
  }
  if (softmax_ns != nullptr) {
    int64_t total = 0;
    for (int i = 0; i < pool.num_threads(); ++i) total += softmax_ns[i];
    profiler->Record(ProfileOp::kSoftmax, layer, total, 0, 0);
  }
}

absl::Status Transformer::Forward(absl::Span<const int32_t> tokens, int64_t pos,
                                  KvCache& cache, core::Arena& arena,
                                  core::ThreadPool& pool, float* logits,
                                  bool all_logits) const {
  const Architecture& a = model_.arch();
  const int64_t m = static_cast<int64_t>(tokens.size());
  if (m == 0) return absl::InvalidArgumentError("forward of an empty batch");
  if (pos < 0 || pos + m > cache.context()) {
    return absl::OutOfRangeError(absl::StrCat(
        "positions [", pos, ", ", pos + m, ") do not fit the context of ",
        cache.context(), " tokens"));
  }
  for (int32_t token : tokens) {
    if (token < 0 || token >= a.vocab_size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "token id ", token, " is outside the vocabulary [0, ",
          a.vocab_size(), ")"));
    }
  }

  const int64_t dim = a.embedding_dim();
  const int64_t hidden = a.hidden_dim();
  const int64_t q_dim = QDim(a), kv_dim = KvDim(a);
  const int64_t qkv_dim = q_dim + 2 * kv_dim;
  const size_t mark = arena.used();
  absl::Cleanup rewind = [&arena, mark] { arena.Rewind(mark); };
  auto floats = [&](int64_t n) { return arena.AllocateArray<float>(n); };
  SM_ASSIGN_OR_RETURN(float* x, floats(m * dim));
  SM_ASSIGN_OR_RETURN(float* xn, floats(m * dim));
  SM_ASSIGN_OR_RETURN(float* qkv, floats(m * qkv_dim));
  SM_ASSIGN_OR_RETURN(float* attn, floats(m * q_dim));
  SM_ASSIGN_OR_RETURN(float* up, floats(m * FfnRows(a)));
  SM_ASSIGN_OR_RETURN(float* act, floats(m * hidden));
  SM_ASSIGN_OR_RETURN(float* scores,
                      floats(int64_t{pool.num_threads()} * cache.context()));

  SM_ASSIGN_OR_RETURN(core::TensorView xn_view, F32Matrix(xn, m, dim));
  SM_ASSIGN_OR_RETURN(core::TensorView qkv_view, F32Matrix(qkv, m, qkv_dim));
  SM_ASSIGN_OR_RETURN(core::TensorView attn_view, F32Matrix(attn, m, q_dim));
  SM_ASSIGN_OR_RETURN(core::TensorView up_view, F32Matrix(up, m, FfnRows(a)));
  SM_ASSIGN_OR_RETURN(core::TensorView act_view, F32Matrix(act, m, hidden));

  const double row_bytes = 4.0 * m * dim;  // one F32 activation matrix
  {
    SM_PROFILE_SCOPE(ProfileOp::kEmbedding, -1, 0, row_bytes);
    for (int64_t i = 0; i < m; ++i) {
      DecodeRow(model_.token_embedding(), tokens[i], x + i * dim);
      if (a.positions() == LEARNED) {
        DecodeRow(model_.position_embedding(), pos + i, xn);  // xn: scratch row
        kernels::AddInPlace(xn, x + i * dim, dim);
      }
    }
  }
  auto* const rope = a.rope_style() == PAIRWISE ? kernels::RopePairwise
                                                : kernels::RopeRotateHalf;

  for (int l = 0; l < a.num_layers(); ++l) {
    const LayerTensors& w = model_.layers()[l];
    const Layer& p = layers_[l];

    {
      SM_PROFILE_SCOPE(ProfileOp::kNorm, l, 0, 2 * row_bytes);
      Norm(x, w.attn_norm_weight, w.attn_norm_bias, xn, m);
    }
    {
      SM_PROFILE_SCOPE(ProfileOp::kMatMulQkv, l, MatMulFlops(m, *p.qkv), WeightBytes(*p.qkv));
      SM_RETURN_IF_ERROR(backend_.MatMul(xn_view, *p.qkv, BiasOrNull(w.qkv_bias),
                                         qkv_view, pool, arena));
    }
    {
      SM_PROFILE_SCOPE(ProfileOp::kRope, l, 0, 0);
      for (int64_t i = 0; i < m; ++i) {
        float* q = qkv + i * qkv_dim;
        float* k = q + q_dim;
        if (rope_.has_value()) {
          rope(q, a.num_heads(), a.head_dim(), *rope_, pos + i);
          rope(k, a.num_kv_heads(), a.head_dim(), *rope_, pos + i);
        }
        std::memcpy(cache.keys(l, pos + i), k, kv_dim * sizeof(float));
        std::memcpy(cache.values(l, pos + i), k + kv_dim, kv_dim * sizeof(float));
      }
    }
    {
      // q·k and p·v over every cached position: 4 flops per head element.
      SM_PROFILE_SCOPE(ProfileOp::kAttention, l,
                       4.0 * m * a.num_heads() * a.head_dim() * (pos + (m + 1) / 2.0),
                       8.0 * kv_dim * (pos + m));
      Attention(l, qkv, m, pos, cache, scores, attn, pool);
    }
    {
      SM_PROFILE_SCOPE(ProfileOp::kMatMulAttnOut, l, MatMulFlops(m, *p.attn_output),
                       WeightBytes(*p.attn_output));
      SM_RETURN_IF_ERROR(backend_.MatMul(attn_view, *p.attn_output,
                                         BiasOrNull(w.attn_output_bias), xn_view,
                                         pool, arena));
    }
    {
      SM_PROFILE_SCOPE(ProfileOp::kResidual, l, 0, 3 * row_bytes);
      kernels::AddInPlace(xn, x, m * dim);
    }
    {
      SM_PROFILE_SCOPE(ProfileOp::kNorm, l, 0, 2 * row_bytes);
      Norm(x, w.ffn_norm_weight, w.ffn_norm_bias, xn, m);
    }
    {
      SM_PROFILE_SCOPE(ProfileOp::kMatMulFfnUp, l, MatMulFlops(m, *p.ffn_up),
                       WeightBytes(*p.ffn_up));
      SM_RETURN_IF_ERROR(backend_.MatMul(xn_view, *p.ffn_up,
                                         BiasOrNull(w.ffn_up_bias), up_view, pool,
                                         arena));
    }
    {
      SM_PROFILE_SCOPE(ProfileOp::kActivation, l, 0, 4.0 * m * (FfnRows(a) + hidden));
      if (a.mlp() == SWIGLU) {
        for (int64_t i = 0; i < m; ++i) {
          const float* gate = up + i * 2 * hidden;
          kernels::SwiGlu(gate, gate + hidden, act + i * hidden, hidden);
        }
      } else {
        kernels::GeluTanh(up, act, m * hidden);
      }
    }
    {
      SM_PROFILE_SCOPE(ProfileOp::kMatMulFfnDown, l, MatMulFlops(m, *p.ffn_down),
                       WeightBytes(*p.ffn_down));
      SM_RETURN_IF_ERROR(backend_.MatMul(act_view, *p.ffn_down,
                                         BiasOrNull(w.ffn_down_bias), xn_view,
                                         pool, arena));
    }
    {
      SM_PROFILE_SCOPE(ProfileOp::kResidual, l, 0, 3 * row_bytes);
      kernels::AddInPlace(xn, x, m * dim);
    }
  }

  // The LM head runs on the last row only unless every row's logits are
  // wanted (scoring a text, training).
  const int64_t first = all_logits ? 0 : m - 1;
  const int64_t out_rows = m - first;
  {
    SM_PROFILE_SCOPE(ProfileOp::kNorm, -1, 0, 8.0 * out_rows * dim);
    Norm(x + first * dim, model_.output_norm_weight(), model_.output_norm_bias(),
         xn, out_rows);
  }
  SM_ASSIGN_OR_RETURN(core::TensorView head_in, F32Matrix(xn, out_rows, dim));
  SM_ASSIGN_OR_RETURN(core::TensorView head_out,
                      F32Matrix(logits, out_rows, a.vocab_size()));
  SM_PROFILE_SCOPE(ProfileOp::kMatMulLmHead, -1, MatMulFlops(out_rows, *output_),
                   WeightBytes(*output_));
  return backend_.MatMul(head_in, *output_, nullptr, head_out, pool, arena);
}

}  // namespace smallmind::runtime
