#!/usr/bin/env bash
# The instruction-count gate (perf/gate.py): every workload of
# //perf:gate_workloads under valgrind's callgrind, compared with
# perf/baseline.json; fails when any grows by more than 2%.
#   bash scripts/perf_gate.sh             # compare (CI runs this)
#   bash scripts/perf_gate.sh --update    # rewrite perf/baseline.json
# Extra flags go to perf/gate.py (--threshold, --only NAME,..., --out DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh >/dev/null
bazel build --config=opt //perf:gate_workloads //tools/smallmind 2>/dev/null || \
  bazel build --config=opt //perf:gate_workloads //tools/smallmind
exec /usr/bin/python3 perf/gate.py --bin bazel-bin/perf/gate_workloads \
  --smallmind bazel-bin/tools/smallmind/smallmind --baseline perf/baseline.json "$@"
