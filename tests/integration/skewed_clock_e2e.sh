#!/usr/bin/env bash
# A site whose PBX clock runs 3 h fast and one whose clock runs 3 h slow, each imported by a real
# agent over gRPC: every call is counted (none refused as future_timestamp or dropped), the fast
# PBX is measured by ccmon_site_pbx_clock_ahead_seconds although the agent's own heartbeats are
# on time, and ClockSkew fires for it. A stamp a day and more ahead is still refused and counted.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

cat >"$WORK/rules.yaml" <<'YAML'
defaults:
  clock_skew:
    max_skew_s: 60
    for_s: 1
YAML
start_collector c --continuity-rules "$WORK/rules.yaml"

# calls SHIFT_MS: two calls offered, one answered in 8 s, one abandoned, stamped now + SHIFT_MS.
calls() {
  local t=$(( $(date +%s) * 1000 + $1 ))
  echo "{\"event_time_ms\":$t,\"call\":{\"kind\":\"KIND_OFFERED\",\"queue\":\"claims\",\"call_id\":\"a\"}}"
  echo "{\"event_time_ms\":$t,\"call\":{\"kind\":\"KIND_OFFERED\",\"queue\":\"claims\",\"call_id\":\"b\"}}"
  echo "{\"event_time_ms\":$((t + 8000)),\"call\":{\"kind\":\"KIND_ANSWERED\",\"queue\":\"claims\",\"call_id\":\"a\",\"wait_ms\":8000}}"
  echo "{\"event_time_ms\":$((t + 9000)),\"call\":{\"kind\":\"KIND_ABANDONED\",\"queue\":\"claims\",\"call_id\":\"b\",\"wait_ms\":9000}}"
}
three_h=$((3 * 3600 * 1000))
calls "$three_h" >"$WORK/fast.jsonl"
echo "{\"event_time_ms\":$(( $(date +%s) * 1000 + 25 * 3600 * 1000 )),\"call\":{\"kind\":\"KIND_OFFERED\",\"queue\":\"claims\",\"call_id\":\"z\"}}" >>"$WORK/fast.jsonl"
calls "-$three_h" >"$WORK/slow.jsonl"
for site in fast slow; do
  "$BIN/ccmon-agent" --site "$site" --collector "127.0.0.1:$GRPC_PORT" --jsonl "$WORK/$site.jsonl" \
    --from-start --once --once-timeout 30 --no-fsync --spool-dir "$WORK/spool-$site" \
    >"$WORK/agent-$site.log" 2>&1 || fail "agent for $site failed"
done
for site in fast slow; do
  l="client=\"default\",site=\"$site\",queue=\"claims\""
  expect_metric ccmon_calls_offered_total "$l" 2
  expect_metric ccmon_calls_answered_total "$l" 1
  expect_metric ccmon_calls_answered_in_threshold_total "$l" 1
  expect_metric ccmon_calls_abandoned_total "$l" 1
done
expect_metric ccmon_ingest_events_total 'result="invalid",reason="future_timestamp"' 1
ahead=$(metric ccmon_site_pbx_clock_ahead_seconds 'site="fast"')
awk -v a="$ahead" 'BEGIN { exit !(a > 10790 && a < 10810) }' ||
  fail "fast site's PBX clock ahead = $ahead s, expected about 10800"
expect_metric ccmon_site_pbx_clock_ahead_seconds 'site="slow"' 0
skew_alert() {
  scrape | grep -q "^ccmon_alerts_active{alertname=\"ClockSkew\".*site=\"$1\""
}
wait_for skew_alert fast || fail "ClockSkew did not fire for the fast PBX"
echo "PASS: skewed sites keep their calls; a fast PBX fires ClockSkew"
