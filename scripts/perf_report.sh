#!/usr/bin/env bash
# The executive summary of two performance runs: a verdict, key metrics per
# model, major wins and critical regressions ranked by impact, and an SVG
# chart of every change.
#   bash scripts/perf_report.sh BASE_DIR CUR_DIR [OUT_DIR] [--threshold P] [--labels A,B]
# BASE_DIR and CUR_DIR are outputs of scripts/profile_suite.sh or of
# scripts/perf_gate.sh (--out DIR); OUT_DIR defaults to CUR_DIR/report.
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:?usage: scripts/perf_report.sh BASE_DIR CUR_DIR [OUT_DIR] [flags]}
cur=${2:?usage: scripts/perf_report.sh BASE_DIR CUR_DIR [OUT_DIR] [flags]}
shift 2
out="$cur/report"
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then out=$1; shift; fi
bash scripts/bootstrap.sh >/dev/null
bazel build --config=opt //report:perf_report >/dev/null 2>&1 || bazel build --config=opt //report:perf_report
bazel-bin/report/perf_report "$base" "$cur" "$out" "$@"
