#!/usr/bin/env bash
# SmallMind's `bench` beside llama.cpp's `llama-bench` (and ik_llama.cpp's, if
# given) on the same GGUF files: the figures the README publishes.
#
#   bash scripts/compare_peers.sh LLAMA_BENCH [IK_LLAMA_BENCH|-] MODEL.gguf...
#
# Each engine runs the same test (pp PP, tg TG, after DEPTH tokens in the
# cache) at each thread count; engines take turns per (model, threads) and
# rounds repeat the whole pass, so a drift of the machine hits all alike. A
# MODEL.smm beside MODEL.gguf is what SmallMind runs (its converted form);
# otherwise it reads the GGUF file. ik_llama.cpp runs llama-architecture
# models with -rtr (its load-time repacking); its llama-bench has no -d, so
# at a DEPTH it times decoding only, with -gp DEPTH,TG (TG tokens after a
# DEPTH-token prompt). KV gives all three engines that KV cache type; the
# peers then run with flash attention off and on (FA, llama-bench's -fa
# list; on alone for a quantized type, which needs it) and the faster
# counts.
# Env: PP (64), TG (128), DEPTH (0), KV (each engine's default), FA (0,1),
# THREADS ("1 2"), REPS (5), ROUNDS (2), SMALLMIND (default:
# bazel-bin/tools/smallmind/smallmind, built if missing).
# Prints a markdown table of medians over the rounds and SmallMind's ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
llama=${1:?usage: compare_peers.sh LLAMA_BENCH [IK_LLAMA_BENCH|-] MODEL.gguf...}
ik=${2:?usage: compare_peers.sh LLAMA_BENCH [IK_LLAMA_BENCH|-] MODEL.gguf...}
shift 2
[ $# -gt 0 ] || { echo "compare_peers.sh: no model" >&2; exit 2; }
pp=${PP:-64} tg=${TG:-128} depth=${DEPTH:-0} reps=${REPS:-5} rounds=${ROUNDS:-2}
at_depth=(); [ "$depth" = 0 ] || at_depth=(-d "$depth")
kv=(); peer_kv=()
if [ -n "${KV:-}" ]; then
  kv=(-ctk "$KV" -ctv "$KV")
  fa=${FA:-0,1}; case $KV in q*) fa=1;; esac
  peer_kv=(-fa "$fa" "${kv[@]}")
fi
sm=${SMALLMIND:-bazel-bin/tools/smallmind/smallmind}
if [ ! -x "$sm" ]; then bazel build --config=opt //tools/smallmind >&2; fi
[ -x "$llama" ] || { echo "compare_peers.sh: $llama is not executable" >&2; exit 2; }

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# An engine that fails leaves a gap in the table, and says why here.
failed() { echo "compare_peers.sh: $1 failed on $name, $t thread(s): $(tail -n 2 "$out/err")" >&2; }
for round in $(seq "$rounds"); do
  for model in "$@"; do
    name=$(basename "$model" .gguf)
    smm="${model%.gguf}.smm"; [ -f "$smm" ] || smm=$model
    arch=$("$sm" inspect "$model" 2>/dev/null | sed -n 's/^  name: "\(.*\)"$/\1/p' | head -1)
    for t in ${THREADS:-1 2}; do
      echo "round $round: $name, $t thread(s)" >&2
      "$llama" -m "$model" -p "$pp" -n "$tg" "${at_depth[@]}" "${peer_kv[@]}" -t "$t" -r "$reps" -o json \
        >"$out/$round.$name.$t.llama.json" 2>"$out/err" || failed llama.cpp
      "$sm" bench -m "$smm" -p "$pp" -n "$tg" "${at_depth[@]}" "${kv[@]}" -t "$t" -r "$reps" -o json \
        >"$out/$round.$name.$t.smallmind.json" 2>"$out/err" || failed SmallMind
      if [ "$ik" != - ] && [ "$arch" = llama ]; then
        ik_tests=(-p "$pp" -n "$tg"); [ "$depth" = 0 ] || ik_tests=(-p 0 -n 0 -gp "$depth,$tg")
        "$ik" -m "$model" "${ik_tests[@]}" "${peer_kv[@]}" -t "$t" -r "$reps" -rtr 1 -o json \
          >"$out/$round.$name.$t.ik.json" 2>"$out/err" || failed ik_llama.cpp
      fi
    done
  done
done

python3 - "$out" "$pp" "$tg" "$depth" "${THREADS:-1 2}" "$@" <<'EOF'
import glob, json, os, statistics, sys
out, pp, tg, depth, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5].split()
models = [os.path.basename(m)[:-len(".gguf")] if m.endswith(".gguf") else os.path.basename(m) for m in sys.argv[6:]]

def rate(path, prompt):
    """The fastest avg_ts of the pp (prompt) or tg rows in one engine's JSON
    (rows of one test differ in -fa), or None. A row with both a prompt and
    generated tokens is ik_llama.cpp's -gp: decoding after the prompt."""
    try:
        runs = json.load(open(path))
    except (OSError, ValueError):
        return None
    rates = [r["avg_ts"] for r in runs
             if (r.get("n_gen", 0) == 0) == prompt and (r.get("n_prompt", 0) > 0 or not prompt)]
    return max(rates) if rates else None

def median(engine, model, t, prompt):
    values = [rate(p, prompt) for p in sorted(glob.glob(f"{out}/*.{model}.{t}.{engine}.json"))]
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None

fmt = lambda v: "—" if v is None else f"{v:.1f}"
ratio = lambda a, b: "—" if a is None or b is None else f"{a / b:.2f}×"
at = f" @ d{depth}" if depth else ""
print("| model | threads | test | llama.cpp t/s | ik_llama.cpp t/s | SmallMind t/s | ÷ llama.cpp | ÷ ik_llama.cpp |")
print("|---|---:|---|---:|---:|---:|---:|---:|")
for model in models:
    for t in threads:
        for prompt, test in ((True, f"pp{pp}{at}"), (False, f"tg{tg}{at}")):
            l, i, s = (median(e, model, t, prompt) for e in ("llama", "ik", "smallmind"))
            print(f"| {model} | {t} | {test} | {fmt(l)} | {fmt(i)} | {fmt(s)} | {ratio(s, l)} | {ratio(s, i)} |")
EOF
