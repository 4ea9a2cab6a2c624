#!/usr/bin/env bash
# The README's first command: installs what is missing, builds the
# `smallmind` command and generates text from the bundled model, a small
# GPT trained on the `fortunes` package's text (see README, "The default
# model"). Extra arguments go to `smallmind generate`.
#   bash scripts/demo.sh [-p "prompt"] [-n tokens] [--temp 0.7] ...
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bazel build --config=opt //tools/smallmind
exec bazel-bin/tools/smallmind/smallmind generate -m models/fortunes-small.smm \
  -p "The " -n 300 --temp 0.7 -s 42 "$@"
