#include "training/gpt.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "kernels/elementwise.h"
#include "model/model_file.h"
#include "model/tensor_codec.h"
#include "training/ops.h"

namespace smallmind::training {
namespace {

std::string Layer(int l, const char* rest) { return absl::StrCat("blk.", l, ".", rest); }

// The most elements any transposed matmul operand has: rows × the widest
// output, or the largest weight.
size_t LargestOperand(const model::Architecture& a, int64_t rows) {
  const int64_t widest = std::max<int64_t>(
      {a.vocab_size(), 3 * int64_t{a.embedding_dim()}, a.hidden_dim()});
  const int64_t deepest = std::max<int64_t>(a.embedding_dim(), a.hidden_dim());
  return static_cast<size_t>(std::max(rows * widest, widest * deepest));
}

}  // namespace

Gpt::Gpt(const model::Architecture& arch, const backends::Backend& backend,
         core::ThreadPool& pool, int64_t batch, int64_t seq)
    : arch_(arch),
      pool_(pool),
      batch_(batch),
      seq_(seq),
      linear_(backend, pool, LargestOperand(arch, batch * seq)) {}

absl::StatusOr<std::unique_ptr<Gpt>> Gpt::Create(
    const model::Architecture& arch, const backends::Backend& backend,
    core::ThreadPool& pool, int64_t batch, int64_t seq) {
  SM_RETURN_IF_ERROR(model::ValidateArchitecture(arch));
  if (arch.norm() != model::LAYER_NORM || arch.positions() != model::LEARNED ||
      arch.mlp() != model::GELU || !arch.biases() ||
      arch.num_kv_heads() != arch.num_heads() ||
      arch.num_heads() * arch.head_dim() != arch.embedding_dim()) {
    return absl::UnimplementedError(
        "training supports GPT-2-style models: LayerNorm, learned positions, "
        "GELU, biases, as many kv heads as heads");
  }
  if (batch < 1 || seq < 1 || seq > arch.context_length()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "batch ", batch, " and sequence length ", seq, " must be >= 1, the "
        "sequence at most the context (", arch.context_length(), ")"));
  }
  if (!backend.Supports(core::DType::kF32)) {
    return absl::InvalidArgumentError("the backend cannot multiply F32 weights");
  }
  std::unique_ptr<Gpt> g(new Gpt(arch, backend, pool, batch, seq));
  size_t offset = 0;
  for (const model::TensorSpec& spec : model::ExpectedTensors(arch)) {
    ParamTensor t;
    t.name = spec.name;
    t.shape = spec.shape;
    t.offset = offset;
    t.size = 1;
    for (int64_t d : spec.shape) t.size *= d;
    // Decay the matmul weights, not embeddings, norms or biases.
    t.decay = spec.is_matrix && spec.name != "token_embd.weight";
    offset += t.size;
    g->tensors_.push_back(std::move(t));
  }
  for (const ParamTensor& t : g->tensors_) g->index_[t.name] = &t;
  g->params_.assign(offset, 0.0f);
  g->grads_.assign(offset, 0.0f);

  const int64_t rows = batch * seq, dim = arch.embedding_dim(), hidden = arch.hidden_dim();
  const int64_t heads = arch.num_heads();
  g->acts_.resize(arch.num_layers());
  for (LayerActivations& a : g->acts_) {
    for (auto* v : {&a.x_in, &a.ln1, &a.attn, &a.x_mid, &a.ln2}) v->resize(rows * dim);
    for (auto* v : {&a.ln1_mean, &a.ln1_rstd, &a.ln2_mean, &a.ln2_rstd}) v->resize(rows);
    a.qkv.resize(rows * 3 * dim);
    a.probs.resize(batch * heads * seq * seq);
    a.h.resize(rows * hidden);
    a.gelu.resize(rows * hidden);
  }
  g->x_final_.resize(rows * dim);
  g->lnf_.resize(rows * dim);
  g->lnf_mean_.resize(rows);
  g->lnf_rstd_.resize(rows);
  g->logits_.resize(rows * arch.vocab_size());
  g->dx_.resize(rows * dim);
  g->d_dim_.resize(rows * dim);
  g->d_hidden_.resize(rows * std::max<int64_t>(hidden, dim));
  g->d_qkv_.resize(rows * 3 * dim);
  g->attn_scratch_.resize(pool.num_threads() * seq);
  return g;
}

void Gpt::InitRandom(uint64_t seed) {
  std::mt19937_64 rng(seed);
  const float residual_scale = 1.0f / std::sqrt(2.0f * arch_.num_layers());
  for (const ParamTensor& t : tensors_) {
    float* p = params_.data() + t.offset;
    if (absl::StrContains(t.name, "norm.weight")) {
      std::fill(p, p + t.size, 1.0f);
    } else if (absl::EndsWith(t.name, ".bias")) {
      std::fill(p, p + t.size, 0.0f);
    } else {
      const bool residual = absl::StrContains(t.name, "attn_output.weight") ||
                            absl::StrContains(t.name, "ffn_down.weight");
      std::normal_distribution<float> normal(0.0f, residual ? 0.02f * residual_scale : 0.02f);
      for (size_t i = 0; i < t.size; ++i) p[i] = normal(rng);
    }
  }
}

absl::Status Gpt::LoadWeights(const model::Model& model) {
  for (const ParamTensor& t : tensors_) {
    SM_ASSIGN_OR_RETURN(core::TensorView view, model.data().View(t.name));
    const std::vector<float> values = model::DecodeAll(view);
    if (values.size() != t.size) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor '", t.name, "' has ", values.size(), " values, expected ", t.size));
    }
    std::copy(values.begin(), values.end(), params_.begin() + t.offset);
  }
  return absl::OkStatus();
}

absl::StatusOr<double> Gpt::Step(absl::Span<const int32_t> tokens,
                                 absl::Span<const int32_t> targets,
                                 bool backward) {
  const int64_t rows = batch_ * seq_, dim = arch_.embedding_dim();
  const int64_t hidden = arch_.hidden_dim(), vocab = arch_.vocab_size();
  const float eps = arch_.norm_eps();
  if (static_cast<int64_t>(tokens.size()) != rows ||
      static_cast<int64_t>(targets.size()) != rows) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected ", rows, " tokens and targets (batch ", batch_, " x seq ",
        seq_, ")"));
  }
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] < 0 || tokens[i] >= vocab || targets[i] < 0 || targets[i] >= vocab) {
      return absl::InvalidArgumentError(absl::StrCat("token id outside [0, ", vocab, ")"));
    }
  }
  // Embeddings: token row plus position row.
  float* x = acts_.empty() ? x_final_.data() : acts_[0].x_in.data();
  const float* wte = P("token_embd.weight");
  const float* wpe = P("position_embd.weight");
  for (int64_t r = 0; r < rows; ++r) {
    kernels::Add(wte + tokens[r] * dim, wpe + (r % seq_) * dim, x + r * dim, dim);
  }
  for (int l = 0; l < arch_.num_layers(); ++l) {
    LayerActivations& a = acts_[l];
    LayerNormForward(a.x_in.data(), P(Layer(l, "attn_norm.weight")),
                     P(Layer(l, "attn_norm.bias")), eps, rows, dim, a.ln1.data(),
                     a.ln1_mean.data(), a.ln1_rstd.data());
    SM_RETURN_IF_ERROR(linear_.Forward(a.ln1.data(), rows, dim,
                                       P(Layer(l, "attn_qkv.weight")), 3 * dim,
                                       P(Layer(l, "attn_qkv.bias")), a.qkv.data()));
    AttentionForward(a.qkv.data(), batch_, seq_, arch_.num_heads(), arch_.head_dim(),
                     a.probs.data(), a.attn.data(), pool_);
    SM_RETURN_IF_ERROR(linear_.Forward(a.attn.data(), rows, dim,
                                       P(Layer(l, "attn_output.weight")), dim,
                                       P(Layer(l, "attn_output.bias")), a.x_mid.data()));
    kernels::AddInPlace(a.x_in.data(), a.x_mid.data(), rows * dim);
    LayerNormForward(a.x_mid.data(), P(Layer(l, "ffn_norm.weight")),
                     P(Layer(l, "ffn_norm.bias")), eps, rows, dim, a.ln2.data(),
                     a.ln2_mean.data(), a.ln2_rstd.data());
    SM_RETURN_IF_ERROR(linear_.Forward(a.ln2.data(), rows, dim,
                                       P(Layer(l, "ffn_up.weight")), hidden,
                                       P(Layer(l, "ffn_up.bias")), a.h.data()));
    GeluForward(a.h.data(), a.gelu.data(), rows * hidden);
    float* out = l + 1 < arch_.num_layers() ? acts_[l + 1].x_in.data() : x_final_.data();
    SM_RETURN_IF_ERROR(linear_.Forward(a.gelu.data(), rows, hidden,
                                       P(Layer(l, "ffn_down.weight")), dim,
                                       P(Layer(l, "ffn_down.bias")), out));
    kernels::AddInPlace(a.x_mid.data(), out, rows * dim);
  }
  LayerNormForward(x_final_.data(), P("output_norm.weight"), P("output_norm.bias"),
                   eps, rows, dim, lnf_.data(), lnf_mean_.data(), lnf_rstd_.data());
  const std::string head = arch_.tied_output() ? "token_embd.weight" : "output.weight";
  SM_RETURN_IF_ERROR(linear_.Forward(lnf_.data(), rows, dim, P(head), vocab,
                                     nullptr, logits_.data()));
  const double loss =
      CrossEntropyForwardBackward(logits_.data(), targets.data(), rows, vocab, pool_);
  if (backward) SM_RETURN_IF_ERROR(Backward(tokens));
  return loss;
}

absl::Status Gpt::Backward(absl::Span<const int32_t> tokens) {
  const int64_t rows = batch_ * seq_, dim = arch_.embedding_dim();
  const int64_t hidden = arch_.hidden_dim(), vocab = arch_.vocab_size();
  std::fill(grads_.begin(), grads_.end(), 0.0f);
  // logits_ now holds dloss/dlogits.
  const std::string head = arch_.tied_output() ? "token_embd.weight" : "output.weight";
  SM_RETURN_IF_ERROR(linear_.Backward(logits_.data(), lnf_.data(), rows, dim, P(head),
                                      vocab, d_dim_.data(), G(head), nullptr));
  std::fill(dx_.begin(), dx_.end(), 0.0f);
  LayerNormBackward(d_dim_.data(), x_final_.data(), P("output_norm.weight"),
                    lnf_mean_.data(), lnf_rstd_.data(), rows, dim, dx_.data(),
                    G("output_norm.weight"), G("output_norm.bias"));
  for (int l = arch_.num_layers() - 1; l >= 0; --l) {
    LayerActivations& a = acts_[l];
    // x_out = x_mid + down(gelu(up(ln2(x_mid)))): dx flows to x_mid as is.
    SM_RETURN_IF_ERROR(linear_.Backward(dx_.data(), a.gelu.data(), rows, hidden,
                                        P(Layer(l, "ffn_down.weight")), dim,
                                        d_hidden_.data(), G(Layer(l, "ffn_down.weight")),
                                        G(Layer(l, "ffn_down.bias"))));
    GeluBackward(d_hidden_.data(), a.h.data(), a.gelu.data(), d_hidden_.data(),
                 rows * hidden, pool_);
    SM_RETURN_IF_ERROR(linear_.Backward(d_hidden_.data(), a.ln2.data(), rows, dim,
                                        P(Layer(l, "ffn_up.weight")), hidden,
                                        d_dim_.data(), G(Layer(l, "ffn_up.weight")),
                                        G(Layer(l, "ffn_up.bias"))));
    LayerNormBackward(d_dim_.data(), a.x_mid.data(), P(Layer(l, "ffn_norm.weight")),
                      a.ln2_mean.data(), a.ln2_rstd.data(), rows, dim, dx_.data(),
                      G(Layer(l, "ffn_norm.weight")), G(Layer(l, "ffn_norm.bias")));
    // x_mid = x_in + proj(attention(qkv(ln1(x_in)))).
    SM_RETURN_IF_ERROR(linear_.Backward(dx_.data(), a.attn.data(), rows, dim,
                                        P(Layer(l, "attn_output.weight")), dim,
                                        d_dim_.data(), G(Layer(l, "attn_output.weight")),
                                        G(Layer(l, "attn_output.bias"))));
    AttentionBackward(d_dim_.data(), a.qkv.data(), a.probs.data(), batch_, seq_,
                      arch_.num_heads(), arch_.head_dim(), d_qkv_.data(),
                      attn_scratch_.data(), pool_);
    SM_RETURN_IF_ERROR(linear_.Backward(d_qkv_.data(), a.ln1.data(), rows, dim,
                                        P(Layer(l, "attn_qkv.weight")), 3 * dim,
                                        d_dim_.data(), G(Layer(l, "attn_qkv.weight")),
                                        G(Layer(l, "attn_qkv.bias"))));
    LayerNormBackward(d_dim_.data(), a.x_in.data(), P(Layer(l, "attn_norm.weight")),
                      a.ln1_mean.data(), a.ln1_rstd.data(), rows, dim, dx_.data(),
                      G(Layer(l, "attn_norm.weight")), G(Layer(l, "attn_norm.bias")));
  }
  float* dwte = G("token_embd.weight");
  float* dwpe = G("position_embd.weight");
  for (int64_t r = 0; r < rows; ++r) {
    kernels::AddInPlace(dx_.data() + r * dim, dwte + tokens[r] * dim, dim);
    kernels::AddInPlace(dx_.data() + r * dim, dwpe + (r % seq_) * dim, dim);
  }
  return absl::OkStatus();
}

absl::Status Gpt::Save(const std::string& path, const model::TokenizerSpec& tokenizer,
                       const std::map<std::string, std::string>& metadata) const {
  model::ModelDescription d;
  *d.mutable_architecture() = arch_;
  *d.mutable_tokenizer() = tokenizer;
  d.mutable_provenance()->set_source_format("smallmind train");
  for (const auto& [k, v] : metadata) (*d.mutable_metadata())[k] = v;
  std::vector<model::TensorSource> sources;
  for (const ParamTensor& t : tensors_) {
    sources.push_back({t.name, core::DType::kF32, t.shape,
                       {reinterpret_cast<const uint8_t*>(params_.data() + t.offset),
                        t.size * sizeof(float)}});
  }
  // Write beside the target and rename, so a crash never leaves half a
  // checkpoint where a good one was.
  const std::string temp = path + ".tmp";
  SM_RETURN_IF_ERROR(model::WriteModelFile(temp, d, sources));
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot rename ", temp, " to ", path));
  }
  return absl::OkStatus();
}

}  // namespace smallmind::training
