#!/usr/bin/env bash
# smallmind serve against llama-server on one GGUF, with the same slots and
# threads: tools/loadgen at each client count (streaming, max_tokens N,
# ignore_eos), one server at a time on the machine.
#   bash scripts/serve_bench.sh MODEL.gguf [SLOTS=4] [THREADS=2] [CTX_PER_SLOT=256] \
#     ["CLIENTS"="1 4 16"] [SECONDS=10] [N=64] [OUT=/tmp/serve_bench] [PEERS=/tmp/peers]
# More flags from the environment: SM_FLAGS (smallmind serve), LS_FLAGS
# (llama-server), LG_FLAGS (loadgen), e.g. conversations outnumbering slots:
#   SM_FLAGS="--chat-template chatml" LS_FLAGS="--chat-template chatml" \
#   LG_FLAGS="--chat --conversation --requests 4" bash scripts/serve_bench.sh ...
set -u
m=${1:?model.gguf}; np=${2:-4}; t=${3:-2}; c=${4:-256}; clients=${5:-"1 4 16"}
d=${6:-10}; n=${7:-64}; out=${8:-/tmp/serve_bench}; peers=${9:-/tmp/peers}
cd "$(dirname "$0")/.."
bazel build --config=opt //tools/smallmind //tools/loadgen >/dev/null 2>&1 || exit 1
sm=bazel-bin/tools/smallmind/smallmind; lg=bazel-bin/tools/loadgen/loadgen
ls=$peers/llama.cpp/build/bin/llama-server
mkdir -p "$out"
port=18400
for engine in smallmind llama-server; do
  port=$((port + 1))
  if [ $engine = smallmind ]; then
    "$sm" serve -m "$m" --port $port --parallel "$np" -t "$t" -c "$c" ${SM_FLAGS:-} 2>"$out/$engine.log" &
  else
    "$ls" -m "$m" --port $port -np "$np" -t "$t" -c $((c * np)) --no-webui ${LS_FLAGS:-} \
      >/dev/null 2>"$out/$engine.log" &
  fi
  pid=$!
  for _ in $(seq 300); do curl -sf "127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
  "$lg" --port $port --clients 1 --requests 2 --max-tokens 16 >/dev/null 2>&1  # warm up
  for k in $clients; do
    "$lg" --port $port --clients "$k" --duration "$d" --max-tokens "$n" ${LG_FLAGS:-} \
      --json "$out/${engine}_c$k.json" 2>/dev/null | sed "s/^/$engine: /"
  done
  kill -TERM $pid; wait $pid 2>/dev/null
done
