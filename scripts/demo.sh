#!/usr/bin/env bash
# The README's first command. Until the runtime and the `smallmind` command
# land, it builds everything and runs a smoke check of the product's fast
# path: every registered matmul backend on a 4096×4096 decode-sized
# matrix-vector product, F32 and quantized.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bazel build --config=opt //...
exec bazel run --config=opt //backends:matmul_benchmark -- \
  --benchmark_filter='BM_MatVec/.*/4096x4096/t1' --benchmark_min_time=0.05
