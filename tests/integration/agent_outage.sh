#!/usr/bin/env bash
# Outages lose nothing: (a) the simulator keeps running while the collector is stopped for 60 s
# (OUTAGE_S) and restarted; at the end the collector's counters equal the simulator's truth
# exactly; (b) an agent kill -9ed mid-stream and restarted leaves the counters equal to the
# queue_log's own figures: nothing lost, nothing twice.
source "$(dirname "$0")/lib.sh"
TOOLS=$1
OUTAGE_S=${OUTAGE_S:-60}
DATA_DIR=$WORK/data
start_collector c1 --data-dir "$DATA_DIR"
PORT=$GRPC_PORT
restart_collector() {
  start_bg "$1" "$BIN/ccmon-collector" --listen "127.0.0.1:$PORT" --metrics-listen 127.0.0.1:0 \
    --data-dir "$DATA_DIR"
  COLLECTOR_PID=$LAST_PID
  wait_for grep -q 'serving gRPC on port' "$WORK/$1.log" || fail "collector $1 did not start"
  METRICS_PORT=$(sed -n 's/.*\/metrics on port \([0-9]*\).*/\1/p' "$WORK/$1.log" | head -1)
}
accepted() { metric ccmon_ingest_events_total 'result="accepted",reason=""'; }
above() { local v; v=$(accepted); [[ $v != absent ]] && ((${v%.*} > $1)); }

# (a) live simulator through a collector outage.
start_bg sim "$BIN/ccmon-agent" --site sim-1 --collector "127.0.0.1:$PORT" --simulate \
  --seed 5 --sim-calls-per-minute 20 --sim-handle-s 30 --heartbeat-ms 1000 --no-fsync \
  --truth "$WORK/truth" --drain-timeout 60 --spool-dir "$WORK/spool-sim"
SIM_PID=$LAST_PID
wait_for above 50 || fail "no traffic before the outage"
kill "$COLLECTOR_PID"
wait "$COLLECTOR_PID" 2>/dev/null || true
echo "collector stopped for $OUTAGE_S s while the simulator goes on"
sleep "$OUTAGE_S"  # the outage itself is the scenario, not a wait for a condition
restart_collector c2
WAIT_S=60 wait_for above "$(accepted)" || fail "nothing arrived after the outage"
kill "$SIM_PID"  # stops the simulator; the agent drains its spool, then writes the truth
wait "$SIM_PID" || fail "agent exited with an error"
grep -q 'stopped; 0 events unacknowledged' "$WORK/sim.log" || fail "agent left events unsent"
expect_truth "sim-1" "$WORK/truth"
echo "(a) counters equal the simulator's truth after a ${OUTAGE_S} s collector outage"

# (b) agent kill -9 mid-stream on a day of queue_log.
"$TOOLS/queue_log_gen" "$(date -u -d yesterday +%F)" 9 >"$WORK/queue_log"
base=$(accepted)
start_bg qlog "$BIN/ccmon-agent" --site ql-1 --collector "127.0.0.1:$PORT" \
  --queue-log "$WORK/queue_log" --from-start --batch-max 16 --no-fsync \
  --spool-dir "$WORK/spool-ql"
wait_for above $((${base%.*} + 200)) || fail "queue_log agent sent nothing"
kill -9 "$LAST_PID"
echo "agent kill -9ed at $(accepted) accepted events"
"$BIN/ccmon-agent" --site ql-1 --collector "127.0.0.1:$PORT" --queue-log "$WORK/queue_log" \
  --from-start --once --no-fsync --spool-dir "$WORK/spool-ql" >"$WORK/qlog2.log" 2>&1 ||
  fail "restarted agent did not finish"
for q in billing support sales; do
  l="client=\"default\",site=\"ql-1\",queue=\"$q\""
  expect_metric ccmon_calls_offered_total "$l" "$(awk -F'|' -v q="$q" '$3 == q && $5 == "ENTERQUEUE"' "$WORK/queue_log" | wc -l)"
  expect_metric ccmon_calls_answered_total "$l" "$(awk -F'|' -v q="$q" '$3 == q && $5 == "CONNECT"' "$WORK/queue_log" | wc -l)"
  expect_metric ccmon_calls_answered_in_threshold_total "$l" "$(awk -F'|' -v q="$q" '$3 == q && $5 == "CONNECT" && $6 <= 20' "$WORK/queue_log" | wc -l)"
  expect_metric ccmon_calls_abandoned_total "$l" "$(awk -F'|' -v q="$q" '$3 == q && $5 == "ABANDON"' "$WORK/queue_log" | wc -l)"
done
echo "(b) counters equal the queue_log's figures after an agent kill -9"
echo PASS
