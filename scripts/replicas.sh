#!/usr/bin/env bash
# N replicas of `smallmind serve` on loopback behind HAProxy (Debian's
# package), until Ctrl-C or SIGTERM; then everything started is stopped.
#   bash scripts/replicas.sh MODEL [N=2] [PORT=8080] [-- serve flags...]
# Replicas listen on PORT+1..PORT+N; HAProxy on PORT. Env: SMALLMIND (the
# binary; default: bazel-bin/tools/smallmind/smallmind), OUT (logs and the
# generated config; default: a temporary directory).
set -euo pipefail
model=${1:?model}; n=${2:-2}; port=${3:-8080}; shift $(( $# < 3 ? $# : 3 ))
[ "${1:-}" = "--" ] && shift
here=$(cd "$(dirname "$0")/.." && pwd)
sm=${SMALLMIND:-$here/bazel-bin/tools/smallmind/smallmind}
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
command -v haproxy >/dev/null || { echo "replicas: haproxy is not installed (apt-get install haproxy)" >&2; exit 1; }
pids=()
stop() { kill -TERM "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap stop EXIT INT TERM
cp "$here/deploy/haproxy/haproxy.cfg" "$out/haproxy.cfg"
for i in $(seq 1 "$n"); do
  "$sm" serve -m "$model" --port $((port + i)) "$@" 2>"$out/replica$i.log" &
  pids+=($!)
  echo "    server r$i 127.0.0.1:$((port + i)) check" >> "$out/haproxy.cfg"
done
for i in $(seq 1 "$n"); do
  for _ in $(seq 300); do curl -sf "127.0.0.1:$((port + i))/health" >/dev/null && break; sleep 0.1; done
done
HAPROXY_BIND="127.0.0.1:$port" haproxy -f "$out/haproxy.cfg" -db 2>"$out/haproxy.log" &
haproxy_pid=$!
pids+=($haproxy_pid)
echo "replicas: $n replicas behind http://127.0.0.1:$port (logs in $out)" >&2
# A replica that dies is routed around; the set lives as long as HAProxy.
wait "$haproxy_pid" || true
