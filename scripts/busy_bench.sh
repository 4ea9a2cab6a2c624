#!/usr/bin/env bash
# How the engine fares on a machine others use: prefill and decode on 1 and
# 2 threads (smallmind bench -p 64 -n 128, llama-bench's decode length),
# and smallmind serve --parallel 4 -t 2 at 4 clients (tools/loadgen), each
# with the machine idle and then beside two busy processes (`yes`, in a
# session of their own, as another user's jobs would be), rounds
# interleaved. With a llama.cpp build directory, its
# llama-bench and llama-server run the same tests beside them.
#   bash scripts/busy_bench.sh MODEL.gguf [LLAMA_CPP_BIN=/tmp/peers/llama.cpp/build/bin] [ROUNDS=2]
# Prints a Markdown table: t/s idle and busy, busy/idle, and busy -t 2 over
# busy -t 1.
set -u
model=${1:?model (.gguf or .smm)}; peer=${2:-/tmp/peers/llama.cpp/build/bin}; rounds=${3:-2}
cd "$(dirname "$0")/.."
bazel build --config=opt //tools/smallmind //tools/loadgen >/dev/null 2>&1 || exit 1
sm=bazel-bin/tools/smallmind/smallmind; lg=bazel-bin/tools/loadgen/loadgen
out=$(mktemp -d)
sm_model=$model
case $model in *.smm) ;; *) sm_model=$out/model.smm; "$sm" convert "$model" "$sm_model" >/dev/null 2>&1 || exit 1;; esac
have_peer=0; [ -x "$peer/llama-bench" ] && [ -x "$peer/llama-server" ] && have_peer=1

busy_start() { setsid bash -c 'yes > /dev/null & yes > /dev/null & wait' & busy=$!; sleep 1; }
busy_stop() { kill -- -"$busy" 2>/dev/null; pkill -x yes 2>/dev/null; wait "$busy" 2>/dev/null; }

serve_run() {  # serve_run ENGINE LABEL: one 10 s run of 4 streaming clients
  local port=18500
  if [ "$1" = smallmind ]; then
    "$sm" serve -m "$model" --port $port --parallel 4 -t 2 -c 256 2>/dev/null &
  else
    "$peer/llama-server" -m "$model" --port $port -np 4 -t 2 -c 1024 --no-webui >/dev/null 2>&1 &
  fi
  local pid=$!
  for _ in $(seq 300); do curl -sf "127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
  "$lg" --port $port --clients 1 --requests 2 --max-tokens 16 >/dev/null 2>&1
  "$lg" --port $port --clients 4 --duration 10 --max-tokens 64 --json "$out/$2.json" >/dev/null 2>&1
  kill -TERM $pid; wait $pid 2>/dev/null
}

for round in $(seq "$rounds"); do
  for state in idle busy; do
    [ $state = busy ] && busy_start
    for t in 1 2; do
      "$sm" bench -m "$sm_model" -p 64 -n 128 -t $t -r 5 -o json >"$out/smallmind_${state}_t${t}_r$round.json" 2>/dev/null
      if [ $have_peer = 1 ]; then
        "$peer/llama-bench" -m "$model" -p 64 -n 128 -t $t -r 5 -o json \
          >"$out/llama.cpp_${state}_t${t}_r$round.json" 2>/dev/null
      fi
    done
    serve_run smallmind "serve-smallmind_${state}_r$round"
    [ $have_peer = 1 ] && serve_run llama-server "serve-llama.cpp_${state}_r$round"
    [ $state = busy ] && busy_stop
  done
done

/usr/bin/python3 - "$out" "$rounds" <<'EOF'
import json, os, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def load(name):
    path = os.path.join(out, name)
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return None
    with open(path) as f:
        return json.load(f)
def bench(engine, state, t, test):
    vals = []
    for r in range(1, rounds + 1):
        rows = load(f"{engine}_{state}_t{t}_r{r}.json") or []
        vals += [row["avg_ts"] for row in rows
                 if (row.get("test") or ("pp" if row.get("n_prompt") else "tg")).startswith(test)
                 and (row.get("n_prompt", 0) > 0) == (test == "pp")]
    return statistics.median(vals) if vals else None
def serve(engine, state):
    vals = [j["tokens_per_second"] for r in range(1, rounds + 1)
            if (j := load(f"serve-{engine}_{state}_r{r}.json"))]
    return statistics.median(vals) if vals else None
fmt = lambda v: f"{v:,.0f}" if v else "—"
ratio = lambda a, b: f"{a / b:.2f}" if a and b else "—"
print("| engine | test | threads | idle t/s | busy t/s | busy / idle | busy: -t 2 / -t 1 |")
print("|---|---|---:|---:|---:|---:|---:|")
engines = ["smallmind"] + (["llama.cpp"] if load("llama.cpp_idle_t1_r1.json") else [])
for engine in engines:
    for test in ("pp", "tg"):
        for t in (1, 2):
            idle, busy = bench(engine, "idle", t, test), bench(engine, "busy", t, test)
            vs1 = ratio(busy, bench(engine, "busy", 1, test)) if t == 2 else ""
            print(f"| {engine} | {dict(pp='pp64', tg='tg128')[test]} | {t} | {fmt(idle)} | {fmt(busy)} | {ratio(busy, idle)} | {vs1} |")
    idle, busy = serve(engine, "idle"), serve(engine, "busy")
    print(f"| {engine} | serve, 4 slots, 4 clients | 2 | {fmt(idle)} | {fmt(busy)} | {ratio(busy, idle)} | |")
EOF
rm -rf "$out"
