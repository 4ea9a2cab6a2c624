#!/usr/bin/env bash
# What --kv-budget holds a server's memory to: smallmind serve with SLOTS
# slots of CTX positions, once without a budget and once per BUDGET, is
# sent ROUNDS rounds of SLOTS requests at once, each a different prompt of
# PROMPT random token ids with max_tokens 8, so slots keep long histories.
# Prints the server's resident memory after loading, its peak and at the
# end (VmRSS, VmHWM), the KV positions /metrics reports, and the wall time.
#   bash scripts/kv_budget_bench.sh MODEL [SLOTS=8] [CTX=8192] [PROMPT=3000] \
#     ["BUDGETS"="8192"] [THREADS=2] [ROUNDS=2]
set -u
m=${1:?model}; np=${2:-8}; c=${3:-8192}; prompt=${4:-3000}; budgets=${5:-8192}
t=${6:-2}; rounds=${7:-2}
cd "$(dirname "$0")/.."
bazel build --config=opt //tools/smallmind >/dev/null 2>&1 || exit 1
sm=bazel-bin/tools/smallmind/smallmind
port=18480
rss() { awk -v k="$2:" '$1 == k { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
printf '| --kv-budget | KV positions held at the end | RSS loaded (MiB) | peak RSS | RSS at the end | %d rounds took (s) |\n|---|---:|---:|---:|---:|---:|\n' "$rounds"
for budget in 0 $budgets; do
  port=$((port + 1))
  log=$(mktemp)
  "$sm" serve -m "$m" --port $port --parallel "$np" -t "$t" -c "$c" --cache-ram 0 \
    --kv-budget "$budget" 2>"$log" &
  pid=$!
  for _ in $(seq 600); do curl -sf "127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
  loaded=$(rss $pid VmRSS)
  start=$(date +%s%N)
  python3 - "$port" "$np" "$prompt" "$rounds" <<'EOF' || echo "requests failed: $(cat "$log")"
import json, random, sys, threading, urllib.request
port, slots, length, rounds = (int(a) for a in sys.argv[1:])
def ask(seed, errors):
    ids = random.Random(seed).choices(range(3, 1000), k=length)
    body = json.dumps({"prompt": ids, "max_tokens": 8, "temperature": 0}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/completions", body,
                                 {"Content-Type": "application/json"})
    try:
        json.load(urllib.request.urlopen(req, timeout=3600))
    except Exception as e:  # noqa: BLE001 - reported below
        errors.append(str(e))
errors = []
for r in range(rounds):
    threads = [threading.Thread(target=ask, args=(r * slots + i, errors)) for i in range(slots)]
    for th in threads: th.start()
    for th in threads: th.join()
sys.exit(1 if errors else 0)
EOF
  took=$((($(date +%s%N) - start) / 1000000))
  held=$(curl -sf "127.0.0.1:$port/metrics" | awk '$1 == "smallmind_kv_positions" { print $2 }')
  printf '| %s | %s | %s | %s | %s | %d.%d |\n' "$budget" "$held" "$loaded" "$(rss $pid VmHWM)" \
    "$(rss $pid VmRSS)" $((took / 1000)) $((took % 1000 / 100))
  kill -TERM $pid; wait $pid 2>/dev/null
  rm -f "$log"
done
