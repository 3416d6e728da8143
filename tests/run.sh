#!/usr/bin/env bash
# The one test command: installs what is missing, builds, runs every test (unit, integration,
# real Prometheus/promtool/Alertmanager checks, bounded fuzz runs) and ends with CTest's summary.
# Benchmarks are not run here (tests/bench/run.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

./deploy/install-deps.sh
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-2}  # two cores: two jobs keep memory and time in check

# libFuzzer needs clang: the fuzz targets get their own build tree.
cmake -S . -B "$BUILD_DIR-fuzz" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCCMON_FUZZ_ONLY=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR-fuzz" -j "$JOBS"

# CCMON_WERROR=ON (CI sets it) makes any compiler warning a build error.
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCCMON_BUILD_TESTS=ON \
  -DCCMON_WERROR="${CCMON_WERROR:-OFF}" \
  -DCCMON_FUZZ_BIN_DIR="$PWD/$BUILD_DIR-fuzz/bin" -DCCMON_FUZZ_SECONDS="${FUZZ_SECONDS:-30}" \
  >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS"
cd "$BUILD_DIR"
ctest --output-on-failure -j "$JOBS" -LE benchmark "$@"
