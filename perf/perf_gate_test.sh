#!/usr/bin/env bash
# The gate's own checks: repeatable counts, and a regression caught.
set -uo pipefail
BIN="$1" SM="$2" GATE="$3" BASELINE="$4"
OUT="${TEST_TMPDIR:-$(mktemp -d)}/gate"
failures=0
# valgrind cannot run sanitized binaries, and their counts are not the
# baseline's: under --config=asan/tsan there is nothing to check here.
# The sanitizer runtimes are shared libraries the binary imports by name.
if grep -aqE "__asan_init|__tsan_init" "$BIN"; then
  echo "skipped: a sanitizer build"
  exit 0
fi

# Two consecutive runs of a decode agree within 0.1%.
if /usr/bin/python3 "$GATE" --bin "$BIN" --smallmind "$SM" --baseline "$BASELINE" \
    --out "$OUT" --repeat-check Decode32_small-f32; then
  echo "ok: repeatable"
else
  echo "FAIL: two runs of Decode32_small-f32 differ by more than 0.1%"; failures=$((failures + 1))
fi

# The slow scalar add, against the committed baseline: REGRESSED, named.
/usr/bin/python3 "$GATE" --bin "$BIN" --smallmind "$SM" --baseline "$BASELINE" \
  --out "$OUT" --only TensorAdd_10000,Softmax_256 --slow TensorAdd_10000 > "$OUT/slow.md"
code=$?
if [ "$code" -eq 1 ] && grep -q "| TensorAdd_10000 | .* | REGRESSED |" "$OUT/slow.md" &&
   grep -q "verdict: REGRESSED (TensorAdd_10000)" "$OUT/slow.md" &&
   grep -q "| Softmax_256 | .* | UNCHANGED |" "$OUT/slow.md"; then
  echo "ok: injected regression caught"
else
  echo "FAIL: injected regression not caught (exit $code)"; cat "$OUT/slow.md"
  failures=$((failures + 1))
fi
exit "$failures"
