#!/usr/bin/env bash
# Coverage-guided fuzzing with libFuzzer (clang from Debian's `clang`
# package): `bash scripts/fuzz.sh NAME [libFuzzer flags]`, NAME one of the
# fuzz targets in tests/fuzz/BUILD.bazel (model_file, gguf, safetensors,
# hf_gpt2, llama2c, tokenizer, ...).
# Builds //tests/fuzz:NAME_fuzzer with clang, ASan and UBSan in its own
# output base (so the gcc build's cache is untouched) and without the
# bazel-* convenience links (which would otherwise point into that output
# base and break the next plain `bazel test //...`), then runs it on a copy
# of the target's seeds until stopped, or for -max_total_time=N seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
name="${1:?usage: scripts/fuzz.sh NAME [libFuzzer flags]; NAME from tests/fuzz/BUILD.bazel}"
shift
bash scripts/bootstrap.sh
base="${TMPDIR:-/tmp}/smallmind-fuzz-bazel"
fuzz_bazel() { CC=clang CXX=clang++ bazel --output_base="$base" "$@"; }
fuzz_bazel build --config=fuzz --symlink_prefix=/ "//tests/fuzz:${name}_fuzzer"
corpus="${TMPDIR:-/tmp}/smallmind-fuzz-corpus-${name}"
mkdir -p "$corpus"
# The seeds: the source files under //tests/fuzz:NAME_seeds (directly or
# through a filegroup it names), labels turned into paths.
for label in $(fuzz_bazel query "kind('source file', deps(//tests/fuzz:${name}_seeds))" 2>/dev/null); do
  path="${label#//}"; path="${path/://}"
  cp -n "$path" "$corpus"/
done
# Crashes, leaks and slow inputs go beside the corpus, not into the checkout
# (libFuzzer prints each one's path; a later -artifact_prefix overrides).
artifacts="${TMPDIR:-/tmp}/smallmind-fuzz-artifacts-${name}/"
mkdir -p "$artifacts"
exec "$(fuzz_bazel info --config=fuzz bazel-bin 2>/dev/null)/tests/fuzz/${name}_fuzzer" \
  -artifact_prefix="$artifacts" "$corpus" "$@"
