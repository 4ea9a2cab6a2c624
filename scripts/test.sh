#!/usr/bin/env bash
# The whole test suite: `bash scripts/test.sh [extra bazel flags]`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec bazel test "$@" //...
