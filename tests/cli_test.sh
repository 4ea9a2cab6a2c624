#!/usr/bin/env bash
# The `smallmind` command end to end: init, inspect, generate, chat, bench,
# perplexity, embed and convert succeed on good input, on .smm and GGUF files and a Hugging
# Face checkpoint directory alike; bad input gets a message and exit code 1.
set -uo pipefail
SM="$1"
GGUF_SEED="$2"
HF_DIR=$(dirname "$3")
ENCODERS="$4"
TMP="${TEST_TMPDIR:-$(mktemp -d)}"
failures=0

pass() { echo "ok: $1"; }
fail() { echo "FAIL: $1"; failures=$((failures + 1)); }

# expect_ok NAME CMD...: exit 0.
expect_ok() {
  local name="$1"; shift
  if "$@" >"$TMP/out" 2>"$TMP/err"; then pass "$name"; else
    fail "$name (exit $?)"; cat "$TMP/out" "$TMP/err"; fi
}
# expect_error NAME PATTERN CMD...: exit 1 and PATTERN in stderr.
expect_error() {
  local name="$1" pattern="$2"; shift 2
  "$@" >"$TMP/out" 2>"$TMP/err"
  local code=$?
  if [ "$code" -eq 1 ] && grep -q -- "$pattern" "$TMP/err"; then pass "$name"; else
    fail "$name (exit $code, wanted 1 and '$pattern')"; cat "$TMP/err"; fi
}
# expect_in NAME PATTERN FILE
expect_in() {
  if grep -q -- "$2" "$3"; then pass "$1"; else fail "$1: no '$2' in $3"; cat "$3"; fi
}

expect_ok "help" "$SM" help
expect_in "help lists generate" "generate" "$TMP/out"
expect_ok "generate --help" "$SM" generate --help
expect_in "generate --help shows -n" "\-n, --n-predict" "$TMP/out"

expect_ok "init small" "$SM" init --preset small "$TMP/small.smm"
expect_ok "init q8_0" "$SM" init --preset small --dtype q8_0 "$TMP/small_q8.smm"
expect_ok "inspect" "$SM" inspect "$TMP/small.smm"
expect_in "inspect shows params" "parameters: 470.53 K (470528)" "$TMP/out"
expect_in "inspect lists tensors" "blk.1.ffn_down.weight" "$TMP/out"
expect_ok "inspect textproto" "$SM" inspect --format textproto "$TMP/small.smm"
expect_in "textproto has the architecture" "embedding_dim: 128" "$TMP/out"

expect_ok "generate greedy" "$SM" generate -m "$TMP/small.smm" -p "Hello" -n 16 --temp 0 -t 2
expect_in "generate echoes the prompt" "^Hello" "$TMP/out"
expect_in "generate reports decode speed" "decode: .* tok/s" "$TMP/err"
cp "$TMP/out" "$TMP/first"
"$SM" generate -m "$TMP/small.smm" -p "Hello" -n 16 --temp 0 --backend portable >"$TMP/second" 2>/dev/null
if cmp -s "$TMP/first" "$TMP/second"; then pass "greedy output is the same on tiled and portable"; else
  fail "greedy output differs between backends"; fi
expect_ok "generate seeded" "$SM" generate -m "$TMP/small_q8.smm" -p "ab" -n 8 -s 3 --top-k 5 --stop zz

expect_ok "bench md" "$SM" bench -m "$TMP/small.smm" -p 16 -n 8 -t 1 -r 2 --backend tiled,portable
expect_in "bench table" "| gpt2 470.53 K f32 | .* | portable | 1 | f16 | tg8 |" "$TMP/out"
expect_ok "bench json" "$SM" bench -m "$TMP/small_q8.smm" -p 8 -n 0 -r 1 -o json
expect_in "bench json" '"test": "pp8"' "$TMP/out"
expect_ok "bench depth" "$SM" bench -m "$TMP/small_q8.smm" -p 8 -n 4 -d 0,40 -r 1 -o json
expect_in "bench depth pp" '"n_depth": 40, "n_sequences": 1, "test": "pp8 @ d40"' "$TMP/out"
expect_in "bench depth tg" '"test": "tg4 @ d40"' "$TMP/out"
expect_in "bench no depth" '"n_depth": 0, "n_sequences": 1, "test": "tg4"' "$TMP/out"
expect_ok "bench kv types" "$SM" bench -m "$TMP/small_q8.smm" -p 8 -n 4 -r 1 -ctk f16,q8_0 -ctv q4_0 -o json
expect_in "bench kv types" '"type_k": "q8_0", "type_v": "q4_0"' "$TMP/out"
expect_in "bench kv types" '"type_k": "f16", "type_v": "q4_0"' "$TMP/out"
expect_ok "generate with a quantized cache" "$SM" generate -m "$TMP/small.smm" -p "Hello" -n 8 \
  --cache-type-k q8_0 -ctv q4_0
expect_in "generate with a quantized cache" "KV cache 26.00 KiB" "$TMP/err"
# perplexity: a text of this script's own lines; a base, then a KV type against it.
for i in 1 2 3; do cat "$0"; done >"$TMP/text.txt"
expect_ok "perplexity" "$SM" perplexity -m "$TMP/small.smm" -f "$TMP/text.txt" -c 32 --chunks 6
expect_in "perplexity" "Final estimate: PPL = " "$TMP/out"
expect_in "perplexity progress" "\[6\]" "$TMP/err"
expect_ok "perplexity base" "$SM" perplexity -m "$TMP/small.smm" -f "$TMP/text.txt" -c 32 \
  --chunks 6 --kl-divergence-base "$TMP/base.kld"
expect_ok "perplexity kl" "$SM" perplexity -m "$TMP/small.smm" -f "$TMP/text.txt" -c 32 \
  --chunks 6 --kl-divergence-base "$TMP/base.kld" --kl-divergence -ctk q4_0 -ctv q4_0
expect_in "perplexity kl" "Mean KLD      = 0.0" "$TMP/out"
expect_in "perplexity kl" "Same top      = .*% of 90 tokens" "$TMP/out"

expect_ok "convert gguf" "$SM" convert "$GGUF_SEED" "$TMP/converted.smm"
expect_in "convert progress" "\[#*\] " "$TMP/err"
expect_ok "generate from converted" "$SM" generate -m "$TMP/converted.smm" -p "ABC" -n 4 --temp 0
cp "$TMP/out" "$TMP/from_smm.out"
expect_ok "convert --quantize" "$SM" convert --quantize q8_0 "$GGUF_SEED" "$TMP/q8.smm"
expect_in "convert --quantize" "q8_0 weights" "$TMP/out"
expect_ok "init q4_k" "$SM" init --preset medium --dtype q4_k "$TMP/q4k.smm"
expect_ok "generate from q4_k" "$SM" generate -m "$TMP/q4k.smm" -p "ab" -n 4 --temp 0
expect_ok "generate straight from a .gguf" "$SM" generate -m "$GGUF_SEED" -p "ABC" -n 4 --temp 0
cmp -s "$TMP/out" "$TMP/from_smm.out" && pass "the .gguf generates what its .smm does" || fail "gguf generate output"
expect_ok "generate straight from a Hugging Face directory" "$SM" generate -m "$HF_DIR" -p "HELLO" -n 4 --temp 0
cmp -s <(head -c 5 "$TMP/out") <(printf HELLO) && pass "the directory's generate echoes the prompt" || fail "directory generate output"
printf 'HI\n/exit\n' | "$SM" chat -m "$HF_DIR" -n 4 --temp 0 >"$TMP/out" 2>"$TMP/err" &&
  pass "chat with a Hugging Face directory (its tokenizer_config.json template)" ||
  { fail "chat -m DIR (exit $?)"; cat "$TMP/err"; }
expect_ok "inspect a .gguf" "$SM" inspect "$GGUF_SEED"
expect_in "a .gguf's weights are used in place" "blk.0.attn_q.weight .* the file's" "$TMP/out"
grep -q "made on opening" "$TMP/out" && fail "a .gguf's tensors copied on opening" || pass "no tensor of the .gguf is copied on opening"

# chat: turns reuse the cached conversation; /reset starts over.
# (A terse template of our own: the small model's context is 64.)
printf 'Hello\n/stats\nAgain\n/reset\nHi\n' |
  "$SM" chat -m "$TMP/small.smm" -s "Be." -n 4 --temp 0 \
  --chat-template '{% for m in messages %}{{ m.role[0] }}:{{ m.content }};{% endfor %}{% if add_generation_prompt %}a:{% endif %}' \
  >"$TMP/out" 2>"$TMP/err" && pass "chat runs" || { fail "chat (exit $?)"; cat "$TMP/err"; }
expect_in "chat prompts for each turn" "^> " "$TMP/out"
expect_in "chat second turn reuses the cache" "(1[0-9] cached)\|([2-9][0-9] cached)" "$TMP/err"
expect_in "chat after /reset prefills from scratch" "prompt 1[0-9] tokens (0 cached)" "$TMP/err"
expect_in "chat reset is announced" "conversation reset" "$TMP/err"
# Constrained output and log probabilities (the small model's bytes as tokens).
expect_ok "generate with a JSON schema" "$SM" generate -m "$TMP/small.smm" -p "x" -n 40 --temp 0.8 -s 3 \
  --display-prompt=false -j '{"type": "object", "properties": {"a": {"enum": [1, 2]}}, "required": ["a"]}'
if python3 -c 'import json, sys; assert json.load(open(sys.argv[1])) in ({"a": 1}, {"a": 2})' "$TMP/out"; then
  pass "the text is the schema's JSON"; else
  fail "schema output"; cat "$TMP/out"; fi
printf 'root ::= "yes" | "no"\n' > "$TMP/yn.gbnf"
expect_ok "generate with a grammar file" "$SM" generate -m "$TMP/small.smm" -p "x" -n 8 --temp 0 \
  --display-prompt=false --grammar-file "$TMP/yn.gbnf" --logprobs 2
if grep -qxE 'yes|no' "$TMP/out"; then pass "the text follows the grammar"; else fail "grammar output"; cat "$TMP/out"; fi
expect_in "--logprobs prints each token's" "likeliest" "$TMP/err"
expect_error "a grammar that does not parse" "grammar: line 1, column 10: rule 'a' is used but not defined" \
  "$SM" generate -m "$TMP/small.smm" -p "x" --grammar 'root ::= a'
expect_error "an unsupported schema keyword" "json_schema: /: 'minimum' is not supported" \
  "$SM" generate -m "$TMP/small.smm" -p "x" -j '{"type": "integer", "minimum": 0}'
expect_error "two constraints" "\-\-grammar-file, --json-schema: give one of them" \
  "$SM" generate -m "$TMP/small.smm" -p "x" --grammar-file "$TMP/yn.gbnf" -j '{}'
expect_error "chat without a template" "no chat template; pass --chat-template NAME" \
  "$SM" chat -m "$TMP/small.smm"
expect_error "chat with an unknown template" "unknown chat template 'nope'" \
  "$SM" chat -m "$TMP/small.smm" --chat-template nope

expect_ok "profile" "$SM" profile -m "$TMP/small.smm" -r 2 -n 8 --out-dir "$TMP"
expect_in "profile key metrics" "## Key metrics" "$TMP/profile.md"
expect_in "profile top ops" "| matmul ffn up |" "$TMP/profile.md"
expect_in "profile times the KV cache write" "| kv cache write |" "$TMP/profile.md"
expect_in "profile counts decode allocations" "heap allocations during decode | 0" "$TMP/profile.md"
expect_in "profile json" '"decode_tokens_per_second"' "$TMP/profile.json"
expect_in "profile svg" "<svg" "$TMP/profile.svg"
expect_ok "profile creates its directory" "$SM" profile -m "$TMP/small.smm" -r 1 -n 4 --out-dir "$TMP/new/dir"
expect_in "profile wrote into the new directory" '"ops"' "$TMP/new/dir/profile.json"
printf '{"metrics": {"decode": {"unit": "tok/s", "samples": [100, 101, 99]}}}' > "$TMP/base.json"
printf '{"metrics": {"decode": {"unit": "tok/s", "samples": [80, 81, 79]}}}' > "$TMP/slow.json"
printf '{"metrics": {"decode": {"unit": "tok/s", "samples": [102, 99, 100]}}}' > "$TMP/same.json"
"$SM" profile --compare "$TMP/base.json" "$TMP/slow.json" > "$TMP/out"
code=$?
if [ "$code" -eq 1 ] && grep -q "REGRESSED" "$TMP/out"; then pass "compare flags a regression"; else
  fail "compare regression (exit $code)"; cat "$TMP/out"; fi
"$SM" profile --compare --regression-exit-code 3 "$TMP/base.json" "$TMP/slow.json" > /dev/null
code=$?
if [ "$code" -eq 3 ]; then pass "compare exit code is configurable"; else fail "compare exit $code"; fi
expect_ok "compare stable" "$SM" profile --compare "$TMP/base.json" "$TMP/same.json"
expect_in "compare stable verdict" "STABLE" "$TMP/out"
expect_ok "compare own report" "$SM" profile --compare "$TMP/profile.json" "$TMP/profile.json"

for i in $(seq 200); do echo "the quick brown fox jumps over the lazy dog."; done > "$TMP/corpus.txt"
expect_ok "train" "$SM" train --data "$TMP/corpus.txt" --steps 30 --batch 4 --seq 32 \
  --eval-every 10 --eval-batches 2 -t 2 -o "$TMP/trained.smm"
expect_in "train reports the baseline" "unigram baseline" "$TMP/out"
expect_in "train draws the loss curve" "<svg" "$TMP/trained.smm.loss.svg"
expect_ok "generate from the checkpoint" "$SM" generate -m "$TMP/trained.smm" -p "the " -n 20 --temp 0
expect_ok "resume" "$SM" train --data "$TMP/corpus.txt" --steps 40 --batch 4 --seq 32 \
  --eval-every 10 --eval-batches 2 --resume "$TMP/trained.smm" -o "$TMP/trained.smm"
expect_in "resume runs the remaining steps" "10 steps in" "$TMP/out"

# Bad input: a message and exit code 1, never a crash.
expect_error "missing model" "cannot open" "$SM" generate -m "$TMP/nope.smm" -p x
head -c 100 "$TMP/small.smm" > "$TMP/truncated.smm"
expect_error "truncated model" "runs past the end of the file" "$SM" generate -m "$TMP/truncated.smm" -p x
expect_error "unknown backend" "unknown backend 'cuda'" "$SM" generate -m "$TMP/small.smm" -p x --backend cuda
expect_error "unsupported dtype" "does not support q8_0" "$SM" generate -m "$TMP/small_q8.smm" -p x --backend blas
expect_error "prompt too long" "the prompt is 100 tokens, but only 64" "$SM" generate -m "$TMP/small.smm" -p "$(printf 'x%.0s' $(seq 100))"
expect_ok "prompt truncated on request" "$SM" generate -m "$TMP/small.smm" --truncate-prompt -n 4 -p "$(printf 'x%.0s' $(seq 100))"
expect_error "bad sampler option" "top_p (--top-p) is 2" "$SM" generate -m "$TMP/small.smm" -p x --top-p 2
expect_error "unknown flag" "unknown flag '--bogus'" "$SM" generate --bogus 1
expect_error "unknown command" "unknown command" "$SM" frobnicate
expect_error "unknown preset" "unknown preset 'huge'" "$SM" init --preset huge "$TMP/x.smm"
expect_error "convert garbage" "not a model SmallMind can tell" "$SM" convert "$TMP/err" "$TMP/y.smm"
expect_error "bench bad list" "is not a non-negative integer" "$SM" bench -m "$TMP/small.smm" -p 1,x
expect_error "bench past the context" "a prompt of 64 plus 32 generated tokens does not fit the model's context of 64" \
  "$SM" bench -m "$TMP/small.smm" -p 16,64 -n 32
expect_error "bench depth past the context" "a prompt of 16 plus 8 generated tokens after a depth of 48 does not fit" \
  "$SM" bench -m "$TMP/small.smm" -p 16 -n 8 -d 48
expect_error "train without data" "no data" "$SM" train
expect_error "train on a missing file" "cannot read" "$SM" train --data "$TMP/missing.txt"
expect_error "compare garbage" "not a JSON object" "$SM" profile --compare "$TMP/err" "$TMP/base.json"
expect_error "bench bad kv type" "--cache-type-v 'q6' is not a KV cache type" \
  "$SM" bench -m "$TMP/small.smm" -p 8 -n 0 -ctv q6
expect_error "generate bad kv type" "--cache-type-k 'int4' is not a KV cache type" \
  "$SM" generate -m "$TMP/small.smm" -p Hi -n 2 -ctk int4
expect_error "perplexity without text" "no text file given (-f)" "$SM" perplexity -m "$TMP/small.smm"
expect_error "perplexity kl without base" "--kl-divergence needs --kl-divergence-base" \
  "$SM" perplexity -m "$TMP/small.smm" -f "$TMP/text.txt" --kl-divergence
echo "too short" >"$TMP/short.txt"
expect_error "perplexity short text" "the text has 10 tokens; scoring needs at least one chunk of 64" \
  "$SM" perplexity -m "$TMP/small.smm" -f "$TMP/short.txt" -c 64
expect_error "perplexity another context" "was scored on another text, vocabulary or context" \
  "$SM" perplexity -m "$TMP/small.smm" -f "$TMP/text.txt" -c 16 --chunks 6 \
  --kl-divergence-base "$TMP/base.kld" --kl-divergence
expect_error "perplexity garbage base" "not a KL base file" \
  "$SM" perplexity -m "$TMP/small.smm" -f "$TMP/text.txt" -c 32 --chunks 6 \
  --kl-divergence-base "$TMP/text.txt" --kl-divergence

# embed: one JSON vector a line, from a GGUF and a Hugging Face directory
# alike; rerank scores; bad input.
printf 'the city of new york\na new house\n' >"$TMP/texts.txt"
expect_ok "embed gguf" "$SM" embed -m "$ENCODERS/bert_tiny.gguf" -f "$TMP/texts.txt" -t 2
cp "$TMP/out" "$TMP/gguf_vectors"
[ "$(wc -l <"$TMP/gguf_vectors")" = 2 ] && grep -q '^\[.*\]$' "$TMP/gguf_vectors" &&
  pass "embed: two vectors" || { fail "embed output"; cat "$TMP/gguf_vectors"; }
expect_ok "embed hf directory" "$SM" embed -m "$ENCODERS/bert_tiny" -f "$TMP/texts.txt"
python3 - "$TMP/gguf_vectors" "$TMP/out" <<'PY' && pass "embed: GGUF and directory agree" || fail "embed: GGUF and directory differ"
import json, sys
a, b = ([json.loads(l) for l in open(p)] for p in sys.argv[1:3])
assert len(a) == len(b) == 2 and all(abs(x - y) < 1e-6 for u, v in zip(a, b) for x, y in zip(u, v))
PY
expect_ok "embed stdin, dimensions" sh -c "echo hello | '$SM' embed -m '$ENCODERS/nomic_tiny.gguf' --dimensions 8 --pooling cls"
[ "$(tr -cd , <"$TMP/out" | wc -c)" = 7 ] && pass "embed: 8 dimensions" || { fail "embed dimensions"; cat "$TMP/out"; }
expect_ok "embed rerank" "$SM" embed -m "$ENCODERS/rerank_tiny.gguf" -f "$TMP/texts.txt" --rerank "the city"
[ "$(wc -l <"$TMP/out")" = 2 ] && pass "rerank: two scores" || { fail "rerank output"; cat "$TMP/out"; }
printf 'a\n\nb\n' >"$TMP/gap.txt"
expect_error "embed empty line" "line 2 is empty" "$SM" embed -m "$ENCODERS/bert_tiny.gguf" -f "$TMP/gap.txt"
expect_error "embed bad pooling" "--pooling 'max' is not one of" \
  "$SM" embed -m "$ENCODERS/bert_tiny.gguf" -f "$TMP/texts.txt" --pooling max
expect_error "embed reranker" "use rerank" "$SM" embed -m "$ENCODERS/rerank_tiny.gguf" -f "$TMP/texts.txt"
expect_error "embed no classifier" "no classifier head" \
  "$SM" embed -m "$ENCODERS/bert_tiny.gguf" -f "$TMP/texts.txt" --rerank q
expect_error "generate with an encoder" "is an encoder (bert): it embeds texts" "$SM" generate -m "$ENCODERS/bert_tiny.gguf" -p hi -n 2

if [ "$failures" -gt 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "all passed"
