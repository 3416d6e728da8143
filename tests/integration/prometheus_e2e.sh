#!/usr/bin/env bash
# Rules and dashboards against a real Prometheus scraping a real collector. A collector
# on the demo config gets an hour and a half of simulated history for three sites (agents with --once),
# then live simulated traffic; Prometheus scrapes it every second with rules/ loaded and sends its
# alerts to a real Alertmanager on deploy/alertmanager.yml. Every recording rule and every
# dashboard query (template variables resolved to real values, as Grafana would) must return at
# least one series, and no rule may fail to evaluate. Panels on alert metrics the collector does
# not export (yet: ccmon_alerts_active, ccmon_alert_notifications_total, ...) are skipped, loudly.
source "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
for tool in prometheus prometheus-alertmanager jq curl; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (deploy/install-deps.sh installs it)"
done

# start_server NAME URL-PATH COMMAND...: runs COMMAND (@PORT@ in its arguments becomes the
# port) on a free port until it answers on URL-PATH; sets PORT. Another process may take the
# port between the check and the bind, so a server that is not running once the port answers
# is started again on another port.
start_server() {
  local name=$1 path=$2 attempt
  shift 2
  for attempt in 1 2 3; do
    PORT=$(free_port) || fail "no free port"
    start_bg "$name" "${@//@PORT@/$PORT}"
    if WAIT_S=30 wait_for curl -sf "http://127.0.0.1:$PORT$path" && sleep 0.2 &&
        kill -0 "$LAST_PID"; then
      return 0
    fi
    kill "$LAST_PID" 2>/dev/null || true
  done
  fail "$name did not start"
}

# --- Alertmanager, then the collector pointed at it.
start_server alertmanager /-/ready prometheus-alertmanager \
  --config.file="$ROOT/deploy/alertmanager.yml" --storage.path="$WORK/am" \
  --web.listen-address=127.0.0.1:@PORT@ --cluster.listen-address= --log.level=warn
AM_PORT=$PORT

start_collector collector --config "$ROOT/deploy/demo/collector.yaml" --data-dir "$WORK/data" \
  --alertmanager "http://127.0.0.1:$AM_PORT"

# --- Sites of the demo: an hour and a half of history each (closed contract intervals for the
#     liaison's table), then live traffic.
declare -A SITE_QUEUES=([manila-1]="billing support" [pune-1]="billing support sales"
                        [bogota-1]="sales claims")
declare -A SITE_SEED=([manila-1]=11 [pune-1]=22 [bogota-1]=33)
declare -A LIVE_PID
agent_args() {  # site
  local q args=(--site "$1" --collector "127.0.0.1:$GRPC_PORT" --simulate --scenario normal
                --sim-agents 30 --no-fsync --log-level warn)
  for q in ${SITE_QUEUES[$1]}; do args+=(--sim-queue "$q"); done
  printf '%s\n' "${args[@]}"
}
for site in "${!SITE_QUEUES[@]}"; do
  mapfile -t args < <(agent_args "$site")
  "$BIN/ccmon-agent" "${args[@]}" --seed "${SITE_SEED[$site]}" --sim-calls-per-minute 3 \
    --once --simulate-seconds 5400 --once-timeout 60 --spool-dir "$WORK/backfill-$site" \
    >>"$WORK/agent-$site.log" 2>&1 || fail "backfill of $site failed"
done
for site in "${!SITE_QUEUES[@]}"; do
  mapfile -t args < <(agent_args "$site")
  start_bg "agent-live-$site" "$BIN/ccmon-agent" "${args[@]}" --seed "$((SITE_SEED[$site] + 100))" \
    --sim-calls-per-minute 12 --heartbeat-ms 1000 --spool-dir "$WORK/live-$site"
  LIVE_PID[$site]=$LAST_PID
done

# --- Prometheus: every second, our rules, our Alertmanager (scraped too, as in production). One
#     extra rule fires an on-call alert per client at once, so that the panels showing
#     Prometheus' own alerts (ALERTS) have one to show.
cat >"$WORK/test-alert.yml" <<EOF
groups:
  - name: test
    rules:
      - alert: TestOnCallAlert
        expr: group by (client) (ccmon_contract_info)
        labels: {severity: warning, team: oncall}
EOF
cat >"$WORK/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $ROOT/rules/*.yml
  - $WORK/test-alert.yml
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["127.0.0.1:$AM_PORT"]
scrape_configs:
  - job_name: ccmon
    scrape_timeout: 1s
    static_configs:
      - targets: ["127.0.0.1:$METRICS_PORT"]
  - job_name: alertmanager
    static_configs:
      - targets: ["127.0.0.1:$AM_PORT"]
EOF
start_server prometheus /-/ready prometheus --config.file="$WORK/prometheus.yml" \
  --storage.tsdb.path="$WORK/tsdb" --web.listen-address=127.0.0.1:@PORT@ --log.level=warn
PROM="http://127.0.0.1:$PORT"
[[ "$(curl -s "$PROM/api/v1/status/flags" | jq -r '.data["storage.tsdb.path"]')" == "$WORK/tsdb" ]] ||
  fail "the Prometheus on port $PORT is not the one this test started"

# series_count EXPR: number of series an instant query returns ("error: ..." when it fails).
series_count() {
  curl -s --data-urlencode "query=$1" "$PROM/api/v1/query" |
    jq -r 'if .status == "success" then (.data.result | length) else "error: \(.error)" end'
}
has_series() { [[ "$(series_count "$1")" =~ ^[1-9][0-9]*$ ]]; }

# --- 1. Every recording rule has data (live traffic has to move the counters first).
mapfile -t RECORDS < <(sed -nE 's/^ *- record: *([^ ]+).*/\1/p' "$ROOT"/rules/*.yml)
((${#RECORDS[@]} > 0)) || fail "no recording rules found"
all_recorded() {
  local r
  for r in "${RECORDS[@]}"; do has_series "$r" || return 1; done
}
WAIT_S=120 wait_for all_recorded || {
  for r in "${RECORDS[@]}"; do has_series "$r" || echo "no data: $r ($(series_count "$r"))" >&2; done
  curl -s --data-urlencode 'query=count by (__name__) ({job="ccmon"})' "$PROM/api/v1/query" |
    jq -r '.data.result[] | "\(.metric.__name__) \(.value[1])"' >"$WORK/series.log"
  fail "recording rules without data after 120 s (series scraped: $WORK/series.log)"
}
echo "all ${#RECORDS[@]} recording rules have data"
bad_rules=$(curl -s "$PROM/api/v1/rules" |
  jq -r '.data.groups[].rules[] | select(.health == "err") | "\(.name): \(.lastError)"')
[[ -z "$bad_rules" ]] || fail "rules failing to evaluate: $bad_rules"

# --- 2. Template variables resolve, in dashboard order, to the first value as Grafana would
#        pick it; every dashboard's variable queries must offer the values used below.
label_values() {  # 'label_values(SELECTOR, LABEL)' with variables substituted -> values, sorted
  local sel label
  sel=$(sed -E 's/^label_values\((.*), *([a-zA-Z_]+)\)$/\1/' <<<"$1")
  label=$(sed -E 's/^label_values\((.*), *([a-zA-Z_]+)\)$/\2/' <<<"$1")
  curl -s --data-urlencode "query=group by ($label) ($sel)" "$PROM/api/v1/query" |
    jq -r --arg l "$label" '.data.result[].metric[$l]' | sort
}
subst() {  # expression -> expression with dashboard variables replaced
  local e=$1
  e=${e//\$__rate_interval/1m}
  e=${e//\$__interval/1m}
  e=${e//\$__range/1m}
  e=${e//\$\{client\}/$CLIENT}
  e=${e//\$client/$CLIENT}
  e=${e//\$\{site\}/$SITE}
  e=${e//\$site/$SITE}
  e=${e//\$\{queue\}/$QUEUE}
  e=${e//\$queue/$QUEUE}
  printf '%s' "$e"
}
WALLBOARD="$ROOT/grafana/dashboards/floor-wallboard.json"
CLIENT='' SITE='' QUEUE=''
CLIENT=$(label_values "$(jq -r '.templating.list[] | select(.name == "client") | .definition' "$WALLBOARD")" | head -1)
SITE=$(label_values "$(subst "$(jq -r '.templating.list[] | select(.name == "site") | .definition' "$WALLBOARD")")" | head -1)
QUEUE=$(label_values "$(subst "$(jq -r '.templating.list[] | select(.name == "queue") | .definition' "$WALLBOARD")")" | head -1)
[[ -n "$CLIENT" && -n "$SITE" && -n "$QUEUE" ]] ||
  fail "template variables did not resolve: client='$CLIENT' site='$SITE' queue='$QUEUE'"
echo "dashboards resolved with client=$CLIENT site=$SITE queue=$QUEUE"
failures=()
for dash in "$ROOT"/grafana/dashboards/*.json; do
  while IFS=$'\t' read -r name def; do
    want=$CLIENT
    [[ $name == site ]] && want=$SITE
    [[ $name == queue ]] && want=$QUEUE
    label_values "$(subst "$def")" | grep -qxF "$want" ||
      failures+=("$(basename "$dash") variable $name ($def) does not offer $want")
  done < <(jq -r '.templating.list[] | select(.hide != 2) | [.name, .definition] | @tsv' "$dash")
  # Hidden helper variables must resolve too (the liaison's contract interval length).
  while IFS=$'\t' read -r name def; do
    [[ -n "$(label_values "$(subst "$def")")" ]] ||
      failures+=("$(basename "$dash") hidden variable $name ($def) has no value")
  done < <(jq -r '.templating.list[] | select(.hide == 2) | [.name, .definition] | @tsv' "$dash")
done

# --- 3. Every panel query returns data (retried while live traffic fills the windows).
# Alert metrics only appear once the collector has alerting and a receiver (docs/metrics.md).
ALERT_METRICS='ccmon_alerts?_[a-z_]+'
exported() { scrape | grep -qE "^$1[{ ]"; }
: >"$WORK/queries"
: >"$WORK/alert-queries"
: >"$WORK/dark-queries"
: >"$WORK/live-queries"
for dash in "$ROOT"/grafana/dashboards/*.json; do
  # A live tile's SITE DARK query holds a dark site's last values: it has data only once a
  # site is dark (section 4); the tile's other queries, the live sites', must then leave the
  # dark site out.
  jq -r --arg d "$(basename "$dash")" \
    '.panels[] | recurse(.panels[]?) | select(.targets != null) | .title as $t
     | select(any(.targets[]; .legendFormat // "" | startswith("SITE DARK")))
     | .targets[] | [$d, $t, (.legendFormat // "" | startswith("SITE DARK")), (.expr | @base64)]
     | @tsv' "$dash" |
    while IFS=$'\t' read -r d title dark expr; do
      if [[ $dark == true ]]; then
        printf '%s\t%s\t%s\n' "$d" "$title" "$expr" >>"$WORK/dark-queries"
      else
        printf '%s\t%s\t%s\n' "$d" "$title" "$expr" >>"$WORK/live-queries"
      fi
    done
  jq -r --arg d "$(basename "$dash")" \
    '.panels[] | recurse(.panels[]?) | select(.targets != null) | .title as $t
     | .targets[] | select(.expr != null and .expr != ""
                           and (.legendFormat // "" | startswith("SITE DARK") | not))
     | [$d, $t, (.expr | @base64)] | @tsv' "$dash" |
    while IFS=$'\t' read -r d title expr; do
      if base64 -d <<<"$expr" | grep -qE "$ALERT_METRICS"; then
        printf '%s\t%s\t%s\n' "$d" "$title" "$expr" >>"$WORK/alert-queries"
      elif base64 -d <<<"$expr" | grep -q "ccmon_client_interval_" &&
          ! scrape | grep -q "^ccmon_client_interval_calls_offered{client=\"$CLIENT\""; then
        # Closed intervals of the contract's day: none in its first interval after midnight.
        echo "SKIP: $d '$title': $CLIENT has no closed interval yet in its contract day"
      else
        printf '%s\t%s\t%s\n' "$d" "$title" "$expr" >>"$WORK/queries"
      fi
    done
done
# check_queries FILE: every query in FILE (dashboard, panel title, base64 query per line) must
# return a series; retried for up to 60 s while live traffic fills the windows. Appends to
# failures.
check_queries() {
  local file=$1 deadline=$((SECONDS + 60)) d title expr q n
  local -a todo pending errors=()
  mapfile -t todo <"$file"
  while ((${#todo[@]})); do
    pending=()
    for line in "${todo[@]}"; do
      IFS=$'\t' read -r d title expr <<<"$line"
      q=$(subst "$(base64 -d <<<"$expr")")
      n=$(series_count "$q")
      if [[ "$n" == error* ]]; then
        errors+=("$d '$title': $n in: $q")
      elif ((n == 0)); then
        pending+=("$line")
      fi
    done
    todo=("${pending[@]}")
    ((${#todo[@]} == 0 || SECONDS >= deadline)) && break
    sleep 1
  done
  failures+=("${errors[@]}")
  for line in "${todo[@]}"; do
    IFS=$'\t' read -r d title expr <<<"$line"
    failures+=("$d '$title': no series for: $(subst "$(base64 -d <<<"$expr")")")
  done
}
check_queries "$WORK/queries"
echo "checked $(wc -l <"$WORK/queries") panel queries"

# Annotation queries (alerts and dark sites drawn on every time series) must evaluate.
while IFS=$'\t' read -r d name expr; do
  n=$(series_count "$(subst "$(base64 -d <<<"$expr")")")
  [[ "$n" != error* ]] || failures+=("$d annotation '$name': $n")
done < <(for dash in "$ROOT"/grafana/dashboards/*.json; do
  jq -r --arg d "$(basename "$dash")" '.annotations.list[] | select(.expr != null)
    | [$d, .name, (.expr | @base64)] | @tsv' "$dash"; done)

# --- 4. manila-1's agent is killed: the wallboard's query set shows the site dark within 20 s
#        (through Prometheus, as Grafana reads it), its live tiles move from the live queries
#        to the greyed SITE DARK ones, and the collector has a continuity alert to show and
#        to deliver for the alert panels. Variables are "All" here, as on the floor.
all_sites() { CLIENT='.*' SITE='.*' QUEUE='.*' subst "$1"; }
WALLBOARD_STATUS=$(jq -r '.panels[] | select(.title == "Site status") | .targets[]
  | select(.refId == "A") | .expr' "$WALLBOARD")
[[ -n "$WALLBOARD_STATUS" ]] || fail "the wallboard has no site status query"
dark_on_wallboard() {
  curl -s --data-urlencode "query=$(all_sites "$WALLBOARD_STATUS")" "$PROM/api/v1/query" |
    jq -e 'any(.data.result[]; .metric.site == "manila-1" and .value[1] == "0")' >/dev/null
}
dark_on_wallboard && fail "manila-1 shows dark before its agent is killed"
kill -9 "${LIVE_PID[manila-1]}"
killed_at=$SECONDS
WAIT_S=25 wait_for dark_on_wallboard || fail "manila-1 not dark on the wallboard 25 s after its agent died"
dark_after=$((SECONDS - killed_at))
((dark_after <= 20)) || fail "manila-1 took ${dark_after} s to show dark on the wallboard (limit 20 s)"
echo "manila-1 dark on the wallboard ${dark_after} s after its agent was killed"
sites_of() {  # expression -> the sites of its series, sorted
  curl -s --data-urlencode "query=$(all_sites "$1")" "$PROM/api/v1/query" |
    jq -r '.data.result[].metric.site // empty' | sort -u
}
while IFS=$'\t' read -r d title expr; do
  sites_of "$(base64 -d <<<"$expr")" | grep -qxF manila-1 ||
    failures+=("$d '$title': the SITE DARK query does not show manila-1's last values")
done <"$WORK/dark-queries"
while IFS=$'\t' read -r d title expr; do
  if sites_of "$(base64 -d <<<"$expr")" | grep -qxF manila-1; then
    failures+=("$d '$title': a live query still shows dark manila-1 as current")
  fi
done <"$WORK/live-queries"
((${#failures[@]} == 0)) || { printf 'FAIL: %s\n' "${failures[@]}" >&2; exit 1; }
echo "checked $(wc -l <"$WORK/dark-queries") dark-site and $(wc -l <"$WORK/live-queries") live queries"
if [[ -s "$WORK/alert-queries" ]]; then
  WAIT_S=30 wait_for exported ccmon_alerts_active || true
  : >"$WORK/alert-queries-ready"
  while IFS=$'\t' read -r d title expr; do
    missing=()
    for m in $(base64 -d <<<"$expr" | grep -oE "$ALERT_METRICS" | sort -u); do
      exported "$m" || missing+=("$m")
    done
    if ((${#missing[@]})); then
      echo "SKIP: $d '$title': ${missing[*]} not exported by the collector yet"
    else
      printf '%s\t%s\t%s\n' "$d" "$title" "$expr" >>"$WORK/alert-queries-ready"
    fi
  done <"$WORK/alert-queries"
  check_queries "$WORK/alert-queries-ready"
  echo "checked $(wc -l <"$WORK/alert-queries-ready") alert panel queries"
fi

if ((${#failures[@]})); then
  printf 'FAIL: %s\n' "${failures[@]}" >&2
  exit 1
fi
kill -0 "$COLLECTOR_PID" || fail "collector died"
echo "PASS"
