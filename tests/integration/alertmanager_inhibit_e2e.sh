#!/usr/bin/env bash
# deploy/alertmanager.yml's inhibition rules in a real Alertmanager: a dark site silences its
# own queue, staffing and link alerts (not another site's); staff gone silences the same site
# and client's SlaAtRisk and QueueSurge (not another client's); NoSitesReporting silences the
# SiteDarks of its collector's shard (not another shard's); a collector down silences its
# shard's continuity alerts and its own on-call alerts, never the Watchdog; a low data disk
# silences the trend alert that led there. Alerts are posted to the v2 API as the collector
# posts them (with its `shard` label).
source "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
for tool in prometheus-alertmanager jq curl; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (deploy/install-deps.sh installs it)"
done
run_alertmanager am "$ROOT/deploy/alertmanager.yml"

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

post alertname=SiteDark severity=critical shard=asia client=acme site=manila-1
post alertname=QueueSurge severity=warning shard=asia client=acme site=manila-1 queue=billing
post alertname=LinkDegraded severity=warning shard=asia client=acme site=manila-1 link=wan
post alertname=QueueSurge severity=warning shard=asia client=acme site=bogota-1 queue=billing
post alertname=StaffingCollapse severity=critical shard=asia client=acme site=pune-1
post alertname=SlaAtRisk severity=warning shard=asia client=acme site=pune-1 queue=billing
post alertname=SlaAtRisk severity=warning shard=asia client=globex site=pune-1 queue=sales

expect_state suppressed QueueSurge manila-1 acme
expect_state suppressed LinkDegraded manila-1 acme
expect_state active QueueSurge bogota-1 acme
expect_state suppressed SlaAtRisk pune-1 acme
expect_state active SlaAtRisk pune-1 globex
expect_state active SiteDark manila-1 acme
expect_state active StaffingCollapse pune-1 acme

post alertname=SiteDark severity=critical shard=latam client=acme site=lima-1
post alertname=NoSitesReporting severity=critical team=oncall job=ccmon instance=c1:9464 shard=asia
expect_state suppressed SiteDark manila-1 acme
expect_state active SiteDark lima-1 acme

# A collector down: its shard's continuity alerts and its own on-call alerts are silenced; the
# Watchdog is not, even by a CollectorDown that names no collector (none scraped at all).
post alertname=CollectorDown severity=critical team=oncall job=ccmon instance=c2:9464 shard=latam
post alertname=AgentBacklog severity=warning team=oncall job=ccmon instance=c2:9464 site=cebu-1 client=acme
post alertname=Watchdog severity=none team=oncall
post alertname=CollectorDown severity=critical team=oncall
expect_state suppressed SiteDark lima-1 acme
expect_state suppressed AgentBacklog cebu-1 acme
expect_state active QueueSurge bogota-1 acme
state_of() {  # alertname -> state of the first alert of that name without labels site/client
  curl -sf "$AM/api/v2/alerts?inhibited=true&silenced=true&active=true" |
    jq -r --arg a "$1" '[.[] | select(.labels.alertname == $a) | .status.state] | first // "absent"'
}
[[ $(state_of Watchdog) == active ]] || fail "the Watchdog is $(state_of Watchdog), expected active"

# A low data disk explains the trend of the same collector, not another's.
post alertname=CollectorDiskFilling severity=warning team=oncall cause=low job=ccmon instance=c3:9464
post alertname=CollectorDiskFilling severity=warning team=oncall cause=trend job=ccmon instance=c3:9464 site=x client=y
post alertname=CollectorDiskFilling severity=warning team=oncall cause=trend job=ccmon instance=c4:9464 site=x client=z
expect_state suppressed CollectorDiskFilling x y
expect_state active CollectorDiskFilling x z
echo "PASS: inhibition as docs/alerts.md says"
