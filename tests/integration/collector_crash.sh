#!/usr/bin/env bash
# Crash safety: simulated sites stream a backlog
# while the collector is kill -9ed and restarted again and again from its data directory; at
# the end every counter equals the simulators' ground truth: nothing lost, nothing twice.
source "$(dirname "$0")/lib.sh"
KILLS=${KILLS:-5}
DATA_DIR=$WORK/data
start_collector c0 --data-dir "$DATA_DIR"
PORT=$GRPC_PORT

restart_collector() {
  local i=$1
  "$BIN/ccmon-collector" --listen "127.0.0.1:$PORT" --metrics-listen 127.0.0.1:0 \
    --data-dir "$DATA_DIR" >"$WORK/c$i.log" 2>&1 &
  COLLECTOR_PID=$!
  PIDS+=("$COLLECTOR_PID")
  wait_for grep -q 'serving gRPC on port' "$WORK/c$i.log" || fail "collector restart $i failed"
  METRICS_PORT=$(sed -n 's/.*\/metrics on port \([0-9]*\).*/\1/p' "$WORK/c$i.log" | head -1)
}

# Three sites, each a day-part of heavy simulated traffic sent with --once in small batches,
# so the kills land mid-stream.
AGENTS=()
for s in 1 2 3; do
  "$BIN/ccmon-agent" --site "site$s" --collector "127.0.0.1:$PORT" --simulate --seed "$s" \
    --sim-calls-per-minute 20 --simulate-seconds 5400 --truth "$WORK/truth$s" --once \
    --once-timeout 240 --batch-max 32 --no-fsync --spool-dir "$WORK/spool$s" \
    --log-level warn >"$WORK/agent$s.log" 2>&1 &
  AGENTS+=($!)
  PIDS+=($!)
done

accepted() { metric ccmon_ingest_events_total 'result="accepted",reason=""'; }
for i in $(seq 1 "$KILLS"); do
  # Kill once some progress is visible, so each restart has a WAL to replay.
  before=$(accepted)
  WAIT_S=30 wait_for bash -c "[[ \$(curl -sf http://127.0.0.1:$METRICS_PORT/metrics |
    awk '\$1 == \"ccmon_ingest_events_total{result=\\\"accepted\\\",reason=\\\"\\\"}\" {print \$2}') \
    != '$before' ]]" || true
  echo "kill $i at accepted=$(accepted)"
  kill -9 "$COLLECTOR_PID"
  wait "$COLLECTOR_PID" 2>/dev/null || true
  restart_collector "$i"
done

for a in "${AGENTS[@]}"; do wait "$a" || fail "an agent did not get everything acknowledged"; done
grep -q 'recovered state' "$WORK/c$KILLS.log" || fail "last restart did not recover"

# Compare with the simulators' truth: queue offered answered within20 abandoned short timed_out
# completed.
for s in 1 2 3; do
  expect_truth "site$s" "$WORK/truth$s"
done
dups=$(metric ccmon_ingest_events_total 'result="duplicate",reason=""')
echo "PASS: $KILLS kill -9 restarts; counters equal truth ($dups resent events dropped as duplicates)"
