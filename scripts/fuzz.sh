#!/usr/bin/env bash
# Coverage-guided fuzzing with libFuzzer (clang from Debian's `clang`
# package): `bash scripts/fuzz.sh model_file [libFuzzer flags]`.
# Builds //tests/fuzz:<name>_fuzzer with clang, ASan and UBSan in its own
# output base (so the gcc build's cache is untouched) and runs it on a copy
# of the seed corpus until stopped, or for -max_total_time=N seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
name="${1:?usage: scripts/fuzz.sh <model_file|gguf> [libFuzzer flags]}"
shift
bash scripts/bootstrap.sh
base="${TMPDIR:-/tmp}/smallmind-fuzz-bazel"
CC=clang CXX=clang++ bazel --output_base="$base" build --config=fuzz \
  "//tests/fuzz:${name}_fuzzer"
corpus="${TMPDIR:-/tmp}/smallmind-fuzz-corpus-${name}"
mkdir -p "$corpus"
case "$name" in
  model_file) cp -n tests/golden/*.smm "$corpus"/ ;;
  gguf) cp -n tests/fuzz/gguf_seeds/*.gguf "$corpus"/ ;;
esac
exec "$(bazel --output_base="$base" info --config=fuzz bazel-bin)/tests/fuzz/${name}_fuzzer" \
  "$corpus" "$@"
