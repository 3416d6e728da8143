#!/usr/bin/env bash
# deploy/alertmanager.yml's inhibition rules in a real Alertmanager: a dark site silences its
# own queue, staffing and link alerts (not another site's); staff gone silences the same site
# and client's SlaAtRisk and QueueSurge (not another client's); NoSitesReporting silences every
# SiteDark. Alerts are posted to the v2 API as the collector posts them.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
for tool in prometheus-alertmanager jq curl; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (deploy/install-deps.sh installs it)"
done
for attempt in 1 2 3; do
  PORT=$(free_port) || fail "no free port"
  start_bg alertmanager prometheus-alertmanager --config.file="$ROOT/deploy/alertmanager.yml" \
    --storage.path="$WORK/am" --web.listen-address="127.0.0.1:$PORT" --cluster.listen-address= \
    --log.level=warn
  WAIT_S=30 wait_for curl -sf "http://127.0.0.1:$PORT/-/ready" && break
  kill "$LAST_PID" 2>/dev/null || true
  ((attempt < 3)) || fail "alertmanager did not start"
done
AM="http://127.0.0.1:$PORT"

post() {  # label=value... : one firing alert
  local labels="{" sep=""
  for kv in "$@"; do labels+="$sep\"${kv%%=*}\":\"${kv#*=}\""; sep=","; done
  labels+="}"
  curl -sf -XPOST -H 'Content-Type: application/json' "$AM/api/v2/alerts" \
    -d "[{\"labels\":$labels,\"startsAt\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"}]" >/dev/null ||
    fail "cannot post $labels"
}
# state ALERTNAME SITE CLIENT: "active" or "suppressed".
state() {
  curl -sf "$AM/api/v2/alerts?inhibited=true&silenced=true&active=true" |
    jq -r --arg a "$1" --arg s "$2" --arg c "$3" \
      '[.[] | select(.labels.alertname == $a and .labels.site == $s and .labels.client == $c)
       | .status.state] | first // "absent"'
}
expect_state() {  # want alertname site client
  local want=$1
  shift
  is() { [[ $(state "$@") == "$want" ]]; }
  wait_for is "$@" || fail "$1 at $2 for $3 is $(state "$@"), expected $want"
}

post alertname=SiteDark severity=critical client=acme site=manila-1
post alertname=QueueSurge severity=warning client=acme site=manila-1 queue=billing
post alertname=LinkDegraded severity=warning client=acme site=manila-1 link=wan
post alertname=QueueSurge severity=warning client=acme site=bogota-1 queue=billing
post alertname=StaffingCollapse severity=critical client=acme site=pune-1
post alertname=SlaAtRisk severity=warning client=acme site=pune-1 queue=billing
post alertname=SlaAtRisk severity=warning client=globex site=pune-1 queue=sales

expect_state suppressed QueueSurge manila-1 acme
expect_state suppressed LinkDegraded manila-1 acme
expect_state active QueueSurge bogota-1 acme
expect_state suppressed SlaAtRisk pune-1 acme
expect_state active SlaAtRisk pune-1 globex
expect_state active SiteDark manila-1 acme
expect_state active StaffingCollapse pune-1 acme

post alertname=NoSitesReporting severity=critical team=oncall job=ccmon instance=c1:9464
expect_state suppressed SiteDark manila-1 acme
echo "PASS: inhibition as docs/alerts.md says"
