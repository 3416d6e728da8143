#!/usr/bin/env bash
# Two collector replicas of one shard, and an agent sending every event to both
# (--collector A,B): twelve hours of a busy simulated site are replayed; replica A is killed
# with -9 mid-stream and started again ten seconds later from its data directory. At the end
# both replicas' counters equal the simulator's ground truth (computed by the simulator as it
# made the calls, not from what the collectors received), both hold the same ledger rows, and
# the agent's spool holds nothing unacknowledged: it kept every event until both had it.
# Then a replica that never comes back while the agent's spool fills: it is given up (logged,
# counted, AgentBacklog cause=replica) and the other replica gets the whole import.
source "$(dirname "$0")/lib.sh"

start_collector a --data-dir "$WORK/data-a" --shard asia
A_PORT=$GRPC_PORT A_METRICS=$METRICS_PORT A_PID=$COLLECTOR_PID
start_collector b --data-dir "$WORK/data-b" --shard asia
B_PORT=$GRPC_PORT B_METRICS=$METRICS_PORT

"$BIN/ccmon-agent" --site site1 --collector "127.0.0.1:$A_PORT,127.0.0.1:$B_PORT" --simulate \
  --seed 7 --sim-calls-per-minute 40 --simulate-seconds 43200 --truth "$WORK/truth" --once \
  --once-timeout 240 --batch-max 32 --no-fsync --spool-dir "$WORK/spool" --log-level info \
  >"$WORK/agent.log" 2>&1 &
AGENT=$!
PIDS+=("$AGENT")

# Kill A once it has applied part of the stream (B keeps taking it meanwhile).
accepted_at() { local METRICS_PORT=$1; metric ccmon_ingest_events_total 'result="accepted",reason=""'; }
some_applied() { local n; n=$(accepted_at "$A_METRICS"); [[ $n != absent ]] && ((${n%.*} > 500)); }
WAIT_S=60 wait_for some_applied || fail "replica A applied nothing"
echo "killing A at accepted=$(accepted_at "$A_METRICS"), B at $(accepted_at "$B_METRICS")"
kill -9 "$A_PID"
wait "$A_PID" 2>/dev/null || true
kill -0 "$AGENT" 2>/dev/null || fail "the agent finished before A was killed: nothing was mid-stream"
sleep 10  # the outage under test: ten seconds away
"$BIN/ccmon-collector" --listen "127.0.0.1:$A_PORT" --metrics-listen 127.0.0.1:0 \
  --data-dir "$WORK/data-a" --shard asia >"$WORK/a2.log" 2>&1 &
PIDS+=($!)
wait_for grep -q 'serving gRPC on port' "$WORK/a2.log" || fail "replica A did not restart"
A_METRICS=$(sed -n 's/.*\/metrics on port \([0-9]*\).*/\1/p' "$WORK/a2.log" | head -1)

wait "$AGENT" || fail "the agent did not get everything acknowledged by both replicas"
# Every event acknowledged by both (the agent's figure is the lowest of its replicas'): its
# spool holds nothing unacknowledged.
N=$(sed -n 's/.*all events acknowledged up to seq \([0-9]*\).*/\1/p' "$WORK/agent.log")
[[ -n "$N" ]] || fail "the agent did not finish its import"
grep -q 'giving it up' "$WORK/agent.log" && fail "a replica was given up in a 10 s outage"
# The kill landed mid-stream: A came back behind the end and was sent the rest.
X=$(grep "connected to collector 127.0.0.1:$A_PORT, resuming after seq" "$WORK/agent.log" |
  sed 's/.*resuming after seq \([0-9]*\).*/\1/' | awk '$1 > 0 { print; exit }')
[[ -n "$X" ]] && ((X > 0 && X < N)) ||
  fail "replica A resumed after seq '${X}' of $N: the kill was not mid-stream"
echo "replica A resumed after seq $X of $N"

# Both replicas against the truth: queue offered answered within20 abandoned short timed_out
# completed.
for replica in A B; do
  METRICS_PORT=$A_METRICS
  [[ $replica == B ]] && METRICS_PORT=$B_METRICS
  expect_truth "site1" "$WORK/truth"
  expect_metric ccmon_ingest_sequence_gaps_total '' 0
  echo "replica $replica: every counter equals the truth"
done

# The same ledger rows on both (their figures; revision numbers and close times are each
# replica's own). The hour and a half may span two UTC days.
ledger() {  # port -> the rows' site, queue, start and figures, sorted
  local port=$1 day
  for day in $(date -u -d '-1 day' +%F) $(date -u +%F); do
    "$BIN/ccmon-ctl" --collector "127.0.0.1:$port" --json ledger --client default --date "$day" |
      jq -r '.rows[] | [.site, .queue, .startMs // .start_ms, .offered // 0, .answered // 0,
                        .answeredInThreshold // .answered_in_threshold // 0,
                        .abandoned // 0, .slResult // .sl_result] | @tsv'
  done | sort
}
ledger "$A_PORT" >"$WORK/ledger-a"
ledger "$B_PORT" >"$WORK/ledger-b"
[[ -s "$WORK/ledger-b" ]] || fail "replica B has no ledger rows"
# Rows with real figures, not empty fields: every row names its site, start and result.
awk -F'\t' '$1 != "site1" || $3 == "" || $3 == "null" || $8 == "" || $8 == "null" { bad = 1 }
  END { exit bad }' "$WORK/ledger-b" || fail "ledger rows without their fields: $(head -3 "$WORK/ledger-b")"
diff "$WORK/ledger-a" "$WORK/ledger-b" || fail "the replicas' ledger rows differ"
echo "both replicas hold the same $(wc -l <"$WORK/ledger-a") ledger rows"

echo "two replicas, A killed and back after 10 s: both equal the truth and each other"

# --- Two healthy replicas and a spool (200 kB) far smaller than the import: input waits for
#     the slower one, nobody is given up, both get everything.
"$BIN/ccmon-agent" --site site3 --collector "127.0.0.1:$A_PORT,127.0.0.1:$B_PORT" --simulate \
  --seed 9 --sim-calls-per-minute 40 --simulate-seconds 7200 --truth "$WORK/truth3" --once \
  --once-timeout 120 --spool-max-bytes 200000 --no-fsync --spool-dir "$WORK/spool3" \
  --log-level info >"$WORK/agent3.log" 2>&1 || fail "the import through a small spool failed"
grep -q 'giving it up' "$WORK/agent3.log" && fail "a healthy replica was given up"
for port in "$A_METRICS" "$B_METRICS"; do
  METRICS_PORT=$port
  expect_truth "site3" "$WORK/truth3"
done
echo "two healthy replicas through a small spool: both equal the truth, nobody given up"

# --- A replica away for good: the spool (200 kB, far less than the import) fills, the dead
#     replica is given up after 30 s away and B gets everything.
DEAD=$(free_port) || fail "no free port"
"$BIN/ccmon-agent" --site site2 --collector "127.0.0.1:$DEAD,127.0.0.1:$B_PORT" --simulate \
  --seed 8 --sim-calls-per-minute 40 --simulate-seconds 7200 --truth "$WORK/truth2" --once \
  --once-timeout 120 --spool-max-bytes 200000 --no-fsync --spool-dir "$WORK/spool2" \
  --log-level info >"$WORK/agent2.log" 2>&1 || fail "the import failed with one replica away"
grep -q "collector 127.0.0.1:$DEAD has been away for over 30 s with only seq 0 acknowledged and the spool is full: giving it up" \
  "$WORK/agent2.log" || fail "the agent did not say it gave up the dead replica"
METRICS_PORT=$B_METRICS
expect_truth "site2" "$WORK/truth2"
expect_metric ccmon_agent_replicas_given_up_total 'site="site2"' 1
expect_metric ccmon_ingest_sequence_gaps_total '' 0
echo "PASS: replicas equal the truth through a kill -9; a replica away for good is given up and counted"
