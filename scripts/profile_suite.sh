#!/usr/bin/env bash
# The standard profile suite: the seed's small and medium models through
# `smallmind profile`, plus the seed's microbenchmarks (tensor add, GELU,
# softmax 2048, matmul), every report into one folder. Given a baseline
# folder from an earlier run, also compares each report with it and exits 1
# if anything regressed.
#   bash scripts/profile_suite.sh OUT_DIR [BASELINE_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: scripts/profile_suite.sh OUT_DIR [BASELINE_DIR]}
baseline=${2:-}
bash scripts/bootstrap.sh
bazel build --config=opt //tools/smallmind //kernels:elementwise_benchmark \
  //kernels:activations_benchmark //kernels:softmax_benchmark //backends:matmul_benchmark
sm=bazel-bin/tools/smallmind/smallmind
mkdir -p "$out/models"

for preset in small medium; do
  model="$out/models/$preset.smm"
  [ -f "$model" ] || "$sm" init --preset "$preset" --seed 0 "$model" >/dev/null
  mkdir -p "$out/$preset"
  echo "== profile $preset" >&2
  "$sm" profile -m "$model" -r 5 -t 1 --out-dir "$out/$preset" > /dev/null
done

# The seed report's microbenchmarks, repeated for a noise estimate.
bench() {
  local name=$1 filter=$2
  echo "== $name ($filter)" >&2
  "bazel-bin/$3" --benchmark_filter="$filter" --benchmark_min_time=0.05 \
    --benchmark_repetitions=5 --benchmark_out="$out/$name.json" \
    --benchmark_out_format=json > /dev/null
}
bench tensor_add 'BM_TensorAdd/10000$|BM_BroadcastAdd' kernels/elementwise_benchmark
bench gelu 'BM_GELU/' kernels/activations_benchmark
bench softmax 'BM_Softmax/2048' kernels/softmax_benchmark
bench matmul 'BM_MatMul/tiled/(64|128|256|512)/t1/' backends/matmul_benchmark

status=0
if [ -n "$baseline" ]; then
  : > "$out/compare.md"
  for report in small/profile.json medium/profile.json tensor_add.json gelu.json \
                softmax.json matmul.json; do
    echo "### $report" >> "$out/compare.md"
    "$sm" profile --compare "$baseline/$report" "$out/$report" >> "$out/compare.md" \
      || status=1
  done
  echo "comparison: $out/compare.md" >&2
fi
echo "reports: $out/{small,medium}/profile.{json,md,svg}, $out/*.json" >&2
exit "$status"
