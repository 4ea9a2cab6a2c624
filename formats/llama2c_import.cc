#include "formats/llama2c_import.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "core/status.h"

namespace smallmind::formats {
namespace {

struct Header {
  int32_t dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len;
};

}  // namespace

absl::StatusOr<model::TokenizerSpec> ParseLlama2cTokenizer(
    absl::Span<const uint8_t> b, int64_t vocab) {
  size_t pos = 0;
  auto read = [&](void* out, size_t n) -> absl::Status {
    if (n > b.size() - pos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tokenizer: truncated at byte ", pos, " (", b.size(), " bytes)"));
    }
    std::memcpy(out, b.data() + pos, n);
    pos += n;
    return absl::OkStatus();
  };
  int32_t max_length;
  SM_RETURN_IF_ERROR(read(&max_length, 4));
  model::TokenizerSpec spec;
  spec.set_kind(model::SENTENCEPIECE_BPE);
  for (int64_t id = 0; id < vocab; ++id) {
    float score;
    int32_t length;
    SM_RETURN_IF_ERROR(read(&score, 4));
    SM_RETURN_IF_ERROR(read(&length, 4));
    if (length < 0 || length > max_length) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tokenizer: token ", id, " has length ", length, " (max_token_length ",
          max_length, ")"));
    }
    // Bounds first: a hostile length must not size an allocation.
    if (static_cast<size_t>(length) > b.size() - pos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tokenizer: token ", id, " of length ", length, " runs past the end (",
          b.size(), " bytes)"));
    }
    std::string piece(reinterpret_cast<const char*>(b.data() + pos), length);
    pos += length;
    // llama2.c's export wrote pieces with plain spaces and wrapped BOS/EOS
    // in newlines; SentencePiece spells them ▁, <s> and </s>.
    model::TokenType type = model::NORMAL;
    if (id == 0) {
      type = model::UNKNOWN;
    } else if (id == 1 || id == 2) {
      type = model::CONTROL;
      piece = id == 1 ? "<s>" : "</s>";
    } else if (piece.size() == 6 && piece.compare(0, 3, "<0x") == 0 &&
               piece[5] == '>') {
      type = model::BYTE;
    } else {
      piece = absl::StrReplaceAll(piece, {{" ", "\xe2\x96\x81"}});
    }
    spec.add_tokens(piece);
    spec.add_scores(score);
    spec.add_token_types(type);
  }
  if (pos != b.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tokenizer: ", b.size() - pos, " bytes after the ", vocab,
        " tokens the checkpoint's vocab_size asks for"));
  }
  if (vocab < 3) {
    return absl::InvalidArgumentError(
        "tokenizer: fewer than 3 tokens (llama2.c's <unk>, <s>, </s>)");
  }
  spec.set_unknown_id(0);
  spec.set_bos_id(1);
  spec.set_eos_id(2);
  spec.set_add_bos(true);
  return spec;
}

absl::StatusOr<model::ModelData> ImportLlama2c(absl::Span<const uint8_t> bytes,
                                             absl::Span<const uint8_t> tokenizer,
                                             const std::string& source) {
  Header h;
  if (bytes.size() < sizeof(h)) {
    return absl::InvalidArgumentError(absl::StrCat(
        bytes.size(), " bytes is too short for a llama2.c header"));
  }
  std::memcpy(&h, bytes.data(), sizeof(h));
  const bool shared = h.vocab_size > 0;
  const int64_t vocab = shared ? h.vocab_size : -int64_t{h.vocab_size};
  for (const auto& [name, v] :
       {std::pair<const char*, int64_t>{"dim", h.dim},
        {"hidden_dim", h.hidden_dim}, {"n_layers", h.n_layers},
        {"n_heads", h.n_heads}, {"n_kv_heads", h.n_kv_heads},
        {"vocab_size", vocab}, {"seq_len", h.seq_len}}) {
    if (v <= 0 || v > (1 << 20)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "header field ", name, " is ", v, "; not a llama2.c checkpoint?"));
    }
  }
  if (h.dim % h.n_heads != 0 || h.n_heads % h.n_kv_heads != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "dim ", h.dim, ", n_heads ", h.n_heads, ", n_kv_heads ", h.n_kv_heads,
        " do not divide"));
  }
  const int64_t dim = h.dim, hidden = h.hidden_dim, layers = h.n_layers;
  const int64_t head = dim / h.n_heads, kv_dim = head * h.n_kv_heads;

  model::Architecture a;
  a.set_name("llama");
  a.set_vocab_size(vocab);
  a.set_context_length(h.seq_len);
  a.set_embedding_dim(dim);
  a.set_num_layers(layers);
  a.set_num_heads(h.n_heads);
  a.set_num_kv_heads(h.n_kv_heads);
  a.set_head_dim(head);
  a.set_hidden_dim(hidden);
  a.set_norm(model::RMS_NORM);
  a.set_norm_eps(1e-5f);
  a.set_positions(model::ROPE);
  a.set_rope_style(model::PAIRWISE);
  a.set_rope_base(10000.0f);
  a.set_rotary_dim(head);
  a.set_mlp(model::SWIGLU);
  a.set_biases(false);
  a.set_tied_output(shared);

  // The weights, in file order, each [count][rows][cols].
  struct Block {
    const char* name;
    int64_t count, rows, cols;
    size_t offset = 0;
  };
  std::vector<Block> blocks = {
      {"token_embedding_table", 1, vocab, dim}, {"rms_att_weight", layers, 1, dim},
      {"wq", layers, dim, dim},   {"wk", layers, kv_dim, dim},
      {"wv", layers, kv_dim, dim}, {"wo", layers, dim, dim},
      {"rms_ffn_weight", layers, 1, dim}, {"w1", layers, hidden, dim},
      {"w2", layers, dim, hidden}, {"w3", layers, hidden, dim},
      {"rms_final_weight", 1, 1, dim},
      {"freq_cis_real", 1, h.seq_len, head / 2},
      {"freq_cis_imag", 1, h.seq_len, head / 2}};
  if (!shared) blocks.push_back({"wcls", 1, vocab, dim});
  // Each block is at most 2^60 floats (three fields of at most 2^20), so
  // sizes are checked against the file one block at a time: a sum of such
  // blocks could wrap 64 bits.
  uint64_t offset = sizeof(Header);
  for (Block& b : blocks) {
    b.offset = offset;
    const uint64_t size = static_cast<uint64_t>(b.count * b.rows * b.cols) * 4;
    if (size > bytes.size() - offset) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the header describes more weights than the ", bytes.size(),
          "-byte file holds (", b.name, " runs past its end)"));
    }
    offset += size;
  }
  if (offset != bytes.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the header describes ", offset, " bytes but the file has ", bytes.size()));
  }
  auto part = [&](const char* name, int64_t layer) -> SourceTensor {
    for (const Block& b : blocks) {
      if (std::strcmp(b.name, name) != 0) continue;
      const size_t size = static_cast<size_t>(b.rows * b.cols) * 4;
      SourceTensor s;
      s.name = name;
      s.shape = b.rows == 1 ? std::vector<int64_t>{b.cols}
                            : std::vector<int64_t>{b.rows, b.cols};
      s.bytes = bytes.subspan(b.offset + layer * size, size);
      return s;
    }
    return {};
  };

  model::ModelData out;
  *out.description.mutable_architecture() = a;
  SM_ASSIGN_OR_RETURN(*out.description.mutable_tokenizer(),
                      ParseLlama2cTokenizer(tokenizer, vocab));
  out.description.mutable_provenance()->set_source_format("llama2.c");
  out.description.mutable_provenance()->set_source(source);
  for (const model::TensorSpec& spec : model::ExpectedTensors(a)) {
    int layer = 0;
    std::string role = spec.name;
    if (sscanf(spec.name.c_str(), "blk.%d.", &layer) == 1) {
      role = spec.name.substr(spec.name.find('.', 4) + 1);
    }
    std::vector<SourceTensor> parts;
    if (role == "token_embd.weight") parts = {part("token_embedding_table", 0)};
    else if (role == "attn_norm.weight") parts = {part("rms_att_weight", layer)};
    else if (role == "attn_qkv.weight")
      parts = {part("wq", layer), part("wk", layer), part("wv", layer)};
    else if (role == "attn_output.weight") parts = {part("wo", layer)};
    else if (role == "ffn_norm.weight") parts = {part("rms_ffn_weight", layer)};
    else if (role == "ffn_gate_up.weight")
      parts = {part("w1", layer), part("w3", layer)};
    else if (role == "ffn_down.weight") parts = {part("w2", layer)};
    else if (role == "output_norm.weight") parts = {part("rms_final_weight", 0)};
    else if (role == "output.weight") parts = {part("wcls", 0)};
    SM_RETURN_IF_ERROR(AddTensor(out, spec, parts));
  }
  return out;
}

absl::StatusOr<model::ModelData> ImportLlama2c(const std::string& checkpoint,
                                             const std::string& tokenizer) {
  SM_ASSIGN_OR_RETURN(core::MappedFile file, core::MappedFile::Open(checkpoint));
  SM_ASSIGN_OR_RETURN(core::MappedFile tokens, core::MappedFile::Open(tokenizer));
  absl::StatusOr<model::ModelData> out =
      ImportLlama2c(file.bytes(), tokens.bytes(), checkpoint);
  if (!out.ok()) {
    return core::Prefixed(out.status(), checkpoint);
  }
  out->sources.push_back(std::move(file));
  return out;
}

}  // namespace smallmind::formats
