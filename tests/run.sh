#!/usr/bin/env bash
# The one test command: installs what is missing, builds, runs every test (unit, integration,
# real Prometheus/promtool/Alertmanager checks, bounded fuzz runs) and ends with CTest's summary.
# Benchmarks are not run here (tests/bench/run.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

./deploy/install-deps.sh
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCCMON_BUILD_TESTS=ON \
  -DCCMON_BUILD_FUZZ=ON >/dev/null
# Two cores: two jobs keep memory and time in check.
cmake --build "$BUILD_DIR" -j "${JOBS:-2}"
cd "$BUILD_DIR"
ctest --output-on-failure -j "${JOBS:-2}" -LE benchmark "$@"
