#!/usr/bin/env bash
# Runs every benchmark (kernels, matmul backends, the profiler) in one go, optimised, and writes
# each binary's table (.txt) and Google Benchmark JSON (.json) to OUT_DIR.
#   bash scripts/bench.sh [OUT_DIR] [extra benchmark flags]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bench-results}
shift || true
bash scripts/bootstrap.sh
# Every *_benchmark binary in the repository, so a new one is never left out.
mapfile -t targets < <(bazel query 'attr(name, "_benchmark$", kind(cc_binary, //...))' 2>/dev/null)
[ "${#targets[@]}" -gt 0 ] || { echo "bench.sh: no benchmark targets found" >&2; exit 1; }
bazel build --config=opt "${targets[@]}"
mkdir -p "$out"
for target in "${targets[@]}"; do
  name=${target##*:}
  bin="bazel-bin/${target#//}"
  bin="${bin%:*}/${name}"
  echo "== $name" >&2
  "$bin" --benchmark_min_time=0.2 --benchmark_out="$out/$name.json" \
    --benchmark_out_format=json "$@" | tee "$out/$name.txt"
done
