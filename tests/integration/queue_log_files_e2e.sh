#!/usr/bin/env bash
# Files that come and go, with real processes: an agent started before its queue_log exists
# waits for it (tail -F) and reads it when it appears; killed with -9, the log rotated while it
# is down and the new file created seconds after it restarted, it finishes the rotated file
# from its saved cursor and follows the new one. The collector's counters equal the figures of
# the lines this test wrote, computed here: nothing lost, nothing counted twice.
source "$(dirname "$0")/lib.sh"
DATA=$1
REALDATA=${2:-}

start_collector c1
PBX="$WORK/pbx"
mkdir -p "$PBX"
LOG="$PBX/queue_log"
T0=$(($(date +%s) - 3000))

# calls FROM TO: call i enters support at T0 + 10 i; every fourth abandons after 7 s, the
# others are answered after 5 s and completed after 30 s of talk.
calls() {
  local i t
  for ((i = $1; i <= $2; i++)); do
    t=$((T0 + 10 * i))
    echo "$t|c$i|support|NONE|ENTERQUEUE||+1555$i|1"
    if ((i % 4 == 0)); then
      echo "$((t + 7))|c$i|support|NONE|ABANDON|1|1|7"
    else
      echo "$((t + 5))|c$i|support|Agent 1|CONNECT|5|c$i.b|2"
      echo "$((t + 35))|c$i|support|Agent 1|COMPLETECALLER|5|30|1"
    fi
  done
}

agent() {
  start_bg "agent-$1" "$BIN/ccmon-agent" --site s1 --collector "127.0.0.1:$GRPC_PORT" \
    --queue-log "$LOG" --asterisk-config "$DATA/asterisk" --spool-dir "$WORK/spool" \
    --no-fsync --heartbeat-ms 500
  AGENT_PID=$LAST_PID
}
L='client="default",site="s1",queue="support"'
offered_is() { [[ "$(metric ccmon_calls_offered_total "$L")" == "$1" ]]; }

# 1. The agent starts before the PBX wrote anything: it waits, it does not exit.
agent 1
wait_for grep -q "queue_log: No such file or directory; waiting for it to appear" \
  "$WORK/agent-1.log" || fail "agent did not say it waits for the missing file"
kill -0 "$AGENT_PID" || fail "agent exited on a missing queue_log"
calls 1 20 >"$LOG"
wait_for offered_is 20 || fail "lines of the file that appeared were not read"

# 2. kill -9; lines written while it is down; logrotate renames the file (create mode);
#    Asterisk goes on writing to the renamed file until it reopens its log (logrotate's
#    postrotate "logger reload"), here after the agent restarted, and only then creates the
#    new one.
kill -9 "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null || true
calls 21 30 >>"$LOG"
mv "$LOG" "$LOG.1"
agent 2
wait_for offered_is 30 || fail "the rotated file was not finished from the saved cursor"
calls 31 35 >>"$LOG.1"
wait_for offered_is 35 || fail "lines written to the renamed file after the restart were lost"
calls 36 44 >"$LOG"
wait_for offered_is 44 || fail "the new file was not followed"

# 3. Figures of calls 1-44: 11 abandoned (every fourth), 33 answered and completed.
expect_metric ccmon_calls_offered_total "$L" 44
expect_metric ccmon_calls_answered_total "$L" 33
expect_metric ccmon_calls_answered_in_threshold_total "$L" 33
expect_metric ccmon_calls_abandoned_total "$L" 11
expect_metric ccmon_calls_completed_total "$L" 33
expect_metric ccmon_calls_waiting "$L" 0
grep -q "rotated while stopped; finishing $LOG.1" "$WORK/agent-2.log" ||
  fail "agent did not say it finished the rotated file"
grep -q "rotated, following the new file" "$WORK/agent-2.log" ||
  fail "agent did not say it moved on to the new file"
# The queues.conf the agent read: support's servicelevel and wrapuptime logged at start.
grep -q "queue support: wrapuptime 15 s, servicelevel 20 s" "$WORK/agent-1.log" ||
  fail "queues.conf not read"
# Asterisk's servicelevel for sales (30 s) differs from the contract's T (the default 20 s,
# sent in Welcome): the agent says so once; support's 20 s matches and is not mentioned.
grep -q "queue sales: Asterisk servicelevel is 30 s but the contract's SL threshold is 20 s" \
  "$WORK/agent-1.log" || fail "servicelevel/contract mismatch not reported"
! grep -q "queue support: Asterisk servicelevel" "$WORK/agent-1.log" ||
  fail "a matching servicelevel was reported"

# 4. The karthik0112 Issabel log (both rotations) with a queues.conf written for it: members
#    added over AMI by interface are one agent per person; Reception, a static member, is on
#    the roster though it never logs a line. Roster by hand: Agent 1, Karthik, karthik, Sathish
#    logged out at the end (every ADDMEMBER has its REMOVEMEMBER, so they are no longer queue
#    members), Reception ready. Read without the binding, each UNPAUSE'd name would stay ready
#    for ever beside its interface: 5 ready.
K="$REALDATA/asterisk/karthik0112__synk_bug"
if [[ -d "$K" ]]; then
  mkdir -p "$WORK/k-asterisk"
  printf '[general]\npersistentmembers=yes\n[500]\nwrapuptime=5\nservicelevel=20\nmember => SIP/1002,0,Reception\n' \
    >"$WORK/k-asterisk/queues.conf"
  "$BIN/ccmon-agent" --site k1 --collector "127.0.0.1:$GRPC_PORT" --queue-log "$K/queue_log-20220707" \
    --queue-log "$K/queue_log" --from-start --asterisk-config "$WORK/k-asterisk" --once \
    --once-timeout 30 --no-fsync --spool-dir "$WORK/spool-k1" >"$WORK/agent-k1.log" 2>&1 ||
    fail "karthik replay failed"
  l='client="default",site="k1",queue="500"'
  expect_metric ccmon_agents "$l,state=\"ready\"" 1
  expect_metric ccmon_agents "$l,state=\"not_ready\"" 0
  expect_metric ccmon_agents "$l,state=\"on_call\"" 0
else
  echo "SKIP real data: $K not present"
fi
