#!/usr/bin/env bash
# Installs the Debian packages SmallMind builds with, only those missing.
# Idempotent: a second run installs nothing and never runs `apt-get update`.
set -euo pipefail

PACKAGES=(
  bazel-bootstrap
  g++
  pkg-config
  python3
  libabsl-dev           # Abseil 20220623
  libhwy-dev            # Highway 1.0.3
  libgtest-dev          # GoogleTest + GoogleMock
  libgmock-dev
  libbenchmark-dev      # Google Benchmark 1.7.1
  libprotobuf-dev       # protobuf 3.21
  protobuf-compiler
  libopenblas-dev
  nlohmann-json3-dev    # JSON for `smallmind convert` (safetensors, config.json)
  libicu-dev            # Unicode regular expressions for the tokenizers
  fortunes-min          # training text for the bundled default model
  fortunes
  clang                 # libFuzzer for the fuzz targets
  valgrind              # callgrind for the instruction-count gate
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "bootstrap: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "bootstrap: missing packages: ${missing[*]}; run as root to install them" >&2
  exit 1
fi

echo "bootstrap: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "bootstrap: installed ${#missing[@]} package(s)"
