#!/usr/bin/env bash
# Two replicas of `smallmind serve` behind HAProxy on loopback
# (scripts/replicas.sh): requests spread over both, a conversation key keeps
# a conversation on one replica, and after one replica is killed mid-run,
# requests past the failover window all succeed. Everything started here is
# stopped here.
set -uo pipefail
SM=$(cd "$(dirname "$1")" && pwd)/$(basename "$1"); LOADGEN="$2"; REPLICAS="$3"
TMP="${TEST_TMPDIR:-$(mktemp -d)}"
failures=0
pass() { echo "ok: $1"; }
fail() { echo "FAIL: $1"; failures=$((failures + 1)); }

"$SM" init --preset medium "$TMP/medium.smm" >/dev/null
# Three consecutive free ports (HAProxy's, then one per replica), below the
# ephemeral range, where the other tests' servers (port 0) and clients are.
PORT=$(/usr/bin/python3 - <<'PY'
import random, socket
for _ in range(200):
    base, held = random.randrange(20000, 32000), []
    try:
        for port in range(base, base + 3):
            s = socket.socket()
            held.append(s)
            s.bind(("127.0.0.1", port))
        print(base)
        break
    except OSError:
        pass
    finally:
        for s in held:
            s.close()
PY
)
[ -n "$PORT" ] || { fail "no three free ports"; exit 1; }
SMALLMIND="$SM" OUT="$TMP/rep" bash "$REPLICAS" "$TMP/medium.smm" 2 "$PORT" -- \
  --parallel 2 --chat-template chatml > "$TMP/replicas.out" 2>&1 &
RPID=$!
cleanup() { kill -TERM "$RPID" 2>/dev/null; wait "$RPID" 2>/dev/null; }
trap cleanup EXIT
for _ in $(seq 300); do curl -sf "127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
curl -sf "127.0.0.1:$PORT/health" >/dev/null && pass "HAProxy answers" || { fail "no HAProxy"; cat "$TMP/replicas.out" "$TMP"/rep/*.log; exit 1; }

served() {  # completions counted by replica $1
  curl -s "127.0.0.1:$((PORT + $1))/metrics" |
    awk '/^smallmind_requests_total\{endpoint="\/v1\/(chat\/)?completions"/ {n += $2} END {print n + 0}'
}
"$LOADGEN" --port "$PORT" --clients 4 --requests 5 --max-tokens 8 --expect-tokens 8 > "$TMP/spread.out" 2>&1 \
  && pass "20 requests through HAProxy" || { fail "requests through HAProxy"; cat "$TMP/spread.out"; }
a=$(served 1); b=$(served 2)
[ "$a" -gt 0 ] && [ "$b" -gt 0 ] && pass "both replicas served ($a, $b)" || fail "replicas served $a and $b"

# One conversation, one replica.
for _ in 1 2 3 4 5; do
  curl -s -o /dev/null -H "X-Conversation: conversation-42" "127.0.0.1:$PORT/v1/chat/completions" \
    -d '{"messages":[{"role":"user","content":"Hi"}],"max_tokens":2}'
done
da=$(( $(served 1) - a )); db=$(( $(served 2) - b ))
{ [ "$da" = 5 ] && [ "$db" = 0 ]; } || { [ "$da" = 0 ] && [ "$db" = 5 ]; } \
  && pass "a conversation stays on one replica ($da, $db)" || fail "conversation split $da / $db"

# Failover: kill replica 1 while 4 clients stream.
"$LOADGEN" --port "$PORT" --clients 4 --duration 4 --max-tokens 16 --json "$TMP/during.json" > "$TMP/during.out" 2>&1 &
LG=$!
sleep 1
pkill -KILL -f -- "--port $((PORT + 1))"
wait "$LG"
lost=$(python3 -c "import json; d=json.load(open('$TMP/during.json')); print(d['failures'], 'of', d['requests'])")
echo "requests failed while replica 1 died: $lost"
sleep 2.5  # two failed health checks at 1 s
"$LOADGEN" --port "$PORT" --clients 4 --requests 5 --max-tokens 8 --expect-tokens 8 > "$TMP/after.out" 2>&1 \
  && pass "every request after the failover window succeeds" || { fail "after failover"; cat "$TMP/after.out"; }

cleanup
trap - EXIT
sleep 0.5
pgrep -f -- "--port $((PORT + 2))" >/dev/null && fail "a replica outlived the test" || pass "everything stopped"
pgrep -f "$TMP/rep/haproxy.cfg" >/dev/null && fail "HAProxy outlived the test" || pass "HAProxy stopped"

if [ "$failures" -gt 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "all passed"
