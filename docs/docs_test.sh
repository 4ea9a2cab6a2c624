#!/usr/bin/env bash
# docs/api.md quotes api_example.cc verbatim, and the example runs.
set -euo pipefail
example="$1" page="$2" source="$3"
# The page's ```cpp block must be the source file, line for line.
awk '/^```cpp$/{on=1; next} /^```$/{on=0} on' "$page" > "$TEST_TMPDIR/quoted.cc"
diff -u "$source" "$TEST_TMPDIR/quoted.cc"
out=$("$example" tests/golden/gpt2_tiny.smm tiled)
echo "$out"
grep -q "linked backend: portable" <<<"$out"
grep -q "tokens, .* tok/s, stopped at" <<<"$out"
# The last line: the schema's JSON, each token's log probability before it.
last=$(tail -1 <<<"$out")
grep -qE '^ \[-?[0-9.]+\]' <<<"$last"
grep -qxE '"(AB|BA)"' <<<"$(sed 's/ \[[^]]*\]//g' <<<"$last")"
if "$example" tests/golden/gpt2_tiny.smm cuda 2>"$TEST_TMPDIR/err"; then exit 1; fi
grep -q "unknown backend 'cuda'" "$TEST_TMPDIR/err"
