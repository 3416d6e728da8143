#!/usr/bin/env bash
# Three collector shards with disjoint sites behind one Prometheus, federated as
# docs/operations.md ("Scaling past one collector") says: a Prometheus next to each shard
# scrapes it, a global Prometheus federates the three and evaluates rules/. A client's queue
# served by a site in every shard gets its service level from the recording rules across the
# shards; it must equal the figure computed here from the simulators' ground truth of every
# site's calls (counts before ratios, never an average of the shards' percentages).
source "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
for tool in prometheus jq curl; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (deploy/install-deps.sh installs it)"
done

# start_prometheus NAME CONFIG: sets PROM to its URL.
start_prometheus() {
  local port
  port=$(free_port) || fail "no free port"
  start_bg "$1" prometheus --config.file="$2" --storage.tsdb.path="$WORK/$1-tsdb" \
    --web.listen-address="127.0.0.1:$port" --log.level=warn
  PROM="http://127.0.0.1:$port"
  WAIT_S=90 wait_for curl -sf "$PROM/-/ready" || fail "$1 did not start"
}

# --- Three shards: the same client and queues, a site each.
SHARD_PROMS=()
for s in 1 2 3; do
  cat >"$WORK/collector$s.yaml" <<YML
shard: shard$s
clients:
  - name: acme
    queues: [billing, support]
sites:
  - id: site$s
YML
  start_collector "c$s" --config "$WORK/collector$s.yaml"
  eval "GRPC$s=$GRPC_PORT"
  cat >"$WORK/prom$s.yml" <<YML
global: {scrape_interval: 1s, external_labels: {shard: shard$s}}
scrape_configs:
  - job_name: ccmon
    scrape_timeout: 1s
    static_configs: [{targets: ["127.0.0.1:$METRICS_PORT"]}]
YML
  start_prometheus "prom$s" "$WORK/prom$s.yml"
  SHARD_PROMS+=("${PROM#http://}")
done

# --- The global Prometheus: federates the shards, runs rules/.
targets=$(printf '"%s",' "${SHARD_PROMS[@]}")
cat >"$WORK/global.yml" <<YML
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: ["$ROOT/rules/*.yml"]
scrape_configs:
  - job_name: federate
    scrape_timeout: 1s
    honor_labels: true
    metrics_path: /federate
    params:
      'match[]': ['{__name__=~"ccmon_.*|up|scrape_.*"}']
    static_configs: [{targets: [${targets%,}]}]
YML
start_prometheus global "$WORK/global.yml"
value() {  # instant query on the global Prometheus -> the first sample's value, or "none"
  curl -s --data-urlencode "query=$1" "$PROM/api/v1/query" | jq -r '.data.result[0].value[1] // "none"'
}
# One waiting call per queue first (it counts as offered, never in the service level), so that
# every queue's counters exist, at 0, before the imports: the imports then show as increases.
for s in 1 2 3; do
  port_var="GRPC$s"
  t=$(($(date +%s) * 1000 - 60000))
  for q in billing support; do
    echo "{\"eventTimeMs\":\"$t\",\"call\":{\"kind\":\"KIND_OFFERED\",\"queue\":\"$q\",\"callId\":\"primer-$q\"}}"
  done | "$BIN/ccmon-agent" --site "site$s" --collector "127.0.0.1:${!port_var}" --jsonl - --once \
    --once-timeout 30 --no-fsync --spool-dir "$WORK/primer$s" --log-level warn \
    >"$WORK/primer$s.log" 2>&1 || fail "site$s primer failed"
done
zeros_seen() {
  [[ $(value 'count(count_over_time(ccmon_calls_offered_total{client="acme",queue="billing"}[1m]) > 2)') == 3 ]]
}
WAIT_S=60 wait_for zeros_seen || fail "the global Prometheus does not see the three shards' counters"

# --- Each site's hour of calls, imported into its shard; the simulator writes its truth.
# Loads far apart (an overloaded site with most of the calls, a quiet well-staffed one), so
# that the mean of the sites' percentages is far from the figure the contract means.
declare -A AGENTS=([1]=3 [2]=15 [3]=40) CPM=([1]=30 [2]=12 [3]=4)
for s in 1 2 3; do
  port_var="GRPC$s"
  "$BIN/ccmon-agent" --site "site$s" --collector "127.0.0.1:${!port_var}" --simulate --seed "$((40 + s))" \
    --sim-queue billing --sim-queue support --sim-agents "${AGENTS[$s]}" --sim-calls-per-minute "${CPM[$s]}" \
    --simulate-seconds 1200 --truth "$WORK/truth$s" --once --once-timeout 60 --no-fsync \
    --spool-dir "$WORK/spool$s" --log-level warn >"$WORK/agent$s.log" 2>&1 || fail "site$s import failed"
done

# The standard formula over all three sites' calls of billing, from the truth:
# answered within T / (answered + abandoned + unanswered - short abandons).
read -r num den < <(awk '$1 == "billing" { n += $4; d += $3 + $5 + $7 - $6 } END { print n, d }' \
  "$WORK"/truth1 "$WORK"/truth2 "$WORK"/truth3)
((den > 0)) || fail "no billing calls in the truth"
expected=$(jq -n "$num / $den")
# The wrong figure (the mean of the sites' percentages) must be told apart from it.
mean=$(awk '$1 == "billing" { d = $3 + $5 + $7 - $6; if (d > 0) { s += $4 / d; k++ } }
  END { print s / k }' "$WORK"/truth1 "$WORK"/truth2 "$WORK"/truth3)
jq -e -n "($mean - $expected) | fabs > 0.02" >/dev/null ||
  fail "the sites' loads are too alike for this test: mean $mean, truth $expected"
# The recorded figure, once the imports are in every window: within Prometheus' extrapolation
# of increase() to the window's edge (each shard's scrapes fall at their own instants).
RECORDED='client_queue:ccmon_service_level:ratio_rate30m{client="acme",queue="billing"}'
settled() {
  local v
  v=$(value "$RECORDED")
  [[ $v != none ]] && jq -e -n "($v - $expected) | fabs < 0.005" >/dev/null
}
WAIT_S=60 wait_for settled ||
  fail "recorded SL across shards is $(value "$RECORDED"), the truth over all sites' calls $expected ($num/$den)"
sites=$(value 'count(max by (site) (ccmon_calls_offered_total{client="acme",queue="billing"}))')
[[ $sites == 3 ]] || fail "the global Prometheus sees $sites sites, expected 3"
echo "PASS: SL of acme billing across three shards $(value "$RECORDED") = the truth over every site's calls $expected ($num/$den); the mean of sites would say $mean"
