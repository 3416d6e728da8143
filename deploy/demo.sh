#!/usr/bin/env bash
# The main job on one machine: installs what is missing, builds, then runs a collector and
# simulated agents for three sites of two clients, with Prometheus and Alertmanager when they
# are installed, and prints where to look. Ctrl-C stops everything.
#   DEMO_SECONDS=N   stop by itself after N seconds (used by tests)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

./deploy/install-deps.sh
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" -j "${JOBS:-2}" --target ccmon-collector ccmon-agent ccmon-ctl
BIN=$ROOT/$BUILD_DIR/bin

RUN=$(mktemp -d "${TMPDIR:-/tmp}/ccmon-demo.XXXXXX")
PIDS=()
stop() {
  trap - INT TERM EXIT
  echo
  echo "stopping the demo..."
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "logs kept in $RUN"
}
trap stop INT TERM EXIT

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in 7400 9464; do
  port_free "$p" || { echo "demo: port $p is in use (another collector running?)" >&2; exit 1; }
done

"$BIN/ccmon-collector" --config deploy/demo/collector.yaml >"$RUN/collector.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do grep -q 'serving gRPC' "$RUN/collector.log" && break; sleep 0.1; done
grep -q 'serving gRPC' "$RUN/collector.log" || { cat "$RUN/collector.log"; exit 1; }

start_agent() {  # site seed scenario queues...
  local site=$1 seed=$2 scenario=$3
  shift 3
  local qs=()
  for q in "$@"; do qs+=(--sim-queue "$q"); done
  "$BIN/ccmon-agent" --site "$site" --collector 127.0.0.1:7400 --simulate --seed "$seed" \
    --scenario "$scenario" --spool-dir "$RUN/spool-$site" --heartbeat-ms 2000 "${qs[@]}" \
    >"$RUN/agent-$site.log" 2>&1 &
  PIDS+=($!)
}
start_agent manila-1 11 normal billing support
start_agent pune-1 22 typhoon billing support sales
start_agent bogota-1 33 normal sales claims

cat <<MSG

ccmon demo is running (logs: $RUN)
  metrics        http://127.0.0.1:9464/metrics
  Monitor API    127.0.0.1:7400 (gRPC)
  status         $BIN/ccmon-ctl status
  live figures   $BIN/ccmon-ctl snapshot
  ledger         $BIN/ccmon-ctl ledger --client acme --date $(date -u +%F)
pune-1 runs the 'typhoon' scenario: 60% of its agents log out 2 minutes in, for 3 minutes.
Ctrl-C stops everything.
MSG

if [[ -n "${DEMO_SECONDS:-}" ]]; then
  sleep "$DEMO_SECONDS"
else
  while sleep 10; do
    echo "--- $(date +%T)"
    "$BIN/ccmon-ctl" snapshot || true
  done
fi
