#!/usr/bin/env bash
# The main job on one machine: installs what is missing, builds, then runs a collector and
# simulated agents for three sites of two clients (an hour of history, then live traffic), with
# Prometheus (rules/ loaded) and Alertmanager, injects a typhoon at one site so a disaster alert
# is seen firing and resolving, and prints where to look. Ctrl-C stops everything.
#   DEMO_SECONDS=N   stop by itself after N seconds (tests use it)
#   NO_PROMETHEUS=1  skip Prometheus and Alertmanager
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
  echo "logs and data kept in $RUN"
}
trap stop INT TERM EXIT

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {  # preferred port, or the next free one above it
  local p=$1
  while ! port_free "$p"; do p=$((p + 1)); done
  echo "$p"
}
wait_log() {  # file pattern: wait up to 15 s for pattern in file
  for _ in $(seq 150); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "demo: timed out waiting for '$2' in $1" >&2
  tail -20 "$1" >&2
  return 1
}
for p in 7400 9464; do
  port_free "$p" || { echo "demo: port $p is in use (another collector running?)" >&2; exit 1; }
done

AM_ARGS=()
if [[ -z "${NO_PROMETHEUS:-}" ]] && command -v prometheus-alertmanager >/dev/null; then
  AM_PORT=$(pick_port 9093)
  cat >"$RUN/alertmanager.yml" <<YML
# Demo routing: everything to a receiver that only records; see deploy/alertmanager.yml for
# routing by client to each liaison.
route:
  receiver: demo
  group_by: [alertname, client, site]
  group_wait: 1s
  group_interval: 5s
receivers:
  - name: demo
YML
  prometheus-alertmanager --config.file="$RUN/alertmanager.yml" --storage.path="$RUN/am" \
    --web.listen-address="127.0.0.1:$AM_PORT" --cluster.listen-address= \
    --log.level=warn >"$RUN/alertmanager.log" 2>&1 &
  PIDS+=($!)
  AM_ARGS=(--alertmanager "http://127.0.0.1:$AM_PORT")
fi

"$BIN/ccmon-collector" --config deploy/demo/collector.yaml --data-dir "$RUN/data" \
  --continuity-rules rules/continuity.yaml "${AM_ARGS[@]}" >"$RUN/collector.log" 2>&1 &
PIDS+=($!)
wait_log "$RUN/collector.log" 'serving gRPC'

agent() {  # site seed scenario mode queues...
  local site=$1 seed=$2 scenario=$3 mode=$4
  shift 4
  local args=(--site "$site" --collector 127.0.0.1:7400 --simulate --seed "$seed"
    --scenario "$scenario" --sim-agents 20 --sim-calls-per-minute 1.5 --heartbeat-ms 2000)
  for q in "$@"; do args+=(--sim-queue "$q"); done
  if [[ $mode == history ]]; then
    # One hour of history first, so windows and the ledger have figures from the start.
    "$BIN/ccmon-agent" "${args[@]}" --once --simulate-seconds 3600 --spool-dir \
      "$RUN/history-$site" >"$RUN/history-$site.log" 2>&1
  else
    "$BIN/ccmon-agent" "${args[@]}" --spool-dir "$RUN/spool-$site" \
      --sim-disaster-at 60 --sim-disaster-for 120 >"$RUN/agent-$site.log" 2>&1 &
    PIDS+=($!)
  fi
}
echo "loading an hour of history for three sites..."
agent manila-1 11 normal history billing support
agent pune-1 22 normal history billing support sales
agent bogota-1 33 normal history sales claims
agent manila-1 111 normal live billing support
agent pune-1 222 typhoon live billing support sales
agent bogota-1 333 normal live sales claims

# The SLA statement of the month so far, once the rows the history closed are in the ledger
# (written on the collector's next tick).
MONTH=$(TZ=Asia/Manila date +%Y-%m)
for _ in $(seq 50); do
  "$BIN/ccmon-ctl" statement --client acme --month "$MONTH" --format csv 2>/dev/null |
    grep -q ',TOTAL,[0-9]*,[0-9]*,[1-9]' && break
  sleep 0.2
done
"$BIN/ccmon-ctl" statement --client acme --month "$MONTH" --format html >"$RUN/statement-acme.html" ||
  echo "demo: the statement could not be built (see $RUN/collector.log)" >&2

PROM_URL="(not installed)"
AM_URL="(not installed)"
[[ -n "${AM_PORT:-}" ]] && AM_URL="http://127.0.0.1:$AM_PORT"
if [[ -z "${NO_PROMETHEUS:-}" ]] && command -v prometheus >/dev/null; then
  PROM_PORT=$(pick_port 9090)
  mkdir -p "$RUN/prometheus/rules"
  cp rules/recording.yml rules/alerts.yml "$RUN/prometheus/rules/"
  sed -e "s/127.0.0.1:9093/127.0.0.1:${AM_PORT:-9093}/" -e "s/127.0.0.1:9090/127.0.0.1:$PROM_PORT/" \
    -e 's/scrape_interval: 15s/scrape_interval: 5s/' deploy/prometheus.yml \
    >"$RUN/prometheus/prometheus.yml"
  prometheus --config.file="$RUN/prometheus/prometheus.yml" --storage.tsdb.path="$RUN/tsdb" \
    --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn >"$RUN/prometheus.log" 2>&1 &
  PIDS+=($!)
  PROM_URL="http://127.0.0.1:$PROM_PORT (try: client_queue:ccmon_service_level:ratio_rate30m)"
fi

# Alert changes, as the Monitor API streams them, echoed into this terminal.
"$BIN/ccmon-ctl" alerts --watch >"$RUN/alerts.log" 2>&1 &
PIDS+=($!)
tail -n +1 -F "$RUN/alerts.log" 2>/dev/null | sed -u 's/^/  alert> /' &
PIDS+=($!)

cat <<MSG

ccmon demo is running (logs and data: $RUN)
  metrics        http://127.0.0.1:9464/metrics
  Prometheus     $PROM_URL
  Alertmanager   $AM_URL
  Monitor API    127.0.0.1:7400 (gRPC); try:
                 $BIN/ccmon-ctl status
                 $BIN/ccmon-ctl snapshot --client acme
                 $BIN/ccmon-ctl alerts
                 $BIN/ccmon-ctl ledger --client acme --date $(TZ=Asia/Manila date +%F)
  SLA statement  $RUN/statement-acme.html (open in a browser); rebuild it with:
                 $BIN/ccmon-ctl statement --client acme --month $MONTH --format html
  Grafana        import grafana/dashboards/*.json (provisioning in grafana/provisioning)
In 60 s a typhoon hits pune-1: 60% of its agents log off (StaffingCollapse fires); they are back
two minutes later and the alert resolves. Alert changes print below. Ctrl-C stops everything.

MSG

if [[ -n "${DEMO_SECONDS:-}" ]]; then
  sleep "$DEMO_SECONDS"
else
  while sleep 30; do
    echo "--- $(date +%T) live figures (30-minute window)"
    "$BIN/ccmon-ctl" snapshot || true
  done
fi
