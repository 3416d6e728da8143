#!/usr/bin/env bash
# SIP trunk probes against real SIP servers, with a real collector, agents and Alertmanager:
#  - a Kamailio answering OPTIONS with 200 (sl_send_reply) on UDP and TCP: both trunks are up on
#    /metrics with their status and a round trip;
#  - Kamailio killed: TrunkDown reaches Alertmanager within trunk_down.for_s + 5 s; Kamailio
#    back on the same ports: it resolves;
#  - SIPp answering OPTIONS with 503 (its own UAS scenario): TrunkDown fires for that trunk,
#    with the status in its summary.
# Skips (exit 77) only when kamailio or sipp is not installed (deploy/install-deps.sh installs
# both: Debian packages kamailio and sip-tester).
source "$(dirname "$0")/lib.sh"

KAMAILIO=$(command -v kamailio || { [[ -x /usr/sbin/kamailio ]] && echo /usr/sbin/kamailio; } || true)
SIPP=$(command -v sipp || true)
if [[ -z "$KAMAILIO" || -z "$SIPP" ]]; then
  echo "SKIP: kamailio and sipp are needed (apt-get install kamailio sip-tester," \
    "or deploy/install-deps.sh); found kamailio='$KAMAILIO' sipp='$SIPP'"
  exit 77
fi
for tool in prometheus-alertmanager amtool jq curl; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (deploy/install-deps.sh installs it)"
done

FOR_S=5  # trunk_down.for_s for this test

# A bad probe spec stops the agent at start: exit 2, the spec echoed.
rc=0
"$BIN/ccmon-agent" --site x --probe 'sip:carrier=sbc.example:99999' >"$WORK/bad-spec.log" 2>&1 ||
  rc=$?
[[ $rc -eq 2 ]] || fail "a bad --probe spec exited $rc, not 2"
grep -qF "ccmon-agent: --probe: probe 'sip:carrier=sbc.example:99999': PORT must be a number" \
  "$WORK/bad-spec.log" || fail "unclear refusal of a bad spec: $(cat "$WORK/bad-spec.log")"

# udp_bound PORT: something has 127.0.0.1:PORT (or any address) bound for UDP right now.
udp_bound() {
  local hex
  hex=$(printf '%04X' "$1")
  awk -v p="$hex" 'FNR > 1 { split($2, a, ":"); if (a[2] == p) found = 1 } END { exit !found }' \
    /proc/net/udp /proc/net/udp6 2>/dev/null
}
udp_free() { ! udp_bound "$1"; }
udp_free_port() {
  local p
  for _ in $(seq 100); do
    p=$((20000 + RANDOM % 40000))
    udp_bound "$p" || { echo "$p"; return 0; }
  done
  return 1
}

SIP_UDP=$(udp_free_port)
SIP_TCP=$(free_port)
SIPP_UDP=$(udp_free_port)
while [[ "$SIPP_UDP" == "$SIP_UDP" ]]; do SIPP_UDP=$(udp_free_port); done

# Kamailio: answers OPTIONS with 200 statelessly, anything else with 405; foreground (-DD),
# logging to stderr (-E), its runtime files in the test's directory, no root needed.
cat >"$WORK/kamailio.cfg" <<CFG
#!KAMAILIO
debug=2
log_stderror=yes
children=1
tcp_children=1
auto_aliases=no
listen=udp:127.0.0.1:$SIP_UDP
listen=tcp:127.0.0.1:$SIP_TCP
loadmodule "sl.so"
request_route {
  if (method == "OPTIONS") {
    sl_send_reply("200", "OK");
    exit;
  }
  sl_send_reply("405", "Method Not Allowed");
}
CFG
mkdir -p "$WORK/kamailio-run"
"$KAMAILIO" -c -f "$WORK/kamailio.cfg" >"$WORK/kamailio-check.log" 2>&1 ||
  fail "kamailio rejects the test's config: $(tail -3 "$WORK/kamailio-check.log")"

KAM_N=0
start_kamailio() {
  KAM_N=$((KAM_N + 1))
  start_bg "kamailio$KAM_N" "$KAMAILIO" -f "$WORK/kamailio.cfg" -DD -E -m 32 -M 4 \
    -Y "$WORK/kamailio-run" -w "$WORK/kamailio-run"
  KAM_PID=$LAST_PID
  wait_for udp_bound "$SIP_UDP" || fail "kamailio did not bind udp 127.0.0.1:$SIP_UDP"
}
stop_kamailio() {
  kill "$KAM_PID"
  wait "$KAM_PID" 2>/dev/null || true
  # Its children hold the socket too; they follow the main process out.
  wait_for udp_free "$SIP_UDP" || fail "kamailio's children still hold udp $SIP_UDP"
}

AM_PORT=$(free_port)
AM="http://127.0.0.1:$AM_PORT"
cat >"$WORK/am.yml" <<YML
route:
  receiver: blackhole
  group_wait: 1s
receivers:
  - name: blackhole
YML
start_bg alertmanager prometheus-alertmanager --config.file="$WORK/am.yml" \
  --storage.path="$WORK/am-data" --web.listen-address="127.0.0.1:$AM_PORT" \
  --cluster.listen-address=
wait_for curl -sf "$AM/-/ready" || fail "alertmanager did not start"

cat >"$WORK/collector.yaml" <<YML
alert_delivery:
  resend_interval_s: 1
  backoff_initial_s: 0.2
  backoff_max_s: 1
YML
# A short trunk_down.for_s and resolve, so the test need not wait 30 s for each.
cat >"$WORK/continuity.yaml" <<YML
defaults:
  resolve_after_s: 2
  trunk_down:
    for_s: $FOR_S
  # As short as TrunkDown's, so that LinkDown and LinkDegraded would fire for the trunk
  # by the time TrunkDown does if they were not held back.
  link_down:
    for_s: $FOR_S
  link_degraded:
    for_s: $FOR_S
YML
start_collector c --config "$WORK/collector.yaml" --alertmanager "$AM" \
  --continuity-rules "$WORK/continuity.yaml"

start_agent() {  # site probes...
  local site=$1
  shift
  local probes=()
  for p in "$@"; do probes+=(--probe "$p"); done
  start_bg "agent-$site" "$BIN/ccmon-agent" --site "$site" --collector "127.0.0.1:$GRPC_PORT" \
    --spool-dir "$WORK/spool-$site" --no-fsync --heartbeat-ms 1000 --probe-interval-ms 500 \
    "${probes[@]}"
}

am_alerts() {  # filters...: Alertmanager's active alerts matching them, as JSON
  amtool --alertmanager.url="$AM" alert query "$@" -o json
}
metric_is() { [[ $(metric "$1" "$2") == "$3" ]]; }  # name labels value
am_has() { [[ $(am_alerts "$@" | jq length) -gt 0 ]]; }
am_lacks() { [[ $(am_alerts "$@" | jq length) -eq 0 ]]; }
now_ms() { date +%s%3N; }
positive() { awk -v v="$1" 'BEGIN { exit !(v > 0) }'; }

# --- 1. Kamailio answers: both trunks up, with a round trip ------------------------------------
start_kamailio
start_agent mnl-1 "sip:carrier=127.0.0.1:$SIP_UDP" "sip:carrier-tcp=127.0.0.1:$SIP_TCP;transport=tcp"
for link in carrier carrier-tcp; do
  l="site=\"mnl-1\",link=\"$link\""
  wait_for metric_is ccmon_link_sip_status "$l" 200 ||
    fail "$link: no 200 from kamailio on /metrics (sip_status $(metric ccmon_link_sip_status "$l"))"
  expect_metric ccmon_link_up "$l" 1
  expect_metric ccmon_link_info "$l,kind=\"sip_trunk\"" 1
  rtt=$(metric ccmon_link_rtt_seconds "$l")
  positive "$rtt" || fail "$link: rtt $rtt"
  echo "kamailio up: $link status 200, rtt ${rtt}s"
done

# --- 2. Kamailio killed: TrunkDown in Alertmanager within for_s + 5 s -------------------------
stop_kamailio
t0=$(now_ms)
WAIT_S=$((FOR_S + 5)) wait_for am_has alertname=TrunkDown site=mnl-1 link=carrier ||
  fail "TrunkDown for carrier not in Alertmanager within $((FOR_S + 5)) s of killing kamailio"
echo "TrunkDown (carrier) in Alertmanager $(($(now_ms) - t0)) ms after kamailio was killed" \
  "(trunk_down.for_s $FOR_S)"
alert=$(am_alerts alertname=TrunkDown site=mnl-1 link=carrier | jq '.[0]')
[[ $(jq -r .labels.severity <<<"$alert") == critical ]] || fail "TrunkDown is not critical: $alert"
jq -r .annotations.summary <<<"$alert" | grep -q 'carrier at site mnl-1 is down: no answer to OPTIONS' ||
  fail "unexpected TrunkDown summary: $(jq -r .annotations.summary <<<"$alert")"
jq -r .annotations.runbook_url <<<"$alert" | grep -q 'trunkdown.md$' || fail "no runbook link"
WAIT_S=10 wait_for am_has alertname=TrunkDown site=mnl-1 link=carrier-tcp ||
  fail "TrunkDown for carrier-tcp (TCP) not in Alertmanager"
expect_metric ccmon_link_sip_status 'site="mnl-1",link="carrier"' 0
expect_metric ccmon_link_up 'site="mnl-1",link="carrier"' 0
# One alert per fault: the link alerts stay silent while TrunkDown fires.
am_lacks alertname=LinkDown site=mnl-1 || fail "LinkDown alongside TrunkDown"
am_lacks alertname=LinkDegraded site=mnl-1 || fail "LinkDegraded alongside TrunkDown"

# --- 3. Kamailio back: resolved ---------------------------------------------------------------
start_kamailio
WAIT_S=30 wait_for am_lacks alertname=TrunkDown site=mnl-1 ||
  fail "TrunkDown did not resolve after kamailio came back: $(am_alerts alertname=TrunkDown)"
expect_metric ccmon_link_sip_status 'site="mnl-1",link="carrier"' 200
echo "TrunkDown resolved after kamailio came back"

# --- 4. SIPp answers 503: TrunkDown ------------------------------------------------------------
cat >"$WORK/uas_503.xml" <<'XML'
<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<!-- An overloaded SBC: every OPTIONS answered 503 Service Unavailable. -->
<scenario name="OPTIONS answered 503">
  <recv request="OPTIONS" />
  <send>
    <![CDATA[

      SIP/2.0 503 Service Unavailable
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Retry-After: 30
      Content-Length: 0

    ]]>
  </send>
</scenario>
XML
start_bg sipp "$SIPP" -sf "$WORK/uas_503.xml" -i 127.0.0.1 -p "$SIPP_UDP" -t u1 -nostdin \
  -trace_err -error_file "$WORK/sipp-errors.log"
wait_for udp_bound "$SIPP_UDP" || fail "sipp did not bind udp 127.0.0.1:$SIPP_UDP"
start_agent cebu-1 "sip:sbc=127.0.0.1:$SIPP_UDP"
l='site="cebu-1",link="sbc"'
wait_for metric_is ccmon_link_sip_status "$l" 503 ||
  fail "sbc: no 503 from sipp on /metrics (sip_status $(metric ccmon_link_sip_status "$l"))"
t0=$(now_ms)
expect_metric ccmon_link_up "$l" 0
rtt=$(metric ccmon_link_rtt_seconds "$l")
positive "$rtt" || fail "sbc: a 503 is an answer and has a round trip, got $rtt"
expect_metric ccmon_link_loss_ratio "$l" 0
WAIT_S=$((FOR_S + 5)) wait_for am_has alertname=TrunkDown site=cebu-1 link=sbc ||
  fail "TrunkDown for a trunk answering 503 not in Alertmanager within $((FOR_S + 5)) s"
echo "TrunkDown (sbc answering 503) in Alertmanager $(($(now_ms) - t0)) ms after the first 503"
summary=$(am_alerts alertname=TrunkDown site=cebu-1 link=sbc | jq -r '.[0].annotations.summary')
grep -q 'it answers 503 Service Unavailable' <<<"$summary" || fail "summary without the status: $summary"
am_lacks alertname=TrunkDown site=mnl-1 || fail "kamailio's trunks went down meanwhile"
kill -0 "$COLLECTOR_PID" || fail "collector died"
echo PASS
