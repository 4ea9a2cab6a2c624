#!/usr/bin/python3
"""Random-weight encoder models as llama.cpp writes them, and their float64
embeddings, for the embedding tests.

Each model is written with llama.cpp's own GGUF writer (gguf-py) under
llama.cpp's architecture names, keys and tensor names: BERT ("bert"),
nomic-embed-text ("nomic-bert": rotary positions, SwiGLU, no linear
biases) and a BERT cross-encoder with a classifier head ("bert", pooling
rank). The vocabulary is a few hundred entries of bert-base-uncased's
(tests/reference/tokenizers/bert/tokenizer.json) in llama.cpp's form: word
starts marked with U+2581, `##` continuations bare. XLM-RoBERTa ("bert"
with a "t5" Unigram vocabulary, one token type, positions from 0 as
llama.cpp's converter cuts them) uses the SentencePiece model of
tests/reference/tokenizers/unigram, its inputs the ids SentencePiece gives
a few texts (Debian's python3-sentencepiece and python3-protobuf).

The reference forward pass is PyTorch's torch.nn.functional (layer_norm,
linear, gelu, silu, softmax) in float64, with Hugging Face's rotate_half
RoPE, mean pooling and L2 normalisation, or the classifier's score on the
first token. Writes tests/golden/encoders/NAME.gguf and NAME.json (the
inputs, their token types and the expected vectors or scores), and the same
weights as a Hugging Face directory, NAME/, the way transformers and
sentence-transformers save them (config.json, model.safetensors,
tokenizer.json, modules.json, 1_Pooling/config.json; the reranker as a
BertForSequenceClassification). Run by hand
(Debian's python3-torch and python3-numpy; gguf-py from a llama.cpp
checkout):

    /usr/bin/python3 tests/reference/make_encoders.py --gguf-py LLAMA_CPP/gguf-py

With --shape minilm, bge-base or nomic-embed it writes one model of that size instead
(the real 30,522-token vocabulary, no expectations), for side-by-side
measurements: --shape minilm --out /tmp/minilm.gguf.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "golden", "encoders")
MARK = "\u2581"


def real_vocab():
    with open(os.path.join(ROOT, "tests", "reference", "tokenizers", "bert",
                           "tokenizer.json"), encoding="utf-8") as f:
        vocab = json.load(f)["model"]["vocab"]
    return [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])]


def xlmr_vocab():
    """The SentencePiece model in XLM-R's numbering, as llama.cpp's converter
    writes it: <s> <pad> </s> <unk>, the pieces from SentencePiece's third
    one place up, <mask> last; and the model's normaliser settings."""
    import sentencepiece as spm
    os.environ["PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION"] = "python"
    from sentencepiece import sentencepiece_model_pb2 as spm_pb2
    path = os.path.join(ROOT, "tests", "reference", "tokenizers", "unigram", "spm.model")
    proto = spm_pb2.ModelProto()
    proto.ParseFromString(open(path, "rb").read())
    pieces = proto.pieces[3:]
    tokens = ["<s>", "<pad>", "</s>", "<unk>"] + [p.piece for p in pieces] + ["<mask>"]
    scores = [0.0] * 4 + [p.score for p in pieces] + [0.0]
    types = [3, 3, 3, 2] + [p.type for p in pieces] + [3]
    return dict(tokens=tokens, scores=scores, types=types, proto=proto,
                processor=spm.SentencePieceProcessor(model_file=path))


def xlmr_ids(vocab, text):
    """<s> text </s> in XLM-R's ids, as SentencePiece tokenizes the text."""
    sp = vocab["processor"]
    return [0] + [3 if i == sp.unk_id() else i + 1 for i in sp.encode(text)] + [2]


XLMR_TEXTS = ["Hello world", "  The quick brown fox   jumps over the lazy dog.  ",
              "ｆｕｌｌ－ｗｉｄｔｈ ①②③ and ﬁ ligatures", "naïve café, Straße — 日本語のテキスト",
              "Zwölf Boxkämpfer jagen Viktor quer über den großen Sylter Deich.", "x"]


def llama_form(tokens):
    """llama.cpp's converter: control tokens as they are, `##x` as x, the
    rest with a word-start mark."""
    out, types = [], []
    for t in tokens:
        if t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"):
            out.append(t)
            types.append(3)  # control
        elif t.startswith("##"):
            out.append(t[2:])
            types.append(1)
        else:
            out.append(MARK + t)
            types.append(1)
    return out, types


def small_vocab():
    """[PAD] [UNK] [CLS] [SEP] [MASK], then bert-base-uncased's first
    letters, digits and punctuation, both as word starts and as `##`
    continuations, then its 200 most frequent whole words."""
    real = real_vocab()
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    singles = [t for t in real if len(t) == 1 and t.isascii() and t.isprintable()]
    tokens += singles + ["##" + t for t in singles if "##" + t in real]
    words = [t for t in real[1996:] if t.isalpha() and len(t) > 1][:200]
    tokens += words
    return tokens


# ---- the reference forward pass, float64 -----------------------------------

def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def rope(x, base):
    """x [heads, n, d], positions 0..n-1, the NeoX / Hugging Face form."""
    d = x.shape[-1]
    inv = 1.0 / (base ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
    angles = torch.outer(torch.arange(x.shape[1], dtype=torch.float64), inv)
    cos = torch.cat((angles.cos(), angles.cos()), dim=-1)
    sin = torch.cat((angles.sin(), angles.sin()), dim=-1)
    return x * cos + rotate_half(x) * sin


def encode(w, cfg, ids, types):
    t = lambda name: torch.from_numpy(w[name]).double()
    n, dim, heads = len(ids), cfg["dim"], cfg["heads"]
    hd = dim // heads
    x = t("token_embd.weight")[ids] + t("token_types.weight")[types]
    if cfg["arch"] == "bert":
        x = x + t("position_embd.weight")[:n]
    x = F.layer_norm(x, (dim,), t("token_embd_norm.weight"), t("token_embd_norm.bias"), cfg["eps"])
    bias = lambda name: t(name) if name in w else None
    for l in range(cfg["layers"]):
        p = f"blk.{l}."
        if cfg["arch"] == "bert":
            q = F.linear(x, t(p + "attn_q.weight"), t(p + "attn_q.bias"))
            k = F.linear(x, t(p + "attn_k.weight"), t(p + "attn_k.bias"))
            v = F.linear(x, t(p + "attn_v.weight"), t(p + "attn_v.bias"))
        else:
            q, k, v = F.linear(x, t(p + "attn_qkv.weight")).split(dim, dim=-1)
        q, k, v = (y.view(n, heads, hd).transpose(0, 1) for y in (q, k, v))
        if cfg["arch"] == "nomic-bert":
            q, k = rope(q, cfg["rope_base"]), rope(k, cfg["rope_base"])
        scores = torch.softmax(q @ k.transpose(1, 2) / np.sqrt(hd), dim=-1)
        a = (scores @ v).transpose(0, 1).reshape(n, dim)
        a = F.linear(a, t(p + "attn_output.weight"), bias(p + "attn_output.bias"))
        x = F.layer_norm(x + a, (dim,), t(p + "attn_output_norm.weight"),
                         t(p + "attn_output_norm.bias"), cfg["eps"])
        if cfg["arch"] == "bert":
            h = F.gelu(F.linear(x, t(p + "ffn_up.weight"), t(p + "ffn_up.bias")))
        else:
            h = F.linear(x, t(p + "ffn_up.weight")) * F.silu(F.linear(x, t(p + "ffn_gate.weight")))
        h = F.linear(h, t(p + "ffn_down.weight"), bias(p + "ffn_down.bias"))
        x = F.layer_norm(x + h, (dim,), t(p + "layer_output_norm.weight"),
                         t(p + "layer_output_norm.bias"), cfg["eps"])
    return x


def reference(w, cfg, ids, types):
    x = encode(w, cfg, ids, types)
    if cfg["pooling"] == 4:  # rank: the classifier on the first token
        pooled = torch.tanh(F.linear(x[0], torch.from_numpy(w["cls.weight"]).double(),
                                     torch.from_numpy(w["cls.bias"]).double()))
        return F.linear(pooled, torch.from_numpy(w["cls.output.weight"]).double(),
                        torch.from_numpy(w["cls.output.bias"]).double()).tolist()
    pooled = x.mean(dim=0)
    return (pooled / pooled.norm()).tolist()


# ---- the GGUF file, with llama.cpp's writer --------------------------------

def weights(cfg, rng):
    dim, hidden, vocab = cfg["dim"], cfg["hidden"], cfg["vocab"]
    w = {}
    def mat(name, rows, cols, scale=None):
        w[name] = (rng.standard_normal((rows, cols)) * (scale or cols ** -0.5)).astype(np.float32)
    def vec(name, size, base=0.0):
        w[name] = (base + 0.1 * rng.standard_normal(size)).astype(np.float32)
    mat("token_embd.weight", vocab, dim, 0.5)
    mat("token_types.weight", cfg.get("types", 2), dim, 0.5)
    if cfg["arch"] == "bert":
        mat("position_embd.weight", cfg["ctx"], dim, 0.5)
    vec("token_embd_norm.weight", dim, 1.0)
    vec("token_embd_norm.bias", dim)
    for l in range(cfg["layers"]):
        p = f"blk.{l}."
        if cfg["arch"] == "bert":
            for part in ("q", "k", "v"):
                mat(p + f"attn_{part}.weight", dim, dim)
                vec(p + f"attn_{part}.bias", dim)
            mat(p + "ffn_up.weight", hidden, dim)
            vec(p + "ffn_up.bias", hidden)
            vec(p + "attn_output.bias", dim)
            vec(p + "ffn_down.bias", dim)
        else:
            mat(p + "attn_qkv.weight", 3 * dim, dim)
            mat(p + "ffn_up.weight", hidden, dim)
            mat(p + "ffn_gate.weight", hidden, dim)
        mat(p + "attn_output.weight", dim, dim)
        mat(p + "ffn_down.weight", dim, hidden)
        vec(p + "attn_output_norm.weight", dim, 1.0)
        vec(p + "attn_output_norm.bias", dim)
        vec(p + "layer_output_norm.weight", dim, 1.0)
        vec(p + "layer_output_norm.bias", dim)
    if cfg["pooling"] == 4:
        mat("cls.weight", dim, dim)
        vec("cls.bias", dim)
        mat("cls.output.weight", 1, dim)
        vec("cls.output.bias", 1)
    return w


def write_gguf(gguf, path, cfg, w, tokens):
    arch = cfg["arch"]
    out = gguf.GGUFWriter(path, arch)
    out.add_name(os.path.basename(path))
    out.add_context_length(cfg["ctx"])
    out.add_embedding_length(cfg["dim"])
    out.add_block_count(cfg["layers"])
    out.add_feed_forward_length(cfg["hidden"])
    out.add_head_count(cfg["heads"])
    out.add_layer_norm_eps(cfg["eps"])
    out.add_causal_attention(False)
    out.add_pooling_type(gguf.PoolingType(cfg["pooling"]))
    if arch == "nomic-bert":
        out.add_rope_freq_base(cfg["rope_base"])
    if isinstance(tokens, dict):  # XLM-R's Unigram vocabulary
        norm = tokens["proto"].normalizer_spec
        out.add_tokenizer_model("t5")
        out.add_tokenizer_pre("default")
        out.add_token_list(tokens["tokens"])
        out.add_token_scores(tokens["scores"])
        out.add_token_types(tokens["types"])
        out.add_add_space_prefix(norm.add_dummy_prefix)
        out.add_token_type_count(1)
        out.add_remove_extra_whitespaces(norm.remove_extra_whitespaces)
        out.add_precompiled_charsmap(norm.precompiled_charsmap)
        # gguf-py's SpecialVocab reads these from XLM-R's tokenizer files.
        out.add_bos_token_id(0)
        out.add_pad_token_id(1)
        out.add_eos_token_id(2)
        out.add_unk_token_id(3)
        out.add_sep_token_id(2)
        out.add_mask_token_id(len(tokens["tokens"]) - 1)
        out.add_add_bos_token(True)
        out.add_add_eos_token(True)
        out.add_add_sep_token(True)  # the pair template: <s> A </s> </s> B </s>
    else:
        text, types = llama_form(tokens)
        out.add_tokenizer_model("bert")
        out.add_tokenizer_pre("default")
        out.add_token_type_count(2)
        out.add_token_list(text)
        out.add_token_types(types)
        ids = {t: i for i, t in enumerate(tokens)}
        out.add_bos_token_id(ids["[CLS]"])
        out.add_sep_token_id(ids["[SEP]"])
        out.add_unk_token_id(ids["[UNK]"])
        out.add_pad_token_id(ids["[PAD]"])
        out.add_mask_token_id(ids["[MASK]"])
    for name, value in w.items():
        # llama-quantize writes a one-row matrix as a vector (ggml drops
        # trailing 1s): the XLM-R reranker's file is in that form.
        if cfg.get("one_row_vectors") and value.ndim == 2 and value.shape[0] == 1:
            value = value[0]
        out.add_tensor(name, value)
    out.write_header_to_file()
    out.write_kv_data_to_file()
    out.write_tensors_to_file()
    out.close()


# ---- the same weights as a Hugging Face checkpoint ------------------------

def hf_names(cfg, w):
    """Our tensors (llama.cpp's names) under transformers' / nomic's names."""
    out = {}
    bert = cfg["arch"] == "bert"
    xlmr = cfg.get("xlmr", False)
    prefix = ("roberta." if xlmr else "bert.") if cfg["pooling"] == 4 else ""
    emb = {"token_embd.weight": "embeddings.word_embeddings.weight",
           "token_types.weight": "embeddings.token_type_embeddings.weight",
           "position_embd.weight": "embeddings.position_embeddings.weight",
           "token_embd_norm.weight": "embeddings.LayerNorm.weight" if bert else "emb_ln.weight",
           "token_embd_norm.bias": "embeddings.LayerNorm.bias" if bert else "emb_ln.bias",
           "cls.weight": "pooler.dense.weight", "cls.bias": "pooler.dense.bias"}
    layer_bert = {"attn_q": "attention.self.query", "attn_k": "attention.self.key",
                  "attn_v": "attention.self.value", "attn_output": "attention.output.dense",
                  "attn_output_norm": "attention.output.LayerNorm",
                  "ffn_up": "intermediate.dense", "ffn_down": "output.dense",
                  "layer_output_norm": "output.LayerNorm"}
    layer_nomic = {"attn_qkv": "attn.Wqkv", "attn_output": "attn.out_proj",
                   "attn_output_norm": "norm1", "ffn_up": "mlp.fc11", "ffn_gate": "mlp.fc12",
                   "ffn_down": "mlp.fc2", "layer_output_norm": "norm2"}
    if xlmr:  # RoBERTa's classification head
        emb.update({"cls.weight": "classifier.dense.weight", "cls.bias": "classifier.dense.bias"})
    for name, value in w.items():
        if name.startswith("cls.output."):
            out[("classifier.out_proj." if xlmr else "classifier.") + name.split(".")[-1]] = value
        elif name.startswith("cls.") and xlmr:
            out[emb[name]] = value
        elif name == "position_embd.weight" and xlmr:
            # RoBERTa's positions start at pad_token_id + 1 = 2: two rows
            # first that the model never reads.
            pad = np.full((2, value.shape[1]), 7.0, dtype=np.float32)
            out[prefix + emb[name]] = np.concatenate([pad, value])
        elif name in emb:
            out[prefix + emb[name]] = value
        else:
            _, layer, role, kind = name.split(".")
            if bert:
                out[f"{prefix}encoder.layer.{layer}.{layer_bert[role]}.{kind}"] = value
            else:
                out[f"encoder.layers.{layer}.{layer_nomic[role]}.{kind}"] = value
    return out


def write_safetensors(path, tensors):
    header, offset = {}, 0
    for name, value in tensors.items():
        header[name] = {"dtype": "F32", "shape": list(value.shape),
                        "data_offsets": [offset, offset + value.nbytes]}
        offset += value.nbytes
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for value in tensors.values():
            f.write(np.ascontiguousarray(value, dtype="<f4").tobytes())


def write_xlmr_tokenizer(dir, vocab):
    """tokenizer.json and tokenizer_config.json as transformers' converter
    writes XLM-R's."""
    import base64
    norm = vocab["proto"].normalizer_spec
    special = {0: "<s>", 1: "<pad>", 2: "</s>", 3: "<unk>", len(vocab["tokens"]) - 1: "<mask>"}
    tokenizer = {
        "version": "1.0",
        "added_tokens": [{"id": i, "content": t, "single_word": False, "lstrip": t == "<mask>",
                          "rstrip": False, "normalized": False, "special": True}
                         for i, t in special.items()],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Precompiled",
             "precompiled_charsmap": base64.b64encode(norm.precompiled_charsmap).decode()},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]},
        "pre_tokenizer": {"type": "Metaspace", "replacement": MARK, "prepend_scheme": "always",
                          "split": True},
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                      {"Sequence": {"id": "A", "type_id": 0}},
                                      {"SpecialToken": {"id": "</s>", "type_id": 0}}]},
        "model": {"type": "Unigram", "unk_id": 3, "byte_fallback": False,
                  "vocab": [[t, s] for t, s in zip(vocab["tokens"], vocab["scores"])]},
    }
    with open(os.path.join(dir, "tokenizer.json"), "w") as f:
        json.dump(tokenizer, f, ensure_ascii=False)
    with open(os.path.join(dir, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "XLMRobertaTokenizer", "bos_token": "<s>", "eos_token": "</s>",
                   "sep_token": "</s>", "cls_token": "<s>", "unk_token": "<unk>",
                   "pad_token": "<pad>", "mask_token": "<mask>"}, f, indent=1)


def write_hf(dir, cfg, w, tokens):
    os.makedirs(os.path.join(dir, "1_Pooling"), exist_ok=True)
    if cfg.get("xlmr"):
        config = {"model_type": "xlm-roberta", "hidden_size": cfg["dim"],
                  "num_hidden_layers": cfg["layers"], "num_attention_heads": cfg["heads"],
                  "intermediate_size": cfg["hidden"], "max_position_embeddings": cfg["ctx"] + 2,
                  "layer_norm_eps": cfg["eps"], "hidden_act": "gelu", "type_vocab_size": 1,
                  "vocab_size": len(tokens["tokens"]), "pad_token_id": 1, "bos_token_id": 0,
                  "eos_token_id": 2,
                  "architectures": ["XLMRobertaForSequenceClassification" if cfg["pooling"] == 4
                                    else "XLMRobertaModel"]}
    elif cfg["arch"] == "bert":
        config = {"model_type": "bert", "hidden_size": cfg["dim"],
                  "num_hidden_layers": cfg["layers"], "num_attention_heads": cfg["heads"],
                  "intermediate_size": cfg["hidden"], "max_position_embeddings": cfg["ctx"],
                  "layer_norm_eps": cfg["eps"], "hidden_act": "gelu", "type_vocab_size": 2,
                  "vocab_size": len(tokens),
                  "architectures": ["BertForSequenceClassification" if cfg["pooling"] == 4
                                    else "BertModel"]}
    else:
        config = {"model_type": "nomic_bert", "n_embd": cfg["dim"], "n_layer": cfg["layers"],
                  "n_head": cfg["heads"], "n_inner": cfg["hidden"], "n_positions": cfg["ctx"],
                  "layer_norm_epsilon": cfg["eps"], "activation_function": "swiglu",
                  "rotary_emb_base": cfg["rope_base"], "rotary_emb_fraction": 1.0,
                  "rotary_emb_interleaved": False, "prenorm": False, "causal": False,
                  "qkv_proj_bias": False, "mlp_fc1_bias": False, "mlp_fc2_bias": False,
                  "type_vocab_size": 2, "vocab_size": len(tokens),
                  "architectures": ["NomicBertModel"]}
    with open(os.path.join(dir, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    write_safetensors(os.path.join(dir, "model.safetensors"), hf_names(cfg, w))
    write_modules(dir, cfg)
    if cfg.get("xlmr"):
        write_xlmr_tokenizer(dir, tokens)
        return
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab = {t: i for i, t in enumerate(tokens)}
    tokenizer = {
        "version": "1.0",
        "added_tokens": [{"id": vocab[t], "content": t, "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": False, "special": True}
                         for t in special],
        "normalizer": {"type": "BertNormalizer", "clean_text": True,
                       "handle_chinese_chars": True, "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": vocab},
    }
    with open(os.path.join(dir, "tokenizer.json"), "w") as f:
        json.dump(tokenizer, f)
    with open(os.path.join(dir, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "BertTokenizer", "cls_token": "[CLS]", "sep_token": "[SEP]",
                   "unk_token": "[UNK]", "pad_token": "[PAD]", "do_lower_case": True}, f, indent=1)


def write_modules(dir, cfg):
    """sentence-transformers' modules.json and 1_Pooling/config.json."""
    with open(os.path.join(dir, "modules.json"), "w") as f:
        json.dump([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                   {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                   {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}],
                  f, indent=1)
    with open(os.path.join(dir, "1_Pooling", "config.json"), "w") as f:
        json.dump({"word_embedding_dimension": cfg["dim"], "pooling_mode_cls_token": False,
                   "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
                   "pooling_mode_mean_sqrt_len_tokens": False}, f, indent=1)


SHAPES = {
    # name: arch, dim, heads, layers, hidden, ctx, pooling (llama.cpp's numbers)
    "bert_tiny": dict(arch="bert", dim=32, heads=4, layers=2, hidden=64, ctx=64, pooling=1),
    "nomic_tiny": dict(arch="nomic-bert", dim=32, heads=4, layers=2, hidden=48, ctx=64,
                       pooling=1, rope_base=1000.0),
    "rerank_tiny": dict(arch="bert", dim=32, heads=2, layers=2, hidden=64, ctx=64, pooling=4),
    "xlmr_tiny": dict(arch="bert", dim=32, heads=4, layers=2, hidden=64, ctx=64, pooling=1,
                      types=1, xlmr=True),
    "xlmr_rerank_tiny": dict(arch="bert", dim=32, heads=2, layers=2, hidden=64, ctx=64,
                             pooling=4, types=1, xlmr=True, one_row_vectors=True),
    "minilm": dict(arch="bert", dim=384, heads=12, layers=6, hidden=1536, ctx=512, pooling=1),
    "bge-base": dict(arch="bert", dim=768, heads=12, layers=12, hidden=3072, ctx=512, pooling=2),
    "nomic-embed": dict(arch="nomic-bert", dim=768, heads=12, layers=12, hidden=3072, ctx=2048,
                        pooling=1, rope_base=1000.0),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf-py", required=True)
    ap.add_argument("--shape")
    ap.add_argument("--out")
    args = ap.parse_args()
    sys.path.insert(0, args.gguf_py)
    import gguf  # noqa: E402

    if args.shape:
        cfg = dict(SHAPES[args.shape], eps=1e-12)
        tokens = real_vocab()
        cfg["vocab"] = len(tokens)
        write_gguf(gguf, args.out, cfg, weights(cfg, np.random.default_rng(7)), tokens)
        return
    tokens = small_vocab()
    os.makedirs(OUT, exist_ok=True)
    for seed, name in enumerate(("bert_tiny", "nomic_tiny", "rerank_tiny")):
        cfg = dict(SHAPES[name], eps=1e-12, vocab=len(tokens))
        rng = np.random.default_rng(100 + seed)
        w = weights(cfg, rng)
        write_gguf(gguf, os.path.join(OUT, name + ".gguf"), cfg, w, tokens)
        write_hf(os.path.join(OUT, name), cfg, w, tokens)
        cls, sep = tokens.index("[CLS]"), tokens.index("[SEP]")
        inputs, types = [], []
        for length in (1, 2, 3, 7, 17, 40, cfg["ctx"]):
            body = rng.integers(5, len(tokens), max(0, length - 2)).tolist()
            ids = ([cls] + body + [sep])[:length] if length > 1 else [cls]
            # Rerankers read pairs: the second segment (type 1) starts halfway.
            second = length // 2 + 1 if cfg["pooling"] == 4 and length > 2 else length
            inputs.append(ids)
            types.append([0 if i < second else 1 for i in range(length)])
        expected = [reference(w, cfg, ids, t) for ids, t in zip(inputs, types)]
        with open(os.path.join(OUT, name + ".json"), "w") as f:
            json.dump({"inputs": inputs, "token_types": types, "expected": expected}, f)
        print(name, len(tokens), "tokens")
    vocab = xlmr_vocab()
    for seed, name in enumerate(("xlmr_tiny", "xlmr_rerank_tiny")):
        cfg = dict(SHAPES[name], eps=1e-5, vocab=len(vocab["tokens"]))
        rng = np.random.default_rng(200 + seed)
        w = weights(cfg, rng)
        write_gguf(gguf, os.path.join(OUT, name + ".gguf"), cfg, w, vocab)
        write_hf(os.path.join(OUT, name), cfg, w, vocab)
        if cfg["pooling"] == 4:  # (query, document): <s> q </s></s> d </s>
            pairs = [(XLMR_TEXTS[i], XLMR_TEXTS[j]) for i, j in ((0, 1), (4, 3), (5, 2), (2, 5))]
            inputs = [xlmr_ids(vocab, q) + [2] + xlmr_ids(vocab, d)[1:] for q, d in pairs]
            texts = [list(p) for p in pairs]
        else:
            inputs = [xlmr_ids(vocab, t) for t in XLMR_TEXTS]
            texts = XLMR_TEXTS
        types = [[0] * len(ids) for ids in inputs]
        expected = [reference(w, cfg, ids, t) for ids, t in zip(inputs, types)]
        with open(os.path.join(OUT, name + ".json"), "w") as f:
            json.dump({"texts": texts, "inputs": inputs, "token_types": types,
                       "expected": expected}, f, ensure_ascii=False)
        print(name, len(vocab["tokens"]), "tokens")


if __name__ == "__main__":
    main()
