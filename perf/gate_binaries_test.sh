#!/usr/bin/env bash
# The gate's binaries start under valgrind on any x86-64 host, including one
# whose CPUID hides RDTSCP although the hypervisor executes it (valgrind
# 3.19 refuses an instruction CPUID does not list). Checked two ways, so the
# check means something on a host that lists RDTSCP too:
#   1. neither binary nor any shared object it loads contains an RDTSCP
#      instruction, so nothing can run one, before main or after (Debian's
#      libhwy.so did, in a static initializer; third_party/highway replaces
#      it); RDTSC needs no CPUID bit and valgrind runs it everywhere;
#   2. each starts and exits 0 under `valgrind --tool=none` here.
set -uo pipefail
failures=0
if grep -aqE "__asan_init|__tsan_init" "$1"; then
  echo "skipped: a sanitizer build (valgrind cannot run it)"
  exit 0
fi
for bin in "$@"; do
  name=$(basename "$bin")
  objects=("$bin")
  while read -r lib; do objects+=("$lib"); done < <(ldd "$bin" | awk '/=> \// {print $3}')
  if ldd "$bin" | grep -q libhwy; then
    echo "FAIL: $name loads Debian's libhwy.so"; failures=$((failures + 1))
  fi
  found=""
  for object in "${objects[@]}"; do
    if objdump -d --no-show-raw-insn "$object" | grep -qwE "rdtscp"; then found="$found $object"; fi
  done
  if [ -n "$found" ]; then
    echo "FAIL: $name loads code with RDTSCP:$found"; failures=$((failures + 1))
  else
    echo "ok: $name and its ${#objects[@]} objects have no RDTSCP"
  fi
done
# They start and exit cleanly under valgrind.
if valgrind --tool=none --error-exitcode=3 "$1" --list >/dev/null 2>"${TEST_TMPDIR:-/tmp}/vg1"; then
  echo "ok: $(basename "$1") runs under valgrind"
else
  echo "FAIL: $(basename "$1") under valgrind:"; tail -5 "${TEST_TMPDIR:-/tmp}/vg1"; failures=$((failures + 1))
fi
if valgrind --tool=none --error-exitcode=3 "$2" help >/dev/null 2>"${TEST_TMPDIR:-/tmp}/vg2"; then
  echo "ok: $(basename "$2") runs under valgrind"
else
  echo "FAIL: $(basename "$2") under valgrind:"; tail -5 "${TEST_TMPDIR:-/tmp}/vg2"; failures=$((failures + 1))
fi
exit "$failures"
