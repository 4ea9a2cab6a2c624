#include "runtime/transformer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <tuple>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "kernels/activations.h"
#include "kernels/attention.h"
#include "kernels/convert.h"
#include "kernels/elementwise.h"
#include "kernels/norm.h"
#include "model/tensor_codec.h"

namespace smallmind::runtime {
namespace {

using core::ProfileOp;

// Attention work (multiply-adds) below which spreading heads over the pool
// costs more in wake-ups than it saves.
constexpr int64_t kParallelAttentionWork = 1 << 15;
// Consecutive rows of one sequence from which attention runs in blocks
// (kernels::AttendBlock: key tiles shared by the block's queries), and the
// queries (rows × the query heads of a kv head) a block holds at most.
constexpr int64_t kMinBlockRows = 4;
constexpr int64_t kBlockQueries = 64;
// A short run (a decode step) attends a row at a time, all its heads in one
// pass over the cache rows; on a pool of several threads, a row over
// kSplitKeys positions or more attends in up to kMaxParts parts of them
// (flash-decoding: each part's partial softmax on a thread, then merged).
constexpr int64_t kSplitKeys = 256;
constexpr int64_t kMaxParts = 4;

int64_t QDim(const model::Architecture& a) { return a.num_heads() * a.head_dim(); }
int64_t KvDim(const model::Architecture& a) { return a.num_kv_heads() * a.head_dim(); }
int64_t QkvDim(const model::Architecture& a) { return QDim(a) + 2 * KvDim(a); }
// Rows per AttendBlock call: the block's queries are rows × the query heads
// of one kv head.
int64_t BlockRows(const model::Architecture& a) {
  return std::max<int64_t>(1, kBlockQueries / (a.num_heads() / a.num_kv_heads()));
}
int64_t BlockScratchFloats(const model::Architecture& a) {
  return static_cast<int64_t>(kernels::AttendBlockScratch(kBlockQueries, a.head_dim()));
}
int64_t RowScratchFloats(const model::Architecture& a) {
  return static_cast<int64_t>(
      kernels::AttendRowScratch(a.num_heads(), a.num_kv_heads(), a.head_dim()));
}
int64_t FfnRows(const model::Architecture& a) {
  return model::IsGated(a.mlp()) ? 2 * a.hidden_dim() : a.hidden_dim();  // gated: gate|up
}

// A row's position as the model sees it: from its sequence's start.
int64_t ModelPosition(const BatchRow& row) { return row.position - row.start; }

// Sliding-window layers (Gemma 3): all but every pattern-th.
bool IsLocalLayer(const model::Architecture& a, int layer) {
  return a.sliding_window() > 0 && (layer + 1) % a.sliding_window_pattern() != 0;
}

// Bytes the arena gives an allocation of `count` floats, alignment included.
size_t ArenaFloats(int64_t count) {
  return (static_cast<size_t>(count) * sizeof(float) + core::kAlignment - 1) /
         core::kAlignment * core::kAlignment;
}

}  // namespace

// The buffers of one pass, declared once: kBuffers both sizes the arena
// (ScratchBytes) and carves it (Forward).
struct Transformer::Scratch {
  float* x;       // the residual stream [rows, dim]
  float* xn;      // a sublayer's input or output [rows, dim]
  float* qkv;     // queries, keys, values [rows, q_dim + 2·kv_dim]
  float* attn;    // attention output [rows, q_dim]
  float* up;      // MLP up projection, gate then up for SwiGLU [rows, ffn]
  float* act;     // MLP activation [rows, hidden]
  float* row;     // AttendRow's scratch [threads, kernels::AttendRowScratch]
  float* block;   // AttendBlock's scratch [threads, kernels::AttendBlockScratch]
  float* runs;    // attention's runs of rows (Pass::Run) [rows + 1]
  float* parts;   // decode's attention in parts [rows, heads, kMaxParts, head_dim + 2]
  float* lookup;  // an embedding row as the file stores it [row bytes / 4]

  struct Size {
    int64_t rows, threads;
    int64_t lookup_bytes;  // the widest embedding row, in its dtype
  };
  struct Buffer {
    float* Scratch::*field;
    int64_t (*floats)(const model::Architecture& a, const Size& s);
  };
  static constexpr Buffer kBuffers[] = {
      {&Scratch::x, [](const model::Architecture& a, const Size& s) { return s.rows * a.embedding_dim(); }},
      {&Scratch::xn, [](const model::Architecture& a, const Size& s) { return s.rows * a.embedding_dim(); }},
      {&Scratch::qkv, [](const model::Architecture& a, const Size& s) { return s.rows * QkvDim(a); }},
      {&Scratch::attn, [](const model::Architecture& a, const Size& s) { return s.rows * QDim(a); }},
      {&Scratch::up, [](const model::Architecture& a, const Size& s) { return s.rows * FfnRows(a); }},
      {&Scratch::act, [](const model::Architecture& a, const Size& s) { return s.rows * a.hidden_dim(); }},
      {&Scratch::row, [](const model::Architecture& a, const Size& s) { return s.threads * RowScratchFloats(a); }},
      {&Scratch::block, [](const model::Architecture& a, const Size& s) { return s.threads * BlockScratchFloats(a); }},
      {&Scratch::runs, [](const model::Architecture&, const Size& s) { return 8 * (s.rows + 1); }},
      {&Scratch::parts, [](const model::Architecture& a, const Size& s) { return s.rows * a.num_heads() * kMaxParts * (a.head_dim() + 2); }},
      {&Scratch::lookup, [](const model::Architecture&, const Size& s) { return (s.lookup_bytes + 3) / 4; }},
  };
};

// What the steps of one pass share.
struct Transformer::Pass {
  absl::Span<const BatchRow> rows;
  int64_t m;           // rows.size()
  int64_t logit_rows;  // rows that want logits
  Scratch s;
  core::Arena& arena;
  core::ThreadPool& pool;
  // Attention's runs: consecutive positions of one sequence, run r from row
  // runs[r].first_row, its tasks from runs[r].first_task, its partial
  // results from slot runs[r].first_slot (runs[num_runs] closes the last).
  // parts: 0 for a run attending in blocks of rows; else its rows attend
  // head by head, in that many parts of their positions.
  struct Run {
    int64_t first_row, first_task, parts, first_slot;
  };
  const Run* runs = nullptr;
  int64_t num_runs = 0;
};

absl::StatusOr<KvTypes> ParseKvTypes(absl::string_view keys, absl::string_view values) {
  KvTypes types;
  for (auto [name, flag, out] : {std::tuple(keys, "cache-type-k", &types.keys),
                                 std::tuple(values, "cache-type-v", &types.values)}) {
    absl::StatusOr<core::DType> dtype = core::DTypeFromName(name);
    if (!dtype.ok() || !kernels::IsAttentionType(*dtype)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--", flag, " '", name, "' is not a KV cache type; one of f32, f16, bf16, q8_0, q4_0"));
    }
    *out = *dtype;
  }
  return types;
}

absl::StatusOr<KvCache> KvCache::Create(const model::Architecture& arch, int64_t context,
                                        KvTypes types) {
  const int64_t most = arch.bidirectional() ? kMaxPackedPositions : arch.context_length();
  if (context <= 0 || context > most) {
    return absl::InvalidArgumentError(absl::StrCat(
        "KV cache context ", context, " must be in [1, ", most, "], the model's ",
        arch.bidirectional() ? "most packed positions" : "context length"));
  }
  KvCache cache;
  cache.context_ = context;
  cache.layers_ = arch.bidirectional() ? 1 : arch.num_layers();
  cache.types_ = types;
  const core::DType parts[2] = {types.keys, types.values};
  for (int kind = 0; kind < 2; ++kind) {
    const core::DType dtype = parts[kind];
    if (!kernels::IsAttentionType(dtype)) {
      return absl::InvalidArgumentError(
          absl::StrCat(core::DTypeName(dtype), " is not a KV cache type"));
    }
    if (arch.head_dim() % core::BlockElements(dtype) != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "KV cache type ", core::DTypeName(dtype), " stores blocks of ",
          core::BlockElements(dtype), " elements, which do not divide this model's head size ",
          arch.head_dim()));
    }
    SM_ASSIGN_OR_RETURN(cache.row_bytes_[kind],
                        core::BytesFor(dtype, static_cast<uint64_t>(KvDim(arch))));
  }
  SM_ASSIGN_OR_RETURN(cache.buffer_,
                      core::AlignedBuffer::Allocate(static_cast<size_t>(context) *
                                                    cache.PositionBytes()));
  return cache;
}

// A prefix is the first n positions of each of the 2 * layers parts.
void KvCache::SavePrefix(int64_t n, uint8_t* out) const {
  for (int64_t layer = 0; layer < layers_; ++layer) {
    for (int kind = 0; kind < 2; ++kind) {
      const size_t bytes = static_cast<size_t>(n) * row_bytes_[kind];
      std::memcpy(out, buffer_.data() + PartOffset(layer, kind), bytes);
      out += bytes;
    }
  }
}

void KvCache::LoadPrefix(const uint8_t* in, int64_t saved, int64_t n) {
  for (int64_t layer = 0; layer < layers_; ++layer) {
    for (int kind = 0; kind < 2; ++kind) {
      std::memcpy(buffer_.data() + PartOffset(layer, kind), in,
                  static_cast<size_t>(n) * row_bytes_[kind]);
      in += static_cast<size_t>(saved) * row_bytes_[kind];
    }
  }
}

void KvCache::CopyPrefixFrom(const KvCache& other, int64_t n) {
  for (int64_t layer = 0; layer < layers_; ++layer) {
    for (int kind = 0; kind < 2; ++kind) {
      std::memcpy(buffer_.data() + PartOffset(layer, kind),
                  other.buffer_.data() + other.PartOffset(layer, kind),
                  static_cast<size_t>(n) * row_bytes_[kind]);
    }
  }
}

size_t KvCache::Release(int64_t from) {
  if (from >= context_) return 0;
  size_t released = 0;
  for (int64_t layer = 0; layer < layers_; ++layer) {
    for (int kind = 0; kind < 2; ++kind) {
      released += buffer_.Discard(PartOffset(layer, kind) + from * row_bytes_[kind],
                                  static_cast<size_t>(context_ - from) * row_bytes_[kind]);
    }
  }
  return released;
}

absl::StatusOr<std::unique_ptr<backends::PreparedWeights>> Transformer::Prepare(
    const core::TensorView& weights) const {
  // What the backend has copied is no longer read from the file; a tied
  // embedding's rows come back from it as tokens look them up.
  return backend_.Prepare(weights, [this](const void* data, size_t bytes) {
    model_.data().Release(data, bytes);
  });
}

absl::StatusOr<std::unique_ptr<Transformer>> Transformer::Create(
    const model::Model& model, const backends::Backend& backend) {
  std::unique_ptr<Transformer> t(new Transformer(model, backend));
  // Prepare errors, naming the backend, on a dtype it does not support.
  for (const model::LayerTensors& lt : model.layers()) {
    PreparedLayer layer;
    for (const core::TensorView& part : lt.qkv.parts) {
      SM_ASSIGN_OR_RETURN(layer.qkv.emplace_back(), t->Prepare(part));
    }
    SM_ASSIGN_OR_RETURN(layer.attn_output, t->Prepare(lt.attn_output));
    for (const core::TensorView& part : lt.ffn_up.parts) {
      SM_ASSIGN_OR_RETURN(layer.ffn_up.emplace_back(), t->Prepare(part));
    }
    SM_ASSIGN_OR_RETURN(layer.ffn_down, t->Prepare(lt.ffn_down));
    t->layers_.push_back(std::move(layer));
  }
  if (!model.arch().bidirectional()) {
    SM_ASSIGN_OR_RETURN(t->output_, t->Prepare(model.output()));
  }
  if (model.arch().classifier_labels() > 0) {
    SM_ASSIGN_OR_RETURN(t->classifier_, t->Prepare(model.classifier()));
    SM_ASSIGN_OR_RETURN(t->classifier_output_, t->Prepare(model.classifier_output()));
  }
  const model::Architecture& arch = model.arch();
  if (arch.positions() == model::ROPE) {
    absl::Span<const float> factors;
    if (arch.rope_freq_factors()) {
      factors = absl::MakeConstSpan(model.rope_freqs().row_as<float>(0),
                                    model.rope_freqs().row_length());
    }
    SM_ASSIGN_OR_RETURN(t->rope_, kernels::RopeTable::Make(
                                      arch.rotary_dim(), arch.context_length(),
                                      arch.rope_base(), factors));
    if (arch.sliding_window() > 0) {
      SM_ASSIGN_OR_RETURN(t->rope_local_,
                          kernels::RopeTable::Make(arch.rotary_dim(), arch.context_length(),
                                                   arch.rope_local_base(), {}));
    }
  }
  return t;
}

size_t Transformer::ScratchBytes(int64_t max_rows, int threads) const {
  const Scratch::Size size{std::max<int64_t>(max_rows, 1), std::max(threads, 1), LookupBytes()};
  size_t bytes = 0;
  for (const Scratch::Buffer& b : Scratch::kBuffers) {
    bytes += ArenaFloats(b.floats(model_.arch(), size));
  }
  size_t matmul = 0;
  for (const auto* head : {&output_, &classifier_, &classifier_output_}) {
    if (*head) matmul = std::max(matmul, backend_.ScratchBytes(size.rows, **head));
  }
  for (const PreparedLayer& l : layers_) {
    for (const auto* w : {&l.attn_output, &l.ffn_down}) {
      matmul = std::max(matmul, backend_.ScratchBytes(size.rows, **w));
    }
    for (const auto* parts : {&l.qkv, &l.ffn_up}) {
      for (const auto& w : *parts) matmul = std::max(matmul, backend_.ScratchBytes(size.rows, *w));
    }
  }
  // The rows of the BatchRow table the one-sequence Forward builds.
  const size_t rows = (size.rows * sizeof(BatchRow) + core::kAlignment - 1) /
                      core::kAlignment * core::kAlignment;
  return bytes + matmul + rows;
}

int64_t Transformer::LookupBytes() const {
  return static_cast<int64_t>(std::max({model_.token_embedding().row_bytes(),
                                        model_.position_embedding().row_bytes(),
                                        model_.token_types().row_bytes()}));
}

// An embedding row is read from the file, not through its mapping: a
// lookup mapped the large folio around each row, and the rows a long
// generation touches then held most of the table in memory beside the
// packed head of a tied model (GPT-2).
void Transformer::LookUp(const Pass& pass, const core::TensorView& table, int64_t row,
                         float* out) const {
  model_.data().Copy(table.row(row), table.row_bytes(), pass.s.lookup);
  kernels::DecodeRow(table.dtype(), pass.s.lookup, out, table.row_length());
}

void Transformer::Embed(const Pass& pass) const {
  const model::Architecture& a = model_.arch();
  const int64_t dim = a.embedding_dim();
  SM_PROFILE_SCOPE(ProfileOp::kEmbedding, -1, 0, 4.0 * pass.m * dim);
  for (int64_t i = 0; i < pass.m; ++i) {
    float* x = pass.s.x + i * dim;
    LookUp(pass, model_.token_embedding(), pass.rows[i].token, x);
    if (a.embedding_scale() != 0) {
      for (int64_t j = 0; j < dim; ++j) x[j] *= a.embedding_scale();
    }
    float* row = pass.s.xn + i * dim;  // xn is free until the first norm
    if (a.positions() == model::LEARNED) {
      LookUp(pass, model_.position_embedding(), ModelPosition(pass.rows[i]), row);
      kernels::AddInPlace(row, x, dim);
    }
    if (a.token_types() > 0) {
      LookUp(pass, model_.token_types(), pass.rows[i].token_type, row);
      kernels::AddInPlace(row, x, dim);
    }
  }
  if (a.post_layer_norm()) {
    Norm(-1, pass, pass.s.x, model_.embedding_norm_weight(), model_.embedding_norm_bias(),
         pass.s.x);
  }
}

void Transformer::Norm(int layer, const Pass& pass, const float* in,
                       const core::TensorView& weight,
                       const core::TensorView& bias, float* out) const {
  const model::Architecture& a = model_.arch();
  const int64_t dim = a.embedding_dim();
  // The output norm runs on the rows that want output; the others on all.
  const int64_t rows = layer < 0 && !model_.arch().post_layer_norm() ? pass.logit_rows : pass.m;
  SM_PROFILE_SCOPE(ProfileOp::kNorm, layer, 0, 8.0 * rows * dim);
  const float* w = static_cast<const float*>(weight.data());
  for (int64_t i = 0; i < rows; ++i) {
    if (a.norm() == model::LAYER_NORM) {
      kernels::LayerNorm(in + i * dim, w, static_cast<const float*>(bias.data()),
                         a.norm_eps(), out + i * dim, dim);
    } else {
      kernels::RmsNorm(in + i * dim, w, a.norm_eps(), out + i * dim, dim);
    }
  }
}

absl::Status Transformer::MatMul(ProfileOp op, int layer, const Pass& pass,
                                 const float* in,
                                 const backends::PreparedWeights& weights,
                                 const core::TensorView& bias, float* out) const {
  const WeightPart part{&weights, bias};
  return MatMul(op, layer, pass, in, absl::MakeConstSpan(&part, 1), out);
}

absl::Status Transformer::MatMul(ProfileOp op, int layer, const Pass& pass,
                                 const float* in, absl::Span<const WeightPart> parts,
                                 float* out) const {
  const int64_t rows = op == ProfileOp::kMatMulLmHead ? pass.logit_rows : pass.m;
  const int64_t cols = parts[0].weights->cols();
  int64_t width = 0;  // Y's row: every part's outputs side by side
  double bytes = 0;
  for (const WeightPart& p : parts) {
    width += p.weights->rows();
    bytes += core::BytesFor(p.weights->dtype(), p.weights->rows() * cols).value_or(0);
  }
  SM_PROFILE_SCOPE(op, layer, 2.0 * rows * width * cols, bytes);
  return MultiplyParts(rows, in, parts, out, pass.pool, pass.arena);
}

absl::Status Transformer::MultiplyParts(int64_t rows, const float* in,
                                        absl::Span<const WeightPart> parts, float* out,
                                        core::ThreadPool& pool, core::Arena& arena) const {
  const int64_t cols = parts[0].weights->cols();
  int64_t width = 0;  // Y's row: every part's outputs side by side
  for (const WeightPart& p : parts) width += p.weights->rows();
  SM_ASSIGN_OR_RETURN(core::Shape x_shape, core::Shape::Make({rows, cols}));
  SM_ASSIGN_OR_RETURN(core::TensorView x, core::TensorView::Make(
                                              const_cast<float*>(in), core::DType::kF32, x_shape));
  int64_t offset = 0;
  for (const WeightPart& p : parts) {
    SM_ASSIGN_OR_RETURN(core::Shape y_shape, core::Shape::Make({rows, p.weights->rows()}));
    SM_ASSIGN_OR_RETURN(core::TensorView y,
                        core::TensorView::Make(out + offset, core::DType::kF32, y_shape,
                                               width * sizeof(float)));
    SM_RETURN_IF_ERROR(backend_.MatMul(x, *p.weights, static_cast<const float*>(p.bias.data()),
                                       y, pool, arena));
    offset += p.weights->rows();
  }
  return absl::OkStatus();
}

Transformer::WeightParts Transformer::Parts(
    const std::vector<std::unique_ptr<backends::PreparedWeights>>& prepared,
    const model::Projection& projection) {
  WeightParts parts;
  for (size_t i = 0; i < prepared.size(); ++i) parts.push_back({prepared[i].get(), projection.biases[i]});
  return parts;
}

void Transformer::QkNorm(int layer, const Pass& pass, const model::LayerTensors& weights,
                         float* qkv) const {
  const model::Architecture& a = model_.arch();
  const int64_t hd = a.head_dim();
  SM_PROFILE_SCOPE(ProfileOp::kNorm, layer, 0, 8.0 * pass.m * (QDim(a) + KvDim(a)));
  const float* q_weight = weights.q_norm_weight.row_as<float>(0);
  const float* k_weight = weights.k_norm_weight.row_as<float>(0);
  for (int64_t i = 0; i < pass.m; ++i) {
    float* q = qkv + i * QkvDim(a);
    for (int64_t h = 0; h < a.num_heads(); ++h) {
      kernels::RmsNorm(q + h * hd, q_weight, a.norm_eps(), q + h * hd, hd);
    }
    float* k = q + QDim(a);
    for (int64_t h = 0; h < a.num_kv_heads(); ++h) {
      kernels::RmsNorm(k + h * hd, k_weight, a.norm_eps(), k + h * hd, hd);
    }
  }
}

void Transformer::Rope(int layer, const Pass& pass, float* qkv) const {
  if (!rope_.has_value()) return;
  const model::Architecture& a = model_.arch();
  SM_PROFILE_SCOPE(ProfileOp::kRope, layer, 0, 8.0 * pass.m * (QDim(a) + KvDim(a)));
  auto* const rotate = a.rope_style() == model::PAIRWISE ? kernels::RopePairwise
                                                  : kernels::RopeRotateHalf;
  const kernels::RopeTable& table = IsLocalLayer(a, layer) ? *rope_local_ : *rope_;
  for (int64_t i = 0; i < pass.m; ++i) {
    float* q = qkv + i * QkvDim(a);
    const int64_t position = ModelPosition(pass.rows[i]);
    rotate(q, a.num_heads(), a.head_dim(), table, position);
    rotate(q + QDim(a), a.num_kv_heads(), a.head_dim(), table, position);
  }
}

void Transformer::WriteKv(int layer, const Pass& pass, const float* qkv) const {
  const model::Architecture& a = model_.arch();
  const int64_t kv_dim = KvDim(a);
  SM_PROFILE_SCOPE(ProfileOp::kKvWrite, layer, 0, 16.0 * pass.m * kv_dim);
  for (int64_t i = 0; i < pass.m; ++i) {
    const float* k = qkv + i * QkvDim(a) + QDim(a);
    const BatchRow& row = pass.rows[i];
    const KvTypes types = row.cache->types();
    kernels::EncodeRow(types.keys, k, row.cache->keys(layer, row.position), kv_dim);
    kernels::EncodeRow(types.values, k + kv_dim, row.cache->values(layer, row.position), kv_dim);
  }
}

// A long run (a prompt) attends in blocks of rows, the query heads of one kv
// head together, so each tile of keys and values is read once per block; a
// short one (a decode step) a row at a time, all its heads in one pass over
// the cache rows, over a long context in parts across the threads.
void Transformer::PlanAttention(Pass& pass) const {
  const model::Architecture& a = model_.arch();
  auto* runs = reinterpret_cast<Pass::Run*>(pass.s.runs);
  int64_t n = 0;
  for (int64_t i = 0; i < pass.m; ++i) {
    const BatchRow& row = pass.rows[i];
    if (i > 0 && pass.rows[i - 1].cache == row.cache && pass.rows[i - 1].start == row.start &&
        pass.rows[i - 1].position + 1 == row.position) {
      continue;
    }
    runs[n++].first_row = i;
  }
  runs[n].first_row = pass.m;
  int64_t tasks = 0, slots = 0;
  for (int64_t r = 0; r < n; ++r) {
    Pass::Run& run = runs[r];
    run.first_task = tasks;
    run.first_slot = slots;
    const int64_t rows = runs[r + 1].first_row - run.first_row;
    const BatchRow& last = pass.rows[runs[r + 1].first_row - 1];
    const int64_t keys = last.position + 1 - last.start;
    if (rows >= kMinBlockRows) {
      run.parts = 0;
      tasks += a.num_kv_heads() * ((rows + BlockRows(a) - 1) / BlockRows(a));
    } else {
      run.parts = pass.pool.num_threads() > 1
                      ? std::clamp(keys / kSplitKeys, int64_t{1}, kMaxParts)
                      : 1;
      tasks += rows * run.parts;
      if (run.parts > 1) slots += rows * a.num_heads() * run.parts;
    }
  }
  runs[n].first_task = tasks;
  runs[n].first_slot = slots;
  pass.runs = runs;
  pass.num_runs = n;
}

void Transformer::Attention(int layer, const Pass& pass, const float* qkv,
                            float* out) const {
  const model::Architecture& a = model_.arch();
  const int64_t head_dim = a.head_dim();
  const int64_t heads = a.num_heads();
  const int64_t group = heads / a.num_kv_heads();  // query heads per kv head
  const float scale = a.attention_scale() != 0
                          ? a.attention_scale()
                          : 1.0f / std::sqrt(static_cast<float>(head_dim));
  // A row attends to positions [first(row), end) of its cache: end is
  // row.position + 1, or in an encoder its run's (its sequence's) end.
  const int64_t window = IsLocalLayer(a, layer) ? a.sliding_window() : 0;
  const bool bidirectional = a.bidirectional();
  auto first = [window](const BatchRow& row) {
    return window > 0 ? std::max<int64_t>(row.start, row.position + 1 - window) : row.start;
  };
  const Pass::Run* runs = pass.runs;
  int64_t positions = 0;  // keys attended to, over all rows
  for (int64_t r = 0; r < pass.num_runs; ++r) {
    const int64_t begin = runs[r].first_row, end = runs[r + 1].first_row;
    for (int64_t i = begin; i < end; ++i) {
      const BatchRow& row = pass.rows[i];
      positions += (bidirectional ? pass.rows[end - 1].position : row.position) + 1 - first(row);
    }
  }
  // q·k and p·v over every attended position: 4 flops per head element;
  // keys and values read once per kv head.
  SM_PROFILE_SCOPE(ProfileOp::kAttention, layer, 4.0 * heads * head_dim * positions,
                   8.0 * KvDim(a) * positions);
  const int64_t kv_heads = a.num_kv_heads();
  const int64_t block_rows = BlockRows(a);
  // Where row i's head `head`, part `part` goes: its sums [head_dim], then
  // its max score and its sum of weights.
  const int64_t slot_floats = head_dim + 2;
  auto part_slot = [&](const Pass::Run& run, int64_t i, int64_t head, int64_t part) {
    return pass.s.parts +
           (run.first_slot + ((i - run.first_row) * heads + head) * run.parts + part) *
               slot_floats;
  };
  auto task = [&](uint64_t t, int thread) {
    const Pass::Run* run =
        std::upper_bound(runs, runs + pass.num_runs, static_cast<int64_t>(t),
                         [](int64_t task, const Pass::Run& r) { return task < r.first_task; }) -
        1;
    const int64_t run_rows = run[1].first_row - run->first_row;
    const int64_t local = static_cast<int64_t>(t) - run->first_task;
    const BatchRow& head_row = pass.rows[run->first_row];
    KvCache& cache = *head_row.cache;
    const int64_t start = head_row.start;
    const int64_t run_end = pass.rows[run[1].first_row - 1].position + 1;
    const KvTypes types = cache.types();
    // Heads are whole blocks, so a kv head's bytes start at its index times
    // its size.
    const size_t key_head = cache.key_row_bytes() / kv_heads;
    const size_t value_head = cache.value_row_bytes() / kv_heads;
    if (run_rows >= kMinBlockRows) {
      const int64_t kv_head = local % kv_heads;
      const int64_t r0 = local / kv_heads * block_rows;
      const int64_t i = run->first_row + r0;
      const kernels::QueryBlock block{
          qkv + i * QkvDim(a) + kv_head * group * head_dim,
          out + i * QDim(a) + kv_head * group * head_dim,
          static_cast<size_t>(QkvDim(a)),
          static_cast<size_t>(QDim(a)),
          static_cast<size_t>(std::min(block_rows, run_rows - r0)),
          static_cast<size_t>(group),
          ModelPosition(pass.rows[i]),
          bidirectional ? run_end - start : 0};
      kernels::AttendBlock(
          block,
          {cache.keys(layer, start) + key_head * kv_head, types.keys, cache.key_row_bytes()},
          {cache.values(layer, start) + value_head * kv_head, types.values,
           cache.value_row_bytes()},
          head_dim, scale, window, pass.s.block + thread * BlockScratchFloats(a));
      return;
    }
    const int64_t parts = run->parts;
    const int64_t i = run->first_row + local / parts;
    const BatchRow& row = pass.rows[i];
    const int64_t part = local % parts;
    // Positions [begin, end): the row's, or one part of them.
    const int64_t from = first(row), keys = (bidirectional ? run_end : row.position + 1) - from;
    const int64_t begin = from + keys * part / parts, end = from + keys * (part + 1) / parts;
    const kernels::StoredRows key_rows{cache.keys(layer, begin), types.keys,
                                       cache.key_row_bytes()};
    const kernels::StoredRows value_rows{cache.values(layer, begin), types.values,
                                         cache.value_row_bytes()};
    const float* q = qkv + i * QkvDim(a);
    float* scratch = pass.s.row + thread * RowScratchFloats(a);
    if (parts == 1) {
      kernels::AttendRow(q, heads, kv_heads, key_rows, value_rows, end - begin, head_dim, scale,
                         scratch, out + i * QDim(a), head_dim, false);
    } else {
      // Head h's part at its slot: a head's parts are side by side.
      kernels::AttendRow(q, heads, kv_heads, key_rows, value_rows, end - begin, head_dim, scale,
                         scratch, part_slot(*run, i, 0, part), parts * slot_floats, true);
    }
  };
  const int64_t tasks = runs[pass.num_runs].first_task;
  if (pass.pool.num_threads() > 1 && positions * heads * head_dim >= kParallelAttentionWork) {
    pass.pool.ParallelFor(tasks, task);
  } else {
    for (int64_t t = 0; t < tasks; ++t) task(t, 0);
  }
  // Decode rows attended in parts: each head's parts merged.
  for (int64_t r = 0; r < pass.num_runs; ++r) {
    const Pass::Run& run = runs[r];
    if (runs[r + 1].first_slot == run.first_slot) continue;  // not in parts
    for (int64_t i = run.first_row; i < runs[r + 1].first_row; ++i) {
      for (int64_t head = 0; head < heads; ++head) {
        const float* slot = part_slot(run, i, head, 0);
        kernels::MergeParts(slot, slot + head_dim, slot + head_dim + 1,
                            static_cast<size_t>(slot_floats), static_cast<size_t>(run.parts),
                            static_cast<size_t>(head_dim), out + i * QDim(a) + head * head_dim);
      }
    }
  }
}

void Transformer::Activation(int layer, const Pass& pass, const float* up,
                             float* out) const {
  const model::Architecture& a = model_.arch();
  const int64_t hidden = a.hidden_dim();
  SM_PROFILE_SCOPE(ProfileOp::kActivation, layer, 0,
                   4.0 * pass.m * (FfnRows(a) + hidden));
  if (a.mlp() == model::GELU || a.mlp() == model::GELU_ERF) {
    (a.mlp() == model::GELU ? kernels::GeluTanh : kernels::GeluErf)(up, out, pass.m * hidden);
    return;
  }
  auto* const gated = a.mlp() == model::SWIGLU ? kernels::SwiGlu : kernels::GeGlu;
  for (int64_t i = 0; i < pass.m; ++i) {
    const float* gate = up + i * 2 * hidden;
    gated(gate, gate + hidden, out + i * hidden, hidden);
  }
}

void Transformer::Residual(int layer, const Pass& pass, const float* delta,
                           float* x) const {
  const int64_t n = pass.m * model_.arch().embedding_dim();
  SM_PROFILE_SCOPE(ProfileOp::kResidual, layer, 0, 12.0 * n);
  kernels::AddInPlace(delta, x, n);
}

absl::Status Transformer::Head(const Pass& pass, bool logits, float* out) const {
  // The head runs only on the rows that want output: gathered, in order,
  // to the front of the residual stream, through the output norm (post-LN
  // models have none: their layers end normalised).
  const model::Architecture& a = model_.arch();
  const int64_t dim = a.embedding_dim();
  int64_t j = 0;
  for (int64_t i = 0; i < pass.m; ++i) {
    if (!pass.rows[i].output) continue;
    if (j != i) std::memcpy(pass.s.x + j * dim, pass.s.x + i * dim, dim * sizeof(float));
    ++j;
  }
  float* hidden = logits ? pass.s.xn : out;
  if (a.post_layer_norm()) {
    std::memcpy(hidden, pass.s.x, pass.logit_rows * dim * sizeof(float));
  } else {
    Norm(-1, pass, pass.s.x, model_.output_norm_weight(), model_.output_norm_bias(), hidden);
  }
  if (!logits) return absl::OkStatus();
  return MatMul(ProfileOp::kMatMulLmHead, -1, pass, pass.s.xn, *output_, core::TensorView(),
                out);
}

absl::Status Transformer::Forward(absl::Span<const BatchRow> rows,
                                  core::Arena& arena, core::ThreadPool& pool,
                                  float* logits) const {
  if (output_ == nullptr) {
    return absl::FailedPreconditionError(
        "this model is an encoder: it has no LM head, only hidden states (embeddings)");
  }
  return Run(rows, arena, pool, true, logits);
}

absl::Status Transformer::Hidden(absl::Span<const BatchRow> rows, core::Arena& arena,
                                 core::ThreadPool& pool, float* hidden) const {
  return Run(rows, arena, pool, false, hidden);
}

absl::Status Transformer::Classify(const float* pooled, int64_t n, core::Arena& arena,
                                   core::ThreadPool& pool, float* scores) const {
  if (classifier_ == nullptr) {
    return absl::FailedPreconditionError("this model has no classifier head");
  }
  const int64_t dim = model_.arch().embedding_dim();
  const size_t mark = arena.used();
  absl::Cleanup rewind = [&arena, mark] { arena.Rewind(mark); };
  SM_ASSIGN_OR_RETURN(float* dense, arena.AllocateArray<float>(n * dim));
  const WeightPart dense_part{classifier_.get(), model_.classifier_bias()};
  SM_RETURN_IF_ERROR(MultiplyParts(n, pooled, absl::MakeConstSpan(&dense_part, 1), dense, pool,
                                   arena));
  for (int64_t i = 0; i < n * dim; ++i) dense[i] = std::tanh(dense[i]);
  const WeightPart output_part{classifier_output_.get(), model_.classifier_output_bias()};
  return MultiplyParts(n, dense, absl::MakeConstSpan(&output_part, 1), scores, pool, arena);
}

absl::Status Transformer::Run(absl::Span<const BatchRow> rows, core::Arena& arena,
                              core::ThreadPool& pool, bool logits, float* out) const {
  const model::Architecture& a = model_.arch();
  if (rows.empty()) return absl::InvalidArgumentError("forward of an empty batch");
  int64_t logit_rows = 0;
  const BatchRow* previous = nullptr;
  for (const BatchRow& row : rows) {
    if (row.token < 0 || row.token >= a.vocab_size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "token id ", row.token, " is outside the vocabulary [0, ",
          a.vocab_size(), ")"));
    }
    if (row.cache == nullptr) return absl::InvalidArgumentError("a row has no KV cache");
    if (row.position < 0 || row.position >= row.cache->context()) {
      return absl::OutOfRangeError(absl::StrCat(
          "position ", row.position, " does not fit the context of ",
          row.cache->context(), " tokens"));
    }
    if (row.start < 0 || row.start > row.position ||
        ModelPosition(row) >= a.context_length()) {
      return absl::OutOfRangeError(absl::StrCat(
          "a sequence from position ", row.start, " reaches position ", row.position,
          ", past the model's context of ", a.context_length(), " tokens"));
    }
    if (row.token_type < 0 || row.token_type >= std::max<int64_t>(1, a.token_types())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "token type ", row.token_type, " is outside the model's ",
          std::max<uint32_t>(1, a.token_types()), " segment types"));
    }
    // An encoder's rows attend to their whole sequence: it must start in
    // this pass and continue row by row.
    const bool continues = previous != nullptr && previous->cache == row.cache &&
                           previous->start == row.start && previous->position + 1 == row.position;
    if (a.bidirectional() && row.position != row.start && !continues) {
      return absl::InvalidArgumentError(
          "an encoder's sequence must be whole in one pass, from its start");
    }
    previous = &row;
    logit_rows += row.output;
  }

  const size_t mark = arena.used();
  absl::Cleanup rewind = [&arena, mark] { arena.Rewind(mark); };
  Pass pass{rows, static_cast<int64_t>(rows.size()), logit_rows, {}, arena, pool};
  const Scratch::Size size{pass.m, pool.num_threads(), LookupBytes()};
  for (const Scratch::Buffer& b : Scratch::kBuffers) {
    SM_ASSIGN_OR_RETURN(pass.s.*b.field, arena.AllocateArray<float>(b.floats(a, size)));
  }
  PlanAttention(pass);

  Embed(pass);
  Scratch& s = pass.s;
  for (int l = 0; l < a.num_layers(); ++l) {
    const model::LayerTensors& weights = model_.layers()[l];
    const PreparedLayer& prepared = layers_[l];
    // Attention: x += [post_norm](out(attend(rope([qk_norm](qkv(norm(x))))))),
    // or post-LN, x = norm(x + out(attend(rope(qkv(x))))).
    const bool post_ln = a.post_layer_norm();
    if (!post_ln) Norm(l, pass, s.x, weights.attn_norm_weight, weights.attn_norm_bias, s.xn);
    SM_RETURN_IF_ERROR(MatMul(ProfileOp::kMatMulQkv, l, pass, post_ln ? s.x : s.xn,
                              Parts(prepared.qkv, weights.qkv), s.qkv));
    if (a.qk_norm()) QkNorm(l, pass, weights, s.qkv);
    Rope(l, pass, s.qkv);
    WriteKv(l, pass, s.qkv);
    Attention(l, pass, s.qkv, s.attn);
    SM_RETURN_IF_ERROR(MatMul(ProfileOp::kMatMulAttnOut, l, pass, s.attn,
                              *prepared.attn_output, weights.attn_output_bias, s.xn));
    if (a.post_norms()) {
      Norm(l, pass, s.xn, weights.attn_post_norm_weight, weights.attn_post_norm_bias, s.xn);
    }
    Residual(l, pass, s.xn, s.x);
    if (post_ln) Norm(l, pass, s.x, weights.attn_norm_weight, weights.attn_norm_bias, s.x);
    // MLP: x += [post_norm](down(act(up(norm(x))))), or x = norm(x + mlp(x)).
    if (!post_ln) Norm(l, pass, s.x, weights.ffn_norm_weight, weights.ffn_norm_bias, s.xn);
    SM_RETURN_IF_ERROR(MatMul(ProfileOp::kMatMulFfnUp, l, pass, post_ln ? s.x : s.xn,
                              Parts(prepared.ffn_up, weights.ffn_up), s.up));
    Activation(l, pass, s.up, s.act);
    SM_RETURN_IF_ERROR(MatMul(ProfileOp::kMatMulFfnDown, l, pass, s.act,
                              *prepared.ffn_down, weights.ffn_down_bias, s.xn));
    if (a.post_norms()) {
      Norm(l, pass, s.xn, weights.ffn_post_norm_weight, weights.ffn_post_norm_bias, s.xn);
    }
    Residual(l, pass, s.xn, s.x);
    if (post_ln) Norm(l, pass, s.x, weights.ffn_norm_weight, weights.ffn_norm_bias, s.x);
  }
  return logit_rows > 0 ? Head(pass, logits, out) : absl::OkStatus();
}

absl::Status Transformer::Forward(absl::Span<const int32_t> tokens, int64_t pos,
                                  KvCache& cache, core::Arena& arena,
                                  core::ThreadPool& pool, float* logits,
                                  bool all_logits) const {
  const int64_t m = static_cast<int64_t>(tokens.size());
  if (m == 0) return absl::InvalidArgumentError("forward of an empty batch");
  if (pos < 0 || pos + m > cache.context()) {
    return absl::OutOfRangeError(absl::StrCat(
        "positions [", pos, ", ", pos + m, ") do not fit the context of ",
        cache.context(), " tokens"));
  }
  const size_t mark = arena.used();
  absl::Cleanup rewind = [&arena, mark] { arena.Rewind(mark); };
  SM_ASSIGN_OR_RETURN(BatchRow * rows, arena.AllocateArray<BatchRow>(m));
  for (int64_t i = 0; i < m; ++i) {
    rows[i] = {tokens[i], pos + i, &cache, all_logits || i == m - 1};
  }
  return Forward(absl::MakeConstSpan(rows, m), arena, pool, logits);
}

}  // namespace smallmind::runtime
