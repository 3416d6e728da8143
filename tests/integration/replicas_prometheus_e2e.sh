#!/usr/bin/env bash
# Two collector replicas behind a real Prometheus and a real two-node Alertmanager cluster, as
# docs/operations.md ("Collector replicas") runs them:
#  - Prometheus scrapes both, told apart by a `replica` label; the recording rules give the
#    client-level figures once (within a scrape's timing of one replica's own figures), with
#    both replicas up and with replica A killed, and never the double;
#  - both collectors send their continuity alerts to both Alertmanagers, joined with
#    --cluster.peer: a site going dark reaches the receiver once.
source "$(dirname "$0")/lib.sh"
TOOLS=$1
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
for tool in prometheus prometheus-alertmanager jq curl; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (deploy/install-deps.sh installs it)"
done

# --- The receiver's capture and two clustered Alertmanagers.
start_bg hooks "$TOOLS/webhook_sink" --paths "$WORK/hooks.tsv"
wait_for grep -q listening "$WORK/hooks.log" || fail "webhook capture did not start"
HOOK=$(awk '{print $3}' "$WORK/hooks.log")
cat >"$WORK/am.yml" <<YML
route:
  receiver: capture
  group_by: [alertname, site]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: capture
    webhook_configs:
      - url: http://127.0.0.1:$HOOK/capture
YML
AM_WEB=() AM_GOSSIP=()
for i in 0 1; do
  AM_WEB+=("$(free_port)") AM_GOSSIP+=("$(free_port)")
done
for i in 0 1; do
  other=$((1 - i))
  start_bg "am$i" prometheus-alertmanager --config.file="$WORK/am.yml" --storage.path="$WORK/am$i" \
    --web.listen-address="127.0.0.1:${AM_WEB[$i]}" \
    --cluster.listen-address="127.0.0.1:${AM_GOSSIP[$i]}" \
    --cluster.advertise-address="127.0.0.1:${AM_GOSSIP[$i]}" \
    --cluster.peer="127.0.0.1:${AM_GOSSIP[$other]}" --cluster.peer-timeout=2s \
    --cluster.settle-timeout=2s --log.level=warn
done
for i in 0 1; do
  WAIT_S=30 wait_for curl -sf "http://127.0.0.1:${AM_WEB[$i]}/-/ready" || fail "alertmanager $i did not start"
done
cluster_formed() {
  curl -sf "http://127.0.0.1:${AM_WEB[0]}/api/v2/status" | jq -e '.cluster.peers | length == 2'
}
WAIT_S=30 wait_for cluster_formed || fail "the two Alertmanagers did not form a cluster"

# --- Two replicas of one shard, faster SiteDark for the test, both sending to both.
cat >"$WORK/continuity.yaml" <<YML
defaults:
  resolve_after_s: 1
  site_dark: {heartbeats: 3, min_s: 4}
YML
collector_args=(--shard asia --continuity-rules "$WORK/continuity.yaml"
  --alertmanager "http://127.0.0.1:${AM_WEB[0]}" --alertmanager "http://127.0.0.1:${AM_WEB[1]}")
start_collector a --data-dir "$WORK/data-a" "${collector_args[@]}"
A_PORT=$GRPC_PORT A_METRICS=$METRICS_PORT A_PID=$COLLECTOR_PID
start_collector b --data-dir "$WORK/data-b" "${collector_args[@]}"
B_PORT=$GRPC_PORT B_METRICS=$METRICS_PORT
start_agent() {
  start_bg "agent$1" "$BIN/ccmon-agent" --site manila-1 --collector "127.0.0.1:$A_PORT,127.0.0.1:$B_PORT" \
    --simulate --scenario normal --sim-agents 30 --sim-queue billing --sim-queue support \
    --sim-calls-per-minute 120 --heartbeat-ms 500 --no-fsync --spool-dir "$WORK/spool" --log-level warn
  AGENT_PID=$LAST_PID
}
start_agent 1

# --- Prometheus: both replicas, told apart by `replica`, with rules/ and both Alertmanagers.
cat >"$WORK/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $ROOT/rules/*.yml
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["127.0.0.1:${AM_WEB[0]}", "127.0.0.1:${AM_WEB[1]}"]
scrape_configs:
  - job_name: ccmon
    scrape_timeout: 1s
    static_configs:
      - targets: ["127.0.0.1:$A_METRICS"]
        labels: {replica: a}
      - targets: ["127.0.0.1:$B_METRICS"]
        labels: {replica: b}
YML
PROM_PORT=$(free_port)
start_bg prometheus prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/tsdb" \
  --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn
PROM="http://127.0.0.1:$PROM_PORT"
WAIT_S=30 wait_for curl -sf "$PROM/-/ready" || fail "prometheus did not start"
value() {  # instant query [at unix time] -> the first sample's value, or "none"
  curl -s --data-urlencode "query=$1" ${2:+--data-urlencode "time=$2"} "$PROM/api/v1/query" |
    jq -r '.data.result[0].value[1] // "none"'
}

# The recorded client-level offered calls against the same figure from replica B alone (up
# throughout), both at the same instant two seconds back: equal within a scrape's timing and
# the rule's evaluation lag (20%), where two copies would be twice it.
RECORDED='client_queue:ccmon_calls_offered:increase30m{client="default",queue="billing"}'
B_ONLY='sum by (client, queue) (increase(ccmon_calls_offered_total{client="default",queue="billing",replica="b"}[30m]))'
compare() {  # phase: five samples a second apart
  local i r b ratio at
  for i in 1 2 3 4 5; do
    at=$(($(date +%s) - 2))
    r=$(value "$RECORDED" "$at") b=$(value "$B_ONLY" "$at")
    [[ $r != none && $b != none ]] || fail "$1: no figure (recorded $r, replica b $b)"
    ratio=$(jq -n "$r / $b")
    jq -e -n "$ratio > 0.8 and $ratio < 1.2" >/dev/null ||
      fail "$1: recorded $r calls offered against replica b's $b (ratio $ratio): not one copy"
    sleep 1
  done
  echo "$1: recorded $r calls offered, replica b alone $b"
}
has_figures() { [[ $(value "$RECORDED") != none && $(value "$B_ONLY") != none ]] &&
  (($(value "$B_ONLY" | cut -d. -f1) >= 60)); }
WAIT_S=60 wait_for has_figures || fail "no client-level figures after 60 s"
both_up() { [[ $(value 'count(up{job="ccmon"} == 1)') == 2 ]]; }
WAIT_S=20 wait_for both_up || fail "Prometheus does not see both replicas up"
compare "both replicas up"

# The floor's and the liaison's dashboards with both replicas scraped: every query evaluates
# (no many-to-many match between the replicas' copies) and none shows a series per replica.
dash_query() {  # expression with dashboard variables as "All"
  local e=$1
  e=${e//\$__rate_interval/1m}
  e=${e//\$__interval/1m}
  e=${e//\$__range/1m}
  e=${e//\$\{interval_minutes\}/30}
  for v in client site queue; do
    e=${e//\$\{$v\}/.*}
    e=${e//\$$v/.*}
  done
  curl -s --data-urlencode "query=$e" "$PROM/api/v1/query"
}
checked=0
while IFS=$'\t' read -r dash title expr; do
  out=$(dash_query "$(base64 -d <<<"$expr")")
  jq -e '.status == "success"' <<<"$out" >/dev/null ||
    fail "$dash '$title' fails with two replicas: $(jq -r .error <<<"$out")"
  ! jq -e 'any(.data.result[]; .metric.replica != null)' <<<"$out" >/dev/null ||
    fail "$dash '$title' shows a series per replica"
  checked=$((checked + 1))
done < <(for d in floor-wallboard client-liaison; do
  jq -r --arg d "$d" '.panels[] | select(.targets != null) | .title as $t | .targets[]
    | select(.expr != null) | [$d, $t, (.expr | @base64)] | @tsv' "$ROOT/grafana/dashboards/$d.json"
done)
echo "$checked wallboard and liaison queries: one copy with two replicas"

kill -9 "$A_PID"
a_down() { [[ $(value 'up{job="ccmon",replica="a"}') == 0 ]]; }
WAIT_S=20 wait_for a_down || fail "Prometheus did not see replica A go down"
compare "replica A down"

# --- A back; then the site goes dark while both replicas watch it: one notification.
"$BIN/ccmon-collector" --listen "127.0.0.1:$A_PORT" --metrics-listen "127.0.0.1:$A_METRICS" \
  --data-dir "$WORK/data-a" "${collector_args[@]}" >"$WORK/a2.log" 2>&1 &
PIDS+=($!)
wait_for grep -q 'serving gRPC on port' "$WORK/a2.log" || fail "replica A did not restart"
WAIT_S=20 wait_for both_up || fail "Prometheus does not see replica A back"
compare "replica A back"
a_connected() { local METRICS_PORT=$A_METRICS; [[ $(metric ccmon_site_connected 'site="manila-1"') == 1 ]]; }
WAIT_S=30 wait_for a_connected || fail "the agent did not reconnect to replica A"

kill -9 "$AGENT_PID"
dark_sent() {
  awk -F'\t' '{ print $2 }' "$WORK/hooks.tsv" 2>/dev/null |
    jq -se 'any(.[]; .status == "firing" and any(.alerts[]; .labels.alertname == "SiteDark"))'
}
WAIT_S=40 wait_for dark_sent || fail "SiteDark never reached the receiver"
both_firing() {  # each collector has sent it: both Alertmanagers hold it
  local i
  for i in 0 1; do
    curl -sf "http://127.0.0.1:${AM_WEB[$i]}/api/v2/alerts?active=true" |
      jq -e 'any(.[]; .labels.alertname == "SiteDark" and .labels.shard == "asia")' >/dev/null || return 1
  done
}
WAIT_S=10 wait_for both_firing || fail "SiteDark did not reach both Alertmanagers"
# Past the second node's turn (peer timeout 2 s) and a few group intervals.
sleep 6
sent=$(awk -F'\t' '{ print $2 }' "$WORK/hooks.tsv" |
  jq -s '[.[] | select(.status == "firing") | .alerts[] | select(.labels.alertname == "SiteDark")] | length')
[[ $sent == 1 ]] || fail "the receiver got SiteDark $sent times from two collectors and two Alertmanagers, expected once"
echo "PASS: figures once with both replicas and with one; SiteDark from two collectors through two Alertmanagers notified once"
