#!/usr/bin/env bash
# A server under misbehaving clients: N connections that say nothing, send a
# byte a second, send half a request or idle on a kept-alive connection
# (tools/loadgen --hostile, reopened as the server closes them), beside a
# 16-client streaming load, with GET /health timed on fresh connections
# every 20 ms; and the same load without them. smallmind serve, and
# llama-server when its path is given, one at a time, same slots and threads.
#   bash scripts/hostile_bench.sh MODEL.gguf [N=10000] [KINDS="idle slow mixed"] \
#     [LLAMA_SERVER=/tmp/peers/llama.cpp/build/bin/llama-server] [SECONDS=10]
set -u
model=${1:?model.gguf}; n=${2:-10000}; kinds=${3:-"idle slow mixed"}
peer=${4:-/tmp/peers/llama.cpp/build/bin/llama-server}; seconds=${5:-10}
cd "$(dirname "$0")/.."
bazel build --config=opt //tools/smallmind //tools/loadgen >/dev/null 2>&1 || exit 1
sm=bazel-bin/tools/smallmind/smallmind; lg=bazel-bin/tools/loadgen/loadgen
out=$(mktemp -d)
engines=smallmind; [ -x "$peer" ] && engines="smallmind llama-server"
for engine in $engines; do
  port=18600
  if [ $engine = smallmind ]; then
    "$sm" serve -m "$model" --port $port --parallel 4 -t 2 -c 256 2>/dev/null &
  else
    "$peer" -m "$model" --port $port -np 4 -t 2 -c 1024 --no-webui >/dev/null 2>&1 &
  fi
  pid=$!
  for _ in $(seq 300); do curl -sf "127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
  "$lg" --port $port --clients 1 --requests 2 --max-tokens 16 >/dev/null 2>&1
  for kind in none $kinds; do
    hostile=""; [ $kind != none ] && hostile="--hostile $n --hostile-kind $kind"
    "$lg" --port $port --clients 16 --duration "$seconds" --max-tokens 64 --request-timeout 30 \
      --probe-health $hostile --json "$out/${engine}_$kind.json" >/dev/null 2>&1
    sleep 2
  done
  kill -TERM $pid; wait $pid 2>/dev/null
done
/usr/bin/python3 - "$out" "$n" "$engines" "none $kinds" <<'PY'
import json, os, sys
out, n, engines, kinds = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(), sys.argv[4].split()
print("| engine | hostile connections | generated t/s | vs none | failed requests | /health p50 / p99 / max | failed probes |")
print("|---|---|---:|---:|---:|---|---:|")
for e in engines:
    base = None
    for k in kinds:
        path = os.path.join(out, f"{e}_{k}.json")
        if not os.path.exists(path):
            print(f"| {e} | {k} | — | — | — | — | — |"); continue
        j = json.load(open(path))
        tps = j["tokens_per_second"]; base = tps if k == "none" else base
        h = j.get("health", {})
        label = "none" if k == "none" else f"{n:,} {k}"
        vs = f"{tps / base:.2f}" if base else "—"
        print(f"| {e} | {label} | {tps:,.0f} | {vs} | {j['failures']} of {j['requests']} | "
              f"{1e3*h.get('p50',0):.1f} / {1e3*h.get('p99',0):.1f} / {1e3*h.get('max',0):.1f} ms | "
              f"{h.get('failures',0)} of {h.get('probes',0) + h.get('failures',0)} |")
PY
rm -rf "$out"
