#!/usr/bin/env bash
# Runs every kernel and matmul benchmark in one go, optimised, and writes
# each binary's table (.txt) and Google Benchmark JSON (.json) to OUT_DIR.
#   bash scripts/bench.sh [OUT_DIR] [extra benchmark flags]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bench-results}
shift || true
bash scripts/bootstrap.sh
targets=(
  //kernels:elementwise_benchmark
  //kernels:activations_benchmark
  //kernels:softmax_benchmark
  //kernels:norm_benchmark
  //kernels:rope_benchmark
  //kernels:reductions_benchmark
  //kernels:quant_benchmark
  //backends:matmul_benchmark
)
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
