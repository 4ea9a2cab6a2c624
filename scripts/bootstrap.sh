#!/usr/bin/env bash
# Installs the Debian packages SmallMind builds with, only those missing,
# then the test-only npm packages of tests/reference/npm from their lockfile
# (when node_modules is missing or older than the lockfile).
# Idempotent: a second run installs nothing and never runs `apt-get update`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

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
  libboost-dev          # Boost.Asio + Beast: the HTTP server's event loop and parser
  libcpp-httplib-dev    # an HTTP client for the server's tests and tools/loadgen
  curl                  # the server tests' raw HTTP client
  haproxy               # replicas behind a load balancer (scripts/replicas.sh)
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

# Node.js and npm run the test references; Debian's when none is installed.
if ! command -v npm >/dev/null 2>&1; then missing+=(nodejs npm); fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "bootstrap: all ${#PACKAGES[@]} packages already installed"
else
  if [ "$(id -u)" -ne 0 ]; then
    echo "bootstrap: missing packages: ${missing[*]}; run as root to install them" >&2
    exit 1
  fi
  echo "bootstrap: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "bootstrap: installed ${#missing[@]} package(s)"
fi

npm_dir="$root/tests/reference/npm"
stamp="$npm_dir/node_modules/.smallmind-lock"
if ! cmp -s "$npm_dir/package-lock.json" "$stamp" 2>/dev/null; then
  echo "bootstrap: npm ci in tests/reference/npm (test-only references)"
  (cd "$npm_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  cp "$npm_dir/package-lock.json" "$stamp"
fi
