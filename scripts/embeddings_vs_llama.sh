#!/usr/bin/env bash
# SmallMind's embeddings beside llama.cpp's llama-embedding on the same
# GGUF files: the cosine similarity of every text's two vectors, and
# embeddings per second for the whole set on 1 and 2 threads (one process
# each, wall clock, the engines interleaved; best of REPS runs).
#
#   bash scripts/embeddings_vs_llama.sh LLAMA_EMBEDDING TEXTS MODEL.gguf...
#
# TEXTS holds one text a line (make one with TEXTS_FROM_VOCAB below).
# Both engines pack whole texts into forward passes of up to BATCH tokens
# (2048: about 30 texts of the set below). Env: BATCH, REPS (3), SMALLMIND
# (default bazel-bin/tools/smallmind/smallmind, built if missing).
#
# A test set of N texts of 16-128 words drawn from a BERT vocabulary:
#   python3 -c 'import json,random; r=random.Random(1); v=[w for w in json.load(open("tests/reference/tokenizers/bert/tokenizer.json"))["model"]["vocab"] if w.isalpha() and len(w)>2]; [print(" ".join(r.choice(v) for _ in range(r.randint(14,126)))) for _ in range(1000)]' > /tmp/texts.txt
set -euo pipefail
cd "$(dirname "$0")/.."
llama=${1:?usage: embeddings_vs_llama.sh LLAMA_EMBEDDING TEXTS MODEL.gguf...}
texts=${2:?usage: embeddings_vs_llama.sh LLAMA_EMBEDDING TEXTS MODEL.gguf...}
shift 2
sm=${SMALLMIND:-bazel-bin/tools/smallmind/smallmind}
[ -x "$sm" ] || bazel build -c opt //tools/smallmind >/dev/null
batch=${BATCH:-2048}
reps=${REPS:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
n=$(wc -l <"$texts")
now() { date +%s.%N; }
# llama-embedding's logger may exit before all of its output is printed, so
# it is run until the JSON parses.
run_llama() {  # model threads out
  for _ in 1 2 3 4 5; do
    LD_LIBRARY_PATH="$(dirname "$llama")" "$llama" -m "$1" -f "$texts" -t "$2" \
      -b "$batch" -ub "$batch" --embd-output-format array >"$3" 2>/dev/null || true
    python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$3" 2>/dev/null && return 0
  done
  echo "llama-embedding gave no JSON for $1" >&2
  return 1
}
printf '%-28s %7s %9s %9s | %11s %11s %7s\n' model threads "min cos" "mean cos" "llama t/s" "ours t/s" ratio
for model in "$@"; do
  for threads in 1 2; do
    best_l=0 best_s=0
    for _ in $(seq "$reps"); do
      t0=$(now); run_llama "$model" "$threads" "$work/llama.json"; t1=$(now)
      "$sm" embed -m "$model" -f "$texts" -t "$threads" -b "$batch" >"$work/ours.txt" 2>/dev/null
      t2=$(now)
      best_l=$(python3 -c "print(max($best_l, $n / ($t1 - $t0)))")
      best_s=$(python3 -c "print(max($best_s, $n / ($t2 - $t1)))")
    done
    python3 - "$work/llama.json" "$work/ours.txt" "$model" "$threads" "$best_l" "$best_s" <<'PY'
import json, math, os, sys
llama = json.load(open(sys.argv[1]))
ours = [json.loads(line) for line in open(sys.argv[2])]
assert len(llama) == len(ours), (len(llama), len(ours))
def cos(a, b):
    return sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))
c = [cos(a, b) for a, b in zip(llama, ours)]
l, s = float(sys.argv[5]), float(sys.argv[6])
print("%-28s %7s %9.6f %9.6f | %11.1f %11.1f %6.2fx" % (
    os.path.basename(sys.argv[3]), sys.argv[4], min(c), sum(c) / len(c), l, s, s / l))
PY
  done
done
