#!/usr/bin/env bash
# Continuity alerts against a real Alertmanager on loopback:
#  - a killed site agent raises SiteDark in Alertmanager within 20 s; it resolves when the
#    agent returns;
#  - the typhoon scenario raises StaffingCollapse, voice-degradation raises VoiceQualityLow;
#  - each client's webhook receiver gets firing and resolved notifications for its client only;
#  - with Alertmanager stopped, an alert raised meanwhile reaches it once it is back.
source "$(dirname "$0")/lib.sh"
TOOLS=$1
AM_PORT=$(free_port)
AM="http://127.0.0.1:$AM_PORT"

start_alertmanager() {
  cat >"$WORK/am.yml" <<YML
route:
  receiver: blackhole
  group_wait: 1s
receivers:
  - name: blackhole
YML
  start_bg "alertmanager$1" prometheus-alertmanager --config.file="$WORK/am.yml" \
    --storage.path="$WORK/am-data" --web.listen-address="127.0.0.1:$AM_PORT" \
    --cluster.listen-address=
  AM_PID=$LAST_PID
  wait_for curl -sf "$AM/-/ready" || fail "alertmanager did not start"
}
start_alertmanager 1

start_bg sink-acme "$TOOLS/webhook_sink" "$WORK/hooks-acme.jsonl"
wait_for grep -q listening "$WORK/sink-acme.log"
ACME_HOOK=$(awk '{print $3}' "$WORK/sink-acme.log")
start_bg sink-globex "$TOOLS/webhook_sink" "$WORK/hooks-globex.jsonl"
wait_for grep -q listening "$WORK/sink-globex.log"
GLOBEX_HOOK=$(awk '{print $3}' "$WORK/sink-globex.log")

cat >"$WORK/collector.yaml" <<YML
clients:
  - name: acme
    queues: [billing, support]
    webhooks: ["http://127.0.0.1:$ACME_HOOK/hook"]
  - name: globex
    queues: [sales]
    webhooks: ["http://127.0.0.1:$GLOBEX_HOOK/hook"]
alert_delivery:
  resend_interval_s: 2
  backoff_initial_s: 0.2
  backoff_max_s: 1
YML
# Faster hysteresis than production so the test need not wait 30 s for each resolve.
cat >"$WORK/continuity.yaml" <<YML
defaults:
  resolve_after_s: 2
YML
start_collector c --config "$WORK/collector.yaml" --alertmanager "$AM" \
  --continuity-rules "$WORK/continuity.yaml"

agent() {  # name site scenario disaster-seconds queues...
  local name=$1 site=$2 scenario=$3 disaster_for=$4
  shift 4
  local qs=()
  for q in "$@"; do qs+=(--sim-queue "$q"); done
  start_bg "$name" "$BIN/ccmon-agent" --site "$site" --collector "127.0.0.1:$GRPC_PORT" \
    --simulate --scenario "$scenario" --seed 7 --heartbeat-ms 1000 --no-fsync \
    --spool-dir "$WORK/spool-$site" --sim-disaster-at 3 --sim-disaster-for "$disaster_for" \
    --sim-agents 40 --sim-handle-s 8 --sim-calls-per-minute 60 "${qs[@]}"
}
agent manila manila-1 normal 0 billing support
MANILA_PID=$LAST_PID
# The typhoon takes 60% of pune's agents within the first half of its minute.
agent pune pune-1 typhoon 60 billing
agent bogota bogota-1 voice-degradation 600 sales
BOGOTA_PID=$LAST_PID

am_has() {  # filters...: true when Alertmanager holds an active alert matching them
  [[ $(amtool --alertmanager.url="$AM" alert query "$@" -o json | jq length) -gt 0 ]]
}

WAIT_S=90 wait_for am_has alertname=StaffingCollapse site=pune-1 client=acme ||
  fail "StaffingCollapse for pune-1 never reached Alertmanager"
WAIT_S=90 wait_for am_has alertname=VoiceQualityLow site=bogota-1 client=globex queue=sales ||
  fail "VoiceQualityLow for bogota-1 never reached Alertmanager"
echo "typhoon -> StaffingCollapse, voice-degradation -> VoiceQualityLow: in Alertmanager"

# Kill manila's agent: SiteDark within 20 s.
kill -9 "$MANILA_PID"
t0=$SECONDS
WAIT_S=20 wait_for am_has alertname=SiteDark site=manila-1 client=acme ||
  fail "SiteDark for manila-1 not in Alertmanager within 20 s"
echo "SiteDark in Alertmanager $((SECONDS - t0)) s after the agent was killed"
site_up_is() { [[ $(metric ccmon_site_up 'site="manila-1"') == "$1" ]]; }
wait_for site_up_is 0 || fail "ccmon_site_up for dark manila-1 is $(metric ccmon_site_up 'site="manila-1"')"
[[ $(metric ccmon_site_up 'site="pune-1"') == 1 ]] || fail "pune-1 flagged down"
agent manila2 manila-1 normal 0 billing support
WAIT_S=60 wait_for bash -c "! amtool --alertmanager.url=$AM alert query alertname=SiteDark \
  site=manila-1 -o json | jq -e 'length > 0' >/dev/null" || fail "SiteDark did not resolve"
wait_for site_up_is 1 || fail "ccmon_site_up stays 0 after manila-1 came back"
echo "SiteDark resolved after the agent returned"

# Webhooks: acme got SiteDark firing and resolved; each sink only its own client.
wait_for grep -q '"status":"resolved".*"name":"SiteDark"' "$WORK/hooks-acme.jsonl" ||
  fail "acme's webhook never got the SiteDark resolution"
grep -q '"status":"firing".*"name":"SiteDark"' "$WORK/hooks-acme.jsonl" ||
  fail "acme's webhook never got SiteDark firing"
wait_for grep -q '"name":"VoiceQualityLow"' "$WORK/hooks-globex.jsonl" ||
  fail "globex's webhook never got VoiceQualityLow"
if jq -e 'select(.alert.client != "acme")' "$WORK/hooks-acme.jsonl" | grep -q .; then
  fail "acme's webhook received another client's alert"
fi
if jq -e 'select(.alert.client != "globex")' "$WORK/hooks-globex.jsonl" | grep -q .; then
  fail "globex's webhook received another client's alert"
fi
echo "webhooks: firing and resolved, each client only its own"

# Alertmanager down: a new alert is raised meanwhile and delivered once it is back.
kill "$AM_PID"
wait "$AM_PID" 2>/dev/null || true
rm -rf "$WORK/am-data"  # a fresh Alertmanager: whatever it shows was delivered after its return
kill -9 "$BOGOTA_PID"
wait_for bash -c "grep -q 'alert SiteDark firing client=globex site=bogota-1' '$WORK/c.log'" ||
  fail "collector did not raise SiteDark for bogota-1"
WAIT_S=30 wait_for bash -c "curl -sf http://127.0.0.1:$METRICS_PORT/metrics |
  grep -q 'ccmon_alert_receiver_up{receiver=\"alertmanager:$AM\"} 0'" ||
  fail "the collector did not notice Alertmanager was down"
start_alertmanager 2
WAIT_S=30 wait_for am_has alertname=SiteDark site=bogota-1 client=globex ||
  fail "SiteDark raised during the Alertmanager outage was not delivered after it came back"
echo "alert raised while Alertmanager was down delivered after its return"
kill -0 "$COLLECTOR_PID" || fail "collector died"
echo PASS
