#!/usr/bin/env bash
# The JSON-lines source on standard input (a non-Asterisk ACD feeding the agent) with a bad
# line rejected by line number, sent to two collector replicas: each gets every event.
source "$(dirname "$0")/lib.sh"
start_collector c2
SECOND_METRICS=$METRICS_PORT SECOND=$GRPC_PORT
start_collector c
t=$(( $(date +%s) * 1000 - 600000 ))
{
  echo "{\"eventTimeMs\":\"$t\",\"call\":{\"kind\":\"KIND_OFFERED\",\"queue\":\"claims\",\"callId\":\"a\"}}"
  echo "{\"eventTimeMs\":\"$t\",\"call\":{\"kind\":\"KIND_OFFERED\",\"queue\":\"claims\",\"callId\":\"b\"}}"
  echo "{\"eventTimeMs\":\"$t\",\"call\":{\"kind\":\"KIND_OFFERED\",\"queue\":\"claims\",\"callId\":\"c\"}}"
  echo "{\"eventTimeMs\":\"$t\",\"call\":{\"kind\":\"KIND_ANSWERD\",\"queue\":\"claims\"}}"
  echo "{\"event_time_ms\":$((t + 8000)),\"call\":{\"kind\":\"KIND_ANSWERED\",\"queue\":\"claims\",\"call_id\":\"a\",\"wait_ms\":8000}}"
  echo "{\"eventTimeMs\":\"$((t + 25000))\",\"call\":{\"kind\":\"KIND_ANSWERED\",\"queue\":\"claims\",\"callId\":\"b\",\"waitMs\":25000}}"
  echo ""
  echo "{\"eventTimeMs\":\"$((t + 40000))\",\"call\":{\"kind\":\"KIND_ABANDONED\",\"queue\":\"claims\",\"callId\":\"c\",\"waitMs\":40000}}"
} | "$BIN/ccmon-agent" --site j1 --collector "127.0.0.1:$SECOND,127.0.0.1:$GRPC_PORT" --jsonl - \
  --once --once-timeout 30 --no-fsync --spool-dir "$WORK/spool" >"$WORK/agent.log" 2>&1 ||
  fail "agent --once over stdin failed"
grep -q '/dev/stdin:4: line rejected' "$WORK/agent.log" || fail "bad line 4 not reported by number"
l='client="default",site="j1",queue="claims"'
for port in "$METRICS_PORT" "$SECOND_METRICS"; do
  METRICS_PORT=$port
  expect_metric ccmon_calls_offered_total "$l" 3
  expect_metric ccmon_calls_answered_total "$l" 2
  expect_metric ccmon_calls_answered_in_threshold_total "$l" 1
  expect_metric ccmon_calls_abandoned_total "$l" 1
done
echo PASS
