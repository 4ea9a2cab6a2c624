#!/usr/bin/python3
"""Writes the golden models and logits in tests/golden/.

The reference forward pass is PyTorch's (torch.nn.functional: layer_norm,
linear, softmax, gelu, silu; RoPE through complex multiplication for the
pairwise form and Hugging Face's rotate_half for the other), in float64, so
the C++ engine is checked against code no one here wrote. Run by hand when
the format or a golden model changes (needs Debian's python3-torch,
python3-numpy, python3-protobuf and protobuf-compiler):

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
import torch
import torch.nn.functional as F

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


# ---- the reference forward pass, in PyTorch --------------------------------

def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope_freqs(rotary_dim, base, factors):
    freqs = 1.0 / (base ** (torch.arange(0, rotary_dim, 2, dtype=torch.float64) / rotary_dim))
    return freqs if factors is None else freqs / torch.from_numpy(factors)


def llama3_factors(rotary_dim, base, factor, low, high, original):
    """Llama 3's frequency scaling as Hugging Face's _compute_llama3_parameters
    computes it, as divisors of each pair's frequency."""
    freqs = 1.0 / (base ** (np.arange(0, rotary_dim, 2, dtype=np.float64) / rotary_dim))
    wavelen = 2 * np.pi / freqs
    low_wavelen, high_wavelen = original / low, original / high
    smooth = (original / wavelen - low) / (high - low)
    scaled = np.where(wavelen > low_wavelen, freqs / factor, freqs)
    smoothed = (1 - smooth) * scaled / factor + smooth * scaled
    medium = (wavelen <= low_wavelen) & (wavelen >= high_wavelen)
    new = np.where(medium, smoothed, scaled)
    return (freqs / new).astype(np.float32).astype(np.float64)


def rope_pairwise(x, positions, rotary_dim, base, factors=None):
    """x: [seq, heads, head_dim]; rotates (x[2i], x[2i+1]) as complex numbers."""
    rot, rest = x[..., :rotary_dim], x[..., rotary_dim:]
    freqs = rope_freqs(rotary_dim, base, factors)
    angles = torch.outer(positions, freqs)                         # [seq, rotary/2]
    rotation = torch.polar(torch.ones_like(angles), angles)[:, None, :]
    pairs = torch.view_as_complex(rot.reshape(*rot.shape[:-1], -1, 2).contiguous())
    rotated = torch.view_as_real(pairs * rotation).flatten(-2)
    return torch.cat([rotated, rest], dim=-1)


def rope_rotate_half(x, positions, rotary_dim, base, factors=None):
    """GPT-NeoX / Hugging Face: x·cos + rotate_half(x)·sin on the first dims."""
    rot, rest = x[..., :rotary_dim], x[..., rotary_dim:]
    freqs = rope_freqs(rotary_dim, base, factors)
    angles = torch.outer(positions, freqs)
    emb = torch.cat([angles, angles], dim=-1)[:, None, :]
    half = rotary_dim // 2
    rotate_half = torch.cat([-rot[..., half:], rot[..., :half]], dim=-1)
    return torch.cat([rot * emb.cos() + rotate_half * emb.sin(), rest], dim=-1)


def forward(cfg, weights, tokens):
    w = {k: torch.from_numpy(v) for k, v in weights.items()}
    heads, kv_heads, hd = cfg["heads"], cfg["kv_heads"], cfg["head_dim"]
    eps = cfg["eps"]

    def norm(x, p):
        if cfg["norm"] == "layer":
            return F.layer_norm(x, (cfg["dim"],), w[p + ".weight"], w[p + ".bias"], eps)
        return rms_norm(x, w[p + ".weight"], eps)

    def linear(x, p):
        return F.linear(x, w[p + ".weight"], w.get(p + ".bias"))

    def head_norm(x, p):  # per head, over head_dim (Qwen3, Gemma 3)
        return rms_norm(x, w[p + ".weight"], eps)

    n = len(tokens)
    ids = torch.tensor(tokens)
    positions = torch.arange(n, dtype=torch.float64)
    x = F.embedding(ids, w["token_embd.weight"])
    if cfg.get("embedding_scale"):
        x = x * cfg["embedding_scale"]
    if cfg["positions"] == "learned":
        x = x + w["position_embd.weight"][:n]
    causal = torch.full((n, n), float("-inf"), dtype=torch.float64).triu(1)
    window = cfg.get("sliding_window", 0)
    # Sliding-window layers see the last `window` positions, themselves included.
    local_mask = causal.clone()
    if window:
        local_mask = local_mask + torch.full((n, n), float("-inf"), dtype=torch.float64).tril(-window)
    factors = w.get("rope_freqs.weight")
    factors = factors.numpy() if factors is not None else None
    for l in range(cfg["layers"]):
        p = "blk.%d." % l
        local = window and (l + 1) % cfg["sliding_window_pattern"] != 0
        q, k, v = linear(norm(x, p + "attn_norm"), p + "attn_qkv").split(
            [heads * hd, kv_heads * hd, kv_heads * hd], dim=-1)
        q, k, v = q.view(n, heads, hd), k.view(n, kv_heads, hd), v.view(n, kv_heads, hd)
        if cfg.get("qk_norm"):
            q, k = head_norm(q, p + "attn_q_norm"), head_norm(k, p + "attn_k_norm")
        if cfg["positions"] == "rope":
            rope = rope_pairwise if cfg["rope_style"] == "pairwise" else rope_rotate_half
            base = cfg["rope_local_base"] if local else cfg["rope_base"]
            q = rope(q, positions, cfg["rotary_dim"], base, factors)
            k = rope(k, positions, cfg["rotary_dim"], base, factors)
        k = k.repeat_interleave(heads // kv_heads, dim=1)
        v = v.repeat_interleave(heads // kv_heads, dim=1)
        scale = cfg.get("attention_scale") or hd ** -0.5
        scores = torch.einsum("qhd,khd->hqk", q, k) * scale + (local_mask if local else causal)
        out = torch.einsum("hqk,khd->qhd", torch.softmax(scores, dim=-1), v)
        attn = linear(out.reshape(n, heads * hd), p + "attn_output")
        if cfg.get("post_norms"):
            attn = norm(attn, p + "attn_post_norm")
        x = x + attn
        xn = norm(x, p + "ffn_norm")
        if cfg["mlp"] == "gelu":
            act = F.gelu(linear(xn, p + "ffn_up"), approximate="tanh")
        else:
            gate, up = linear(xn, p + "ffn_gate_up").split(cfg["hidden"], dim=-1)
            act = (F.silu(gate) if cfg["mlp"] == "swiglu" else
                   F.gelu(gate, approximate="tanh")) * up
        down = linear(act, p + "ffn_down")
        if cfg.get("post_norms"):
            down = norm(down, p + "ffn_post_norm")
        x = x + down
    head = w["token_embd.weight"] if cfg["tied"] else w["output.weight"]
    return F.linear(norm(x, "output_norm"), head).numpy()


# ---- random weights and the .smm writer ------------------------------------

def tensor_specs(cfg):
    dim, hd = cfg["dim"], cfg["head_dim"]
    qkv_rows = (cfg["heads"] + 2 * cfg["kv_heads"]) * hd
    specs = [("token_embd.weight", (cfg["vocab"], dim))]
    if cfg["positions"] == "learned":
        specs.append(("position_embd.weight", (cfg["context"], dim)))

    def norm(p, size=dim):
        specs.append((p + ".weight", (size,)))
        if cfg["norm"] == "layer":
            specs.append((p + ".bias", (size,)))

    def linear(p, rows, cols, bias=cfg["biases"]):
        specs.append((p + ".weight", (rows, cols)))
        if bias:
            specs.append((p + ".bias", (rows,)))

    if cfg.get("rope_scaling"):
        specs.append(("rope_freqs.weight", (cfg["rotary_dim"] // 2,)))
    for l in range(cfg["layers"]):
        p = "blk.%d." % l
        norm(p + "attn_norm")
        linear(p + "attn_qkv", qkv_rows, dim, cfg["biases"] or cfg.get("qkv_bias", False))
        if cfg.get("qk_norm"):
            norm(p + "attn_q_norm", hd)
            norm(p + "attn_k_norm", hd)
        linear(p + "attn_output", dim, cfg["heads"] * hd)
        if cfg.get("post_norms"):
            norm(p + "attn_post_norm")
        norm(p + "ffn_norm")
        if cfg["mlp"] == "gelu":
            linear(p + "ffn_up", cfg["hidden"], dim)
        else:
            linear(p + "ffn_gate_up", 2 * cfg["hidden"], dim)
        linear(p + "ffn_down", dim, cfg["hidden"])
        if cfg.get("post_norms"):
            norm(p + "ffn_post_norm")
    norm("output_norm")
    if not cfg["tied"]:
        specs.append(("output.weight", (cfg["vocab"], dim)))
    return specs


def random_weights(cfg, rng):
    w = {}
    for name, shape in tensor_specs(cfg):
        if name == "rope_freqs.weight":
            w[name] = llama3_factors(cfg["rotary_dim"], cfg["rope_base"], **cfg["rope_scaling"])
            continue
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
    a.mlp = {"gelu": pb.GELU, "swiglu": pb.SWIGLU, "geglu": pb.GEGLU}[cfg["mlp"]]
    a.biases, a.tied_output = cfg["biases"], cfg["tied"]
    a.qkv_bias = cfg.get("qkv_bias", False)
    a.qk_norm = cfg.get("qk_norm", False)
    a.post_norms = cfg.get("post_norms", False)
    a.embedding_scale = cfg.get("embedding_scale", 0.0)
    a.attention_scale = cfg.get("attention_scale", 0.0)
    if cfg.get("rope_scaling"):
        a.rope_freq_factors = True
        rs = cfg["rope_scaling"]
        a.rope_scaling.factor, a.rope_scaling.low_freq_factor = rs["factor"], rs["low"]
        a.rope_scaling.high_freq_factor, a.rope_scaling.original_context = rs["high"], rs["original"]
    if cfg.get("sliding_window"):
        a.sliding_window = cfg["sliding_window"]
        a.sliding_window_pattern = cfg["sliding_window_pattern"]
        a.rope_local_base = cfg["rope_local_base"]
    t = d.tokenizer
    t.kind = pb.CHAR
    for i in range(cfg["vocab"]):
        t.tokens.append(bytes([32 + i]))
    d.provenance.source_format = "numpy reference"
    d.provenance.source = "tests/reference/make_golden.py"
    d.metadata["golden.tokens"] = ",".join(str(t) for t in TOKENS)
    if "continuation" in cfg:
        d.metadata["golden.prompt"] = ",".join(str(t) for t in cfg["prompt"])
        d.metadata["golden.continuation"] = ",".join(str(t) for t in cfg["continuation"])
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


# The newer families: each knob of the forward pass the architectures of
# tools/convert need, at a context long enough for a 48-token continuation.
FAMILY = dict(BASE, context=64, eps=1e-6)
FAMILIES = [
    dict(FAMILY, name="llama3_tiny", kv_heads=2, hidden=48, norm="rms", positions="rope",
         rope_style="pairwise", rope_base=500000.0, rotary_dim=8, mlp="swiglu",
         biases=False, tied=True,
         rope_scaling=dict(factor=8.0, low=1.0, high=4.0, original=8)),
    dict(FAMILY, name="qwen2_tiny", kv_heads=2, hidden=48, norm="rms", positions="rope",
         rope_style="rotate_half", rope_base=1000000.0, rotary_dim=8, mlp="swiglu",
         biases=False, qkv_bias=True, tied=False),
    dict(FAMILY, name="qwen3_tiny", kv_heads=1, hidden=48, norm="rms", positions="rope",
         rope_style="rotate_half", rope_base=1000000.0, rotary_dim=8, mlp="swiglu",
         biases=False, qk_norm=True, tied=True),
    # Gemma 3: q_dim (heads·head_dim = 64) wider than dim (32), like its
    # 270M's 1024 against 640; sliding window on every layer but each 2nd.
    dict(FAMILY, name="gemma3_tiny", kv_heads=1, head_dim=16, hidden=48, norm="rms",
         positions="rope", rope_style="rotate_half", rope_base=1000000.0, rotary_dim=16,
         mlp="geglu", biases=False, qk_norm=True, post_norms=True, tied=True,
         embedding_scale=32 ** 0.5, attention_scale=24 ** -0.5, sliding_window=6,
         sliding_window_pattern=2, rope_local_base=10000.0),
    dict(FAMILY, name="phi3_tiny", kv_heads=4, hidden=48, norm="rms", positions="rope",
         rope_style="rotate_half", rope_base=10000.0, rotary_dim=8, mlp="swiglu",
         biases=False, tied=False),
]
PROMPT = [5, 33, 12, 47]


def greedy(cfg, w, prompt, steps):
    """Greedy continuation in float64, re-running the whole sequence each
    step; refuses a near tie (a margin below 1e-3), which float32 may break
    the other way."""
    tokens = list(prompt)
    for _ in range(steps):
        logits = forward(cfg, w, tokens)[-1]
        order = np.argsort(-logits)
        if logits[order[0]] - logits[order[1]] < 1e-3:
            return None
        tokens.append(int(order[0]))
    return tokens[len(prompt):]


def main():
    rng = np.random.default_rng(20261125)
    for cfg in MODELS:
        w = random_weights(cfg, rng)
        logits = forward(cfg, w, TOKENS)
        write_smm(os.path.join(OUT, cfg["name"] + ".smm"), description(cfg), w, cfg)
        logits.astype("<f4").tofile(os.path.join(OUT, cfg["name"] + ".logits"))
        print("%s: logits %s, |max| %.3f" % (cfg["name"], logits.shape, np.abs(logits).max()))
    rng = np.random.default_rng(20261126)
    for cfg in FAMILIES:
        while True:
            w = random_weights(cfg, rng)
            continuation = greedy(cfg, w, PROMPT, 48)
            if continuation is not None:
                break
        cfg = dict(cfg, prompt=PROMPT, continuation=continuation)
        logits = forward(cfg, w, TOKENS)
        write_smm(os.path.join(OUT, cfg["name"] + ".smm"), description(cfg), w, cfg)
        logits.astype("<f4").tofile(os.path.join(OUT, cfg["name"] + ".logits"))
        print("%s: logits %s, continuation %s" % (cfg["name"], logits.shape, continuation[:12]))


if __name__ == "__main__":
    main()
