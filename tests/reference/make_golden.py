#!/usr/bin/python3
"""Writes the golden models and logits in tests/golden/.

An independent NumPy (float64) implementation of the decoder, written from
the architecture's definition rather than from runtime/, so the C++ forward
pass is checked against something that shares none of its code. Run by hand
when the format or a golden model changes (needs Debian's python3-numpy,
python3-protobuf and protobuf-compiler):

    /usr/bin/python3 tests/reference/make_golden.py

Each model is written as tests/golden/NAME.smm with the token ids it was run
on in its metadata ("golden.tokens"), and NAME.logits holds the logits of
every position as little-endian float32 [tokens, vocab].
"""
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "golden")
TOKENS = [3, 17, 42, 8, 63, 0, 25, 31, 9, 50, 12, 7]
ALIGN = 64


def load_proto_module():
    tmp = tempfile.mkdtemp()
    subprocess.check_call(["protoc", "--proto_path=" + ROOT, "--python_out=" + tmp,
                           os.path.join(ROOT, "runtime", "model.proto")])
    sys.path.insert(0, tmp)
    from runtime import model_pb2  # noqa: E402
    return model_pb2


pb = load_proto_module()


# ---- the reference forward pass -------------------------------------------

def layer_norm(x, w, b, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def rms_norm(x, w, eps):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w


def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x ** 3)))


def silu(x):
    return x / (1.0 + np.exp(-x))


def rope(x, pos, rotary_dim, base, style):
    """x: [heads, head_dim] at position pos."""
    x = x.copy()
    half = rotary_dim // 2
    freq = base ** (-2.0 * np.arange(half) / rotary_dim)
    c, s = np.cos(pos * freq), np.sin(pos * freq)
    if style == "pairwise":
        a, b = x[:, 0:rotary_dim:2].copy(), x[:, 1:rotary_dim:2].copy()
        x[:, 0:rotary_dim:2] = a * c - b * s
        x[:, 1:rotary_dim:2] = a * s + b * c
    else:
        a, b = x[:, :half].copy(), x[:, half:rotary_dim].copy()
        x[:, :half] = a * c - b * s
        x[:, half:rotary_dim] = a * s + b * c
    return x


def forward(cfg, w, tokens):
    dim, heads, kv_heads, hd = cfg["dim"], cfg["heads"], cfg["kv_heads"], cfg["head_dim"]
    eps = cfg["eps"]
    norm = (lambda x, p: layer_norm(x, w[p + ".weight"], w[p + ".bias"], eps)) \
        if cfg["norm"] == "layer" else (lambda x, p: rms_norm(x, w[p + ".weight"], eps))

    def linear(x, p):
        y = x @ w[p + ".weight"].T
        return y + w[p + ".bias"] if cfg["biases"] else y

    n = len(tokens)
    x = w["token_embd.weight"][tokens].copy()
    if cfg["positions"] == "learned":
        x += w["position_embd.weight"][:n]
    for l in range(cfg["layers"]):
        p = "blk.%d." % l
        qkv = linear(norm(x, p + "attn_norm"), p + "attn_qkv")
        q = qkv[:, :heads * hd].reshape(n, heads, hd)
        k = qkv[:, heads * hd:(heads + kv_heads) * hd].reshape(n, kv_heads, hd)
        v = qkv[:, (heads + kv_heads) * hd:].reshape(n, kv_heads, hd)
        if cfg["positions"] == "rope":
            q = np.stack([rope(q[i], i, cfg["rotary_dim"], cfg["rope_base"], cfg["rope_style"]) for i in range(n)])
            k = np.stack([rope(k[i], i, cfg["rotary_dim"], cfg["rope_base"], cfg["rope_style"]) for i in range(n)])
        out = np.zeros((n, heads, hd))
        group = heads // kv_heads
        for h in range(heads):
            kh, vh = k[:, h // group], v[:, h // group]
            scores = q[:, h] @ kh.T / np.sqrt(hd)
            scores[np.triu_indices(n, 1)] = -np.inf
            probs = np.exp(scores - scores.max(-1, keepdims=True))
            probs /= probs.sum(-1, keepdims=True)
            out[:, h] = probs @ vh
        x = x + linear(out.reshape(n, heads * hd), p + "attn_output")
        xn = norm(x, p + "ffn_norm")
        if cfg["mlp"] == "gelu":
            act = gelu_tanh(linear(xn, p + "ffn_up"))
        else:
            gu = linear(xn, p + "ffn_gate_up")
            act = silu(gu[:, :cfg["hidden"]]) * gu[:, cfg["hidden"]:]
        x = x + linear(act, p + "ffn_down")
    head = w["token_embd.weight"] if cfg["tied"] else w["output.weight"]
    return norm(x, "output_norm") @ head.T


# ---- random weights and the .smm writer ------------------------------------

def tensor_specs(cfg):
    dim, hd = cfg["dim"], cfg["head_dim"]
    qkv_rows = (cfg["heads"] + 2 * cfg["kv_heads"]) * hd
    specs = [("token_embd.weight", (cfg["vocab"], dim))]
    if cfg["positions"] == "learned":
        specs.append(("position_embd.weight", (cfg["context"], dim)))

    def norm(p):
        specs.append((p + ".weight", (dim,)))
        if cfg["norm"] == "layer":
            specs.append((p + ".bias", (dim,)))

    def linear(p, rows, cols):
        specs.append((p + ".weight", (rows, cols)))
        if cfg["biases"]:
            specs.append((p + ".bias", (rows,)))

    for l in range(cfg["layers"]):
        p = "blk.%d." % l
        norm(p + "attn_norm")
        linear(p + "attn_qkv", qkv_rows, dim)
        linear(p + "attn_output", dim, cfg["heads"] * hd)
        norm(p + "ffn_norm")
        if cfg["mlp"] == "gelu":
            linear(p + "ffn_up", cfg["hidden"], dim)
        else:
            linear(p + "ffn_gate_up", 2 * cfg["hidden"], dim)
        linear(p + "ffn_down", dim, cfg["hidden"])
    norm("output_norm")
    if not cfg["tied"]:
        specs.append(("output.weight", (cfg["vocab"], dim)))
    return specs


def random_weights(cfg, rng):
    w = {}
    for name, shape in tensor_specs(cfg):
        if name.endswith("norm.weight"):
            w[name] = 1.0 + 0.1 * rng.standard_normal(shape)
        elif name.endswith(".bias"):
            w[name] = 0.1 * rng.standard_normal(shape)
        else:
            w[name] = (rng.standard_normal(shape) / np.sqrt(shape[-1])).astype(np.float64)
        w[name] = w[name].astype(np.float32).astype(np.float64)  # as stored
    return w


def description(cfg):
    d = pb.ModelDescription()
    a = d.architecture
    a.name = cfg["name"]
    a.vocab_size, a.context_length = cfg["vocab"], cfg["context"]
    a.embedding_dim, a.num_layers = cfg["dim"], cfg["layers"]
    a.num_heads, a.num_kv_heads, a.head_dim = cfg["heads"], cfg["kv_heads"], cfg["head_dim"]
    a.hidden_dim = cfg["hidden"]
    a.norm = pb.LAYER_NORM if cfg["norm"] == "layer" else pb.RMS_NORM
    a.norm_eps = cfg["eps"]
    if cfg["positions"] == "rope":
        a.positions = pb.ROPE
        a.rope_style = pb.PAIRWISE if cfg["rope_style"] == "pairwise" else pb.ROTATE_HALF
        a.rope_base, a.rotary_dim = cfg["rope_base"], cfg["rotary_dim"]
    else:
        a.positions = pb.LEARNED
    a.mlp = pb.GELU if cfg["mlp"] == "gelu" else pb.SWIGLU
    a.biases, a.tied_output = cfg["biases"], cfg["tied"]
    t = d.tokenizer
    t.kind = pb.CHAR
    for i in range(cfg["vocab"]):
        t.tokens.append(bytes([32 + i]))
    d.provenance.source_format = "numpy reference"
    d.provenance.source = "tests/reference/make_golden.py"
    d.metadata["golden.tokens"] = ",".join(str(t) for t in TOKENS)
    return d


def write_smm(path, desc, weights, cfg):
    blobs, offset = [], 0
    for name, shape in tensor_specs(cfg):
        data = weights[name].astype("<f4").tobytes()
        info = desc.tensors.add()
        info.name, info.dtype, info.offset, info.size = name, pb.F32, offset, len(data)
        info.shape.extend(shape)
        blobs.append(data + b"\0" * (-len(data) % ALIGN))
        offset += len(blobs[-1])
    body = desc.SerializeToString()
    header = b"SMMODEL\0" + struct.pack("<IIQ", 1, 0, len(body)) + body
    header += b"\0" * (-len(header) % ALIGN)
    with open(path, "wb") as f:
        f.write(header)
        for blob in blobs:
            f.write(blob)


BASE = dict(vocab=64, context=16, dim=32, layers=2, heads=4, head_dim=8, eps=1e-5)
MODELS = [
    dict(BASE, name="gpt2_tiny", kv_heads=4, hidden=64, norm="layer", positions="learned",
         mlp="gelu", biases=True, tied=False),
    dict(BASE, name="llama_tiny", kv_heads=2, hidden=48, norm="rms", positions="rope",
         rope_style="pairwise", rope_base=10000.0, rotary_dim=8, mlp="swiglu", biases=False,
         tied=True),
    dict(BASE, name="neox_tiny", kv_heads=1, hidden=40, norm="layer", positions="rope",
         rope_style="rotate_half", rope_base=500.0, rotary_dim=4, mlp="gelu", biases=True,
         tied=False),
]


def main():
    rng = np.random.default_rng(20261125)
    for cfg in MODELS:
        w = random_weights(cfg, rng)
        logits = forward(cfg, w, TOKENS)
        write_smm(os.path.join(OUT, cfg["name"] + ".smm"), description(cfg), w, cfg)
        logits.astype("<f4").tofile(os.path.join(OUT, cfg["name"] + ".logits"))
        print("%s: logits %s, |max| %.3f" % (cfg["name"], logits.shape, np.abs(logits).max()))


if __name__ == "__main__":
    main()
