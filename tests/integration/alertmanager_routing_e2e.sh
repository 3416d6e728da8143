#!/usr/bin/env bash
# Notifications as people receive them, through a real Alertmanager on deploy/alertmanager.yml
# and deploy/alertmanager.tmpl. Only the addresses (every receiver to a capture on loopback:
# HTTP for webhooks and chat, SMTP for mail) and the timings (seconds, not minutes) are changed.
#  - A real collector sees manila-1's agent killed and raises SiteDark; while it fires, the
#    same site's queues surge, its SLA is at risk, its WAN link is down and its staff are gone.
#  - On-call's pager, the vendor NOC's and every floor lead's chat rooms and acme's liaison
#    (mail) are told that manila-1 is dark, in words that say what, where, since when, the
#    figures and the runbook; none of the alerts the dark site explains reaches anyone.
#  - A queue surging at another site still reaches that site's floor and acme's digest; an
#    agent there that cannot read its call log reaches on-call's tickets and the NOC in words.
#  - The site comes back: every notification sent is followed by its resolution.
source "$(dirname "$0")/lib.sh"
TOOLS=$1
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
for tool in prometheus-alertmanager jq curl; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (deploy/install-deps.sh installs it)"
done

start_bg hooks "$TOOLS/webhook_sink" --paths "$WORK/hooks.tsv"
wait_for grep -q listening "$WORK/hooks.log" || fail "webhook capture did not start"
HOOK=$(awk '{print $3}' "$WORK/hooks.log")
start_bg smtp "$TOOLS/webhook_sink" --smtp "$WORK/mail.tsv"
wait_for grep -q listening "$WORK/smtp.log" || fail "SMTP capture did not start"
SMTP=$(awk '{print $3}' "$WORK/smtp.log")

# deploy/alertmanager.yml with every receiver's URL at the capture (path = receiver name), the
# mail relay at the SMTP capture, and timings in seconds.
awk -v hook="http://127.0.0.1:$HOOK" -v smtp="127.0.0.1:$SMTP" '
  /^receivers:/ { in_receivers = 1 }
  in_receivers && /^  - name: / { receiver = $3 }
  in_receivers && /^ *(- )?(api_)?url: / { sub(/(api_)?url: .*/, "&"); sub(/: .*/, ": " hook "/" receiver) }
  /^ *smtp_smarthost:/ { sub(/:.*/, ": " smtp) }
  /^ *smtp_require_tls:/ { sub(/:.*/, ": false") }
  /^ *group_wait:/ { sub(/:.*/, ": 1s") }
  /^ *group_interval:/ { sub(/:.*/, ": 1s") }
  /^ *repeat_interval:/ { sub(/:.*/, ": 1h") }
  { print }' "$ROOT/deploy/alertmanager.yml" >"$WORK/alertmanager.yml"
cp "$ROOT/deploy/alertmanager.tmpl" "$WORK/"
[[ $(grep -c "$HOOK/" "$WORK/alertmanager.yml") -ge 9 ]] ||
  fail "receiver URLs were not rewritten: $(grep -n url "$WORK/alertmanager.yml")"
grep -q "example" <(grep -E 'url:|smarthost' "$WORK/alertmanager.yml") &&
  fail "a receiver still points outside the test: $(grep -nE 'url:|smarthost' "$WORK/alertmanager.yml")"

run_alertmanager am "$WORK/alertmanager.yml"

# The shipped thresholds, faster: dark after 4 s of silence, resolved 1 s after data returns.
cat >"$WORK/continuity.yaml" <<YML
runbook_base_url: https://runbooks.example/ccmon/
defaults:
  resolve_after_s: 1
  site_dark: {heartbeats: 3, min_s: 4}
YML
# acme's queues answered at manila-1, the one site this collector watches.
cat >"$WORK/collector.yaml" <<YML
clients:
  - name: acme
    queues: [billing, support]
sites:
  - id: manila-1
    timezone: Asia/Manila
YML
started=$(date +%s)
start_collector collector --config "$WORK/collector.yaml" --data-dir "$WORK/data" \
  --continuity-rules "$WORK/continuity.yaml" --alertmanager "$AM"
start_agent() {
  start_bg "agent-$1" "$BIN/ccmon-agent" --site manila-1 --collector "127.0.0.1:$GRPC_PORT" \
    --simulate --scenario normal --sim-agents 20 --sim-queue billing --sim-queue support \
    --sim-calls-per-minute 30 --heartbeat-ms 500 --no-fsync --spool-dir "$WORK/spool" \
    --log-level warn
  AGENT_PID=$LAST_PID
}
start_agent 1
# A site that was reporting (heard after the collector's first checks), not one never heard.
manila_reporting() {
  scrape | grep -q '^ccmon_calls_offered_total{client="acme",site="manila-1"' &&
    (($(metric ccmon_site_last_seen_timestamp_seconds 'site="manila-1"' | cut -d. -f1) >= started + 3))
}
WAIT_S=30 wait_for manila_reporting || fail "manila-1 never reported its calls"

# --- manila-1 goes dark.
kill -9 "$AGENT_PID"
am_has() {  # alertname site state
  curl -sf "$AM/api/v2/alerts?inhibited=true&active=true" |
    jq -e --arg a "$1" --arg s "$2" --arg st "$3" \
      'any(.[]; .labels.alertname == $a and .labels.site == $s and .status.state == $st)'
}
WAIT_S=30 wait_for am_has SiteDark manila-1 active || fail "SiteDark never reached Alertmanager"

now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
post() {  # endsAt label=value... : one alert as the collector posts it
  local ends=$1 labels="{" sep=""
  shift
  for kv in "$@"; do labels+="$sep\"${kv%%=*}\":\"${kv#*=}\""; sep=","; done
  labels+="}"
  curl -sf -XPOST -H 'Content-Type: application/json' "$AM/api/v2/alerts" -d "[{\"labels\":$labels,
    \"annotations\":{\"summary\":\"test alert\",\"runbook_url\":\"https://runbooks.example/x.md\"},
    \"startsAt\":\"$STARTED\",\"endsAt\":\"$ends\"}]" >/dev/null || fail "cannot post $labels"
}
STARTED=$(now)
HOUR_AHEAD=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
INHIBITED=(
  "alertname=QueueSurge severity=warning client=acme site=manila-1 queue=billing"
  "alertname=SlaAtRisk severity=warning client=acme site=manila-1 queue=support"
  "alertname=LinkDown severity=critical client=acme site=manila-1 link=wan"
  "alertname=StaffingCollapse severity=critical client=acme site=manila-1"
)
CONTROL="alertname=QueueSurge severity=warning client=acme site=bogota-1 queue=billing"
# An on-call rule about a site that is not dark: Prometheus' alerts carry no client.
SOURCE="alertname=AgentSourceMissing severity=warning team=oncall site=bogota-1"
for a in "${INHIBITED[@]}" "$CONTROL" "$SOURCE"; do post "$HOUR_AHEAD" $a; done
for a in "${INHIBITED[@]}"; do
  set -- $a
  WAIT_S=10 wait_for am_has "${1#*=}" manila-1 suppressed || fail "${1#*=} at manila-1 not inhibited"
done

# Captures: hooks.tsv is "PATH<TAB>BODY" (webhook JSON or Slack-style chat JSON), mail.tsv is
# "RCPT<TAB>SUBJECT<TAB>BODY".
webhook_has() {  # path status alertname site
  awk -F'\t' -v p="$1" '$1 == p { print $2 }' "$WORK/hooks.tsv" 2>/dev/null |
    jq -se --arg st "$2" --arg a "$3" --arg s "$4" \
      'any(.[]; .status == $st and any(.alerts[]; .labels.alertname == $a and .labels.site == $s))'
}
chat_has() {  # path title-prefix
  awk -F'\t' -v p="$1" '$1 == p { print $2 }' "$WORK/hooks.tsv" 2>/dev/null |
    jq -se --arg t "$2" 'any(.[]; .attachments[0].title | startswith($t))'
}
chat_text() {  # path title-prefix: the text of the first such message
  awk -F'\t' -v p="$1" '$1 == p { print $2 }' "$WORK/hooks.tsv" |
    jq -sr --arg t "$2" '[.[] | select(.attachments[0].title | startswith($t))][0].attachments[0].text'
}
mail_has() {  # rcpt subject-regex
  awk -F'\t' -v r="$1" -v s="$2" '$1 == r && $2 ~ s { found = 1 } END { exit !found }' \
    "$WORK/mail.tsv" 2>/dev/null
}

WAIT_S=30 wait_for webhook_has /oncall-pager firing SiteDark manila-1 ||
  fail "on-call was not paged for SiteDark at manila-1"
# The collector names its shard on what it sends (ShardDown silences the shard's alerts by
# it).
shards=$(awk -F'\t' '$1 == "/oncall-pager" { print $2 }' "$WORK/hooks.tsv" |
  jq -r '.alerts[] | select(.labels.alertname == "SiteDark") | .labels.shard' | sort -u)
[[ "$shards" == default ]] || fail "SiteDark reached Alertmanager with shard '$shards', expected 'default'"
for room in /vendor-noc /floor-all; do
  WAIT_S=10 wait_for chat_has "$room" "[FIRING:1] SiteDark acme manila-1" ||
    fail "$room was not told that manila-1 is dark"
done
WAIT_S=10 wait_for mail_has service-desk@acme.example '^We have lost contact with site manila-1' ||
  fail "acme's liaison got no mail about manila-1 (mails: $(cut -f1,2 "$WORK/mail.tsv" 2>/dev/null))"
WAIT_S=10 wait_for chat_has /floor-bogota-1 "[FIRING:1] QueueSurge acme bogota-1" ||
  fail "bogota-1's floor was not told about its own queue surging"
WAIT_S=10 wait_for mail_has service-desk@acme.example '^Service notices for acme: 1 open' ||
  fail "acme's digest did not carry bogota-1's surge"
# An agent that cannot read its call log: a ticket for on-call, and words for the NOC.
WAIT_S=10 wait_for webhook_has /oncall-tickets firing AgentSourceMissing bogota-1 ||
  fail "on-call got no ticket for bogota-1's unreadable call log"
WAIT_S=10 wait_for chat_has /vendor-noc "[FIRING:1] AgentSourceMissing bogota-1" ||
  fail "the NOC was not told of bogota-1's unreadable call log"
text=$(chat_text /vendor-noc "[FIRING:1] AgentSourceMissing")
[[ "$text" == *"Site bogota-1's agent cannot read its call log: those calls are not being counted"* ]] ||
  fail "the NOC's AgentSourceMissing message lacks its headline: $text"

# expect_no_leaks: nothing the dark site explains reached anyone, in any form: no page or
# webhook naming it, no chat message or mail whose "Alert:" line names it for manila-1.
EXPLAINED='QueueSurge|SlaAtRisk|LinkDown|StaffingCollapse'
# explained_blocks: of the alert texts on stdin (one block per alert, from "[FIRING]" or
# "[RESOLVED]"), those about manila-1 whose "Alert:" line is one SiteDark explains.
explained_blocks() {
  awk -v re="^Alert: ($EXPLAINED) " '
    function flush() { if (block ~ /site manila-1/ && hit) print block; block = ""; hit = 0 }
    /^\[(FIRING|RESOLVED)\]/ { flush() }
    { block = block $0 " / "; if ($0 ~ re) hit = 1 }
    END { flush() }'
}
expect_no_leaks() {
  local leaked
  leaked=$(cut -f2 "$WORK/hooks.tsv" | jq -r --arg re "^($EXPLAINED)$" '
      (.alerts // [])[] | select(.labels.site == "manila-1" and (.labels.alertname | test($re)))
      | "webhook: \(.labels.alertname)"')
  leaked+=$(cut -f2 "$WORK/hooks.tsv" | jq -r '.attachments[0].text // empty' | explained_blocks)
  leaked+=$(cut -f3 "$WORK/mail.tsv" | sed 's/\\n/\n/g' | explained_blocks)
  [[ -z "$leaked" ]] || fail "inhibited alerts were sent: $leaked"
}
expect_no_leaks

# What a floor lead reads: what, where, since when, the collector's figures, the runbook.
text=$(chat_text /floor-all "[FIRING:1] SiteDark")
for want in "We have lost contact with site manila-1" "Now: Site manila-1 has sent nothing for" \
    "Where: client acme, site manila-1" "Since: 20" \
    "Runbook: https://runbooks.example/ccmon/sitedark.md" "Alert: SiteDark (critical)"; do
  [[ "$text" == *"$want"* ]] || fail "floor-all's SiteDark message lacks '$want': $text"
done
[[ "$text" =~ Since:\ 20[0-9]{2}-[0-9]{2}-[0-9]{2}\ [0-9]{2}:[0-9]{2}\ UTC ]] ||
  fail "floor-all's SiteDark message does not say since when: $text"
mail=$(awk -F'\t' '$2 ~ /^We have lost contact with site manila-1/ { print $3; exit }' "$WORK/mail.tsv")
for want in "To the acme service team" "reports 1 open problem" "Now: Site manila-1 has sent" \
    "Runbook: https://runbooks.example/ccmon/sitedark.md"; do
  [[ "$mail" == *"$want"* ]] || fail "acme's SiteDark mail lacks '$want': $mail"
done

# --- manila-1's other alerts end while it is dark, then the site comes back.
for a in "${INHIBITED[@]}" "$CONTROL" "$SOURCE"; do post "$(now)" $a; done
start_agent 2
WAIT_S=30 wait_for webhook_has /oncall-pager resolved SiteDark manila-1 ||
  fail "on-call was not told that manila-1 is back"
for room in /vendor-noc /floor-all; do
  WAIT_S=10 wait_for chat_has "$room" "[RESOLVED] SiteDark acme manila-1" ||
    fail "$room was not told that manila-1 is back"
done
WAIT_S=10 wait_for chat_has /floor-bogota-1 "[RESOLVED] QueueSurge acme bogota-1" ||
  fail "bogota-1's floor was not told its surge is over"
WAIT_S=10 wait_for chat_has /vendor-noc "[RESOLVED] AgentSourceMissing bogota-1" ||
  fail "the NOC was not told bogota-1's call log is read again"
[[ $(chat_text /vendor-noc "[RESOLVED] AgentSourceMissing") == *"Site bogota-1's agent reads all its call logs again"* ]] ||
  fail "the NOC's AgentSourceMissing resolution lacks its headline"
WAIT_S=10 wait_for mail_has service-desk@acme.example '^Site manila-1 is reporting again' ||
  fail "acme's liaison was not told that manila-1 is back"
WAIT_S=10 wait_for mail_has service-desk@acme.example '^Service notices for acme: 0 open, 1 over' ||
  fail "acme's digest did not say bogota-1's surge is over"
text=$(chat_text /floor-all "[RESOLVED] SiteDark")
for want in "[RESOLVED] Site manila-1 is reporting again" "Last reading while open: Site manila-1" \
    " UTC to 20"; do
  [[ "$text" == *"$want"* ]] || fail "floor-all's resolution lacks '$want': $text"
done

# Every chat message and page sent while firing has its resolution, per room and alert.
unresolved=$(awk -F'\t' '{ print $1 "\t" $2 }' "$WORK/hooks.tsv" | while IFS=$'\t' read -r path body; do
  jq -r --arg p "$path" 'if .attachments then
      (.attachments[0].title | capture("^\\[(?<s>[A-Z]+)[^]]*\\] (?<k>.*)$") | "\($p) \(.k)\t\(.s)")
    else (.alerts[] | "\($p) \(.labels.alertname) \(.labels.site)\t\(.status | ascii_upcase)") end' <<<"$body"
done | sort -u | awk -F'\t' '{ s[$1] = s[$1] " " $2 } END { for (k in s) if (s[k] !~ /RESOLVED/) print k }')
[[ -z "$unresolved" ]] || fail "notifications never resolved: $unresolved"

expect_no_leaks
echo "notifications: $(wc -l <"$WORK/hooks.tsv") webhook/chat, $(wc -l <"$WORK/mail.tsv") mail"
echo "PASS: SiteDark to on-call, NOC, floors and liaison in words; the alerts it explains silent; all resolved"
