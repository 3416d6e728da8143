#!/usr/bin/env bash
# deploy/alertmanager.yml's inhibition rules in a real Alertmanager: a dark site silences its
# own queue, staffing, link and input-file alerts (not another site's); staff gone silences the same site
# and client's SlaAtRisk and QueueSurge (not another client's); a dead trunk silences its own
# LinkDegraded and the site's voice quality, not its queues nor another link; one replica
# down or without sites (CollectorDown, NoSitesReporting) silences nothing of its shard, whose
# other replica may still hear the sites; ShardDown silences the SiteDarks of its shard (not
# another shard's) and the CollectorDown it sums up; a collector down silences its own
# on-call alerts, never the Watchdog; a low data disk silences the trend alert that led there.
# Alerts are posted to the v2 API as the collector posts them (with its `shard` label).
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
# state ALERTNAME SITE CLIENT: "active" or "suppressed" (CLIENT "": an alert without one, as
# Prometheus' on-call rules are).
state() {
  curl -sf "$AM/api/v2/alerts?inhibited=true&silenced=true&active=true" |
    jq -r --arg a "$1" --arg s "$2" --arg c "$3" \
      '[.[] | select(.labels.alertname == $a and .labels.site == $s and (.labels.client // "") == $c)
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
post alertname=AgentSourceMissing severity=warning team=oncall site=manila-1
post alertname=AgentSourceMissing severity=warning team=oncall site=bogota-1

expect_state suppressed QueueSurge manila-1 acme
expect_state suppressed LinkDegraded manila-1 acme
expect_state active QueueSurge bogota-1 acme
expect_state suppressed AgentSourceMissing manila-1 ""
expect_state active AgentSourceMissing bogota-1 ""
expect_state suppressed SlaAtRisk pune-1 acme
expect_state active SlaAtRisk pune-1 globex
expect_state active SiteDark manila-1 acme
expect_state active StaffingCollapse pune-1 acme

# A dead trunk: the same link's LinkDegraded goes, the site's queues and other links stay.
post alertname=TrunkDown severity=critical shard=asia client=acme site=davao-1 link=carrier-a
post alertname=LinkDegraded severity=warning shard=asia client=acme site=davao-1 link=carrier-a
post alertname=LinkDegraded severity=warning shard=asia client=globex site=davao-1 link=wan
post alertname=SlaAtRisk severity=warning shard=asia client=acme site=davao-1 queue=billing
post alertname=VoiceQualityLow severity=warning shard=asia client=globex site=davao-1
expect_state suppressed LinkDegraded davao-1 acme
expect_state active LinkDegraded davao-1 globex
expect_state active SlaAtRisk davao-1 acme
expect_state suppressed VoiceQualityLow davao-1 globex

# One replica of shard latam down, another without sites: the shard's alerts stay.
post alertname=SiteDark severity=critical shard=latam client=acme site=lima-1
post alertname=CollectorDown severity=critical team=oncall job=ccmon instance=c2:9464 shard=latam
post alertname=NoSitesReporting severity=critical team=oncall job=ccmon instance=c1:9464 shard=latam
expect_state active SiteDark lima-1 acme
# ShardDown: asia's continuity alerts go, latam's stay.
post alertname=ShardDown severity=critical team=oncall shard=asia
expect_state suppressed SiteDark manila-1 acme
expect_state active SiteDark lima-1 acme

# The whole of latam down: its continuity alerts, the CollectorDown and NoSitesReporting it
# sums up and the down collector's own on-call alerts are silenced; the Watchdog is not, even
# by a CollectorDown that names no collector (none scraped at all).
post alertname=ShardDown severity=critical team=oncall shard=latam
post alertname=AgentBacklog severity=warning team=oncall job=ccmon instance=c2:9464 site=cebu-1 client=acme
post alertname=Watchdog severity=none team=oncall
post alertname=CollectorDown severity=critical team=oncall
post alertname=QueueSurge severity=warning shard=emea client=acme site=lisbon-1 queue=billing
expect_state suppressed SiteDark lima-1 acme
expect_state suppressed AgentBacklog cebu-1 acme
expect_state active QueueSurge lisbon-1 acme
state_of() {  # alertname -> state of the first alert of that name without labels site/client
  curl -sf "$AM/api/v2/alerts?inhibited=true&silenced=true&active=true" |
    jq -r --arg a "$1" '[.[] | select(.labels.alertname == $a) | .status.state] | first // "absent"'
}
[[ $(state_of Watchdog) == active ]] || fail "the Watchdog is $(state_of Watchdog), expected active"
# state_by ALERTNAME INSTANCE: the state of that collector's alert.
state_by() {
  curl -sf "$AM/api/v2/alerts?inhibited=true&silenced=true&active=true" |
    jq -r --arg a "$1" --arg i "$2" \
      '[.[] | select(.labels.alertname == $a and .labels.instance == $i) | .status.state] | first // "absent"'
}
for a in CollectorDown:c2:9464 NoSitesReporting:c1:9464; do
  is_suppressed() { [[ $(state_by "$1" "$2") == suppressed ]]; }
  wait_for is_suppressed "${a%%:*}" "${a#*:}" ||
    fail "${a%%:*} of ${a#*:} is $(state_by "${a%%:*}" "${a#*:}"), expected suppressed by ShardDown"
done

# A low data disk explains the trend of the same collector, not another's.
post alertname=CollectorDiskFilling severity=warning team=oncall cause=low job=ccmon instance=c3:9464
post alertname=CollectorDiskFilling severity=warning team=oncall cause=trend job=ccmon instance=c3:9464 site=x client=y
post alertname=CollectorDiskFilling severity=warning team=oncall cause=trend job=ccmon instance=c4:9464 site=x client=z
expect_state suppressed CollectorDiskFilling x y
expect_state active CollectorDiskFilling x z
echo "PASS: inhibition as docs/alerts.md says"
