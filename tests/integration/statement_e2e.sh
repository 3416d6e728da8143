#!/usr/bin/env bash
# The monthly SLA statement end to end: three simulated sites backfill last month into a real
# collector; `ccmon-ctl statement` renders it as JSON, CSV and HTML. The test recomputes every
# day and the month from the ledger's CSV rows (its own awk, not the collector's code) and
# checks the JSON against it, checks every number in the HTML against the JSON, opens the HTML
# in headless Chromium and keeps a screenshot as an artefact. Then a live site goes dark: the
# vendor proposes a force-majeure exclusion over the recorded SiteDark, the client accepts it,
# and the statement lists it with who decided and when; --as-of rebuilds it as it stood.
source "$(dirname "$0")/lib.sh"
ARTIFACTS=${1:-$WORK}
mkdir -p "$ARTIFACTS"
CTL() { "$BIN/ccmon-ctl" --collector "127.0.0.1:$GRPC_PORT" "$@"; }

cat >"$WORK/collector.yaml" <<'YAML'
ledger_amend_days: 70
idle_close_s: 1
clients:
  - name: acme
    contract:
      sl_threshold_s: 20
      sl_target: 0.80
      timezone: Asia/Manila
      period: day
      min_volume: 50
      monthly_fee: 120000
      currency: USD
      service_credits:
        basis: month_shortfall
        tiers: [{shortfall: 0.01, percent: 2}, {shortfall: 5, percent: 5}, {shortfall: 10, percent: 10}]
        cap_percent: 12
      exclusions:
        alerts: [SiteDark, StaffingCollapse]
    queues: [billing, support]
sites:
  - {id: manila-1, timezone: Asia/Manila}
  - {id: pune-1, timezone: Asia/Kolkata}
  - {id: bogota-1, timezone: America/Bogota}
YAML
cat >"$WORK/continuity.yaml" <<'YAML'
defaults:
  resolve_after_s: 1
  site_dark:
    heartbeats: 3
    min_s: 2
YAML
started_ms=$(date +%s%3N)
start_collector c --config "$WORK/collector.yaml" --data-dir "$WORK/data" \
  --continuity-rules "$WORK/continuity.yaml"

# Last month in Manila, e.g. 2026-10-01 00:00+08:00 to 2026-11-01 00:00+08:00 (the test must
# not age: a fixed month would fall out of ledger_amend_days). Each site its own staffing; Pune
# loses staff to a typhoon for 36 hours from the 13th.
this_month=$(TZ=Asia/Manila date +%Y-%m-01)
MONTH=$(date -d "$this_month -1 month" +%Y-%m)
DAYS=$((($(date -u -d "$this_month" +%s) - $(date -u -d "$MONTH-01" +%s)) / 86400))
end=$(($(date -u -d "$this_month" +%s) - 8 * 3600))
backfill() {  # site seed scenario agents calls_per_minute
  "$BIN/ccmon-agent" --site "$1" --collector "127.0.0.1:$GRPC_PORT" --simulate --once --seed "$2" \
    --scenario "$3" --sim-agents "$4" --sim-calls-per-minute "$5" --sim-queue billing \
    --sim-queue support --simulate-seconds $((DAYS * 86400)) --simulate-end "$end" \
    --sim-disaster-at $((12 * 86400)) --sim-disaster-for $((36 * 3600)) --sim-link-every 0 \
    --spool-dir "$WORK/spool-$1" --no-fsync --log-level warn >"$WORK/agent-$1.log" 2>&1 ||
    fail "backfill of $1 failed"
}
backfill manila-1 11 normal 7 0.7
backfill pune-1 12 typhoon 7 0.7
backfill bogota-1 13 normal 6 0.6

# Every row of the month, for the 3 sites and 2 queues: days x 48 x 6 (closed once the site is
# quiet for idle_close_s, written on the next tick).
want_rows=$((DAYS * 48 * 6))
rows_stored() {
  local n
  n=$(sqlite3 "$WORK/data/ledger.db" "SELECT count(*) FROM ledger_rows WHERE local_date LIKE '$MONTH-%'")
  ((n == want_rows))
}
WAIT_S=60 wait_for rows_stored ||
  fail "ledger.db has $(sqlite3 "$WORK/data/ledger.db" 'SELECT count(*) FROM ledger_rows') rows, want $want_rows"

CTL statement --client acme --month "$MONTH" --format json >"$WORK/statement.json" ||
  fail "statement --format json failed"
# Every row of the month closed and every agent done: final, not provisional.
jq -e '.provisional == false and (.incomplete_sites | length) == 0' "$WORK/statement.json" \
  >/dev/null || fail "the month is provisional: $(jq -c '{provisional, incomplete_sites}' "$WORK/statement.json")"
CTL statement --client acme --month "$MONTH" --format csv >"$WORK/statement.csv" ||
  fail "statement --format csv failed"
CTL statement --client acme --month "$MONTH" --format html >"$WORK/statement.html" ||
  fail "statement --format html failed"
jq -e --arg m "$MONTH" '.client == "acme" and .month == $m and (.queues | length) == 2' \
  "$WORK/statement.json" >/dev/null || fail "statement JSON lacks client, month or queues"

# The ledger's rows, day by day, as a client would export them.
: >"$WORK/rows.csv"
for d in $(seq 1 "$DAYS"); do
  day=$(printf '%s-%02d' "$MONTH" "$d")
  CTL ledger --client acme --date "$day" --format csv >"$WORK/day.csv" || fail "ledger $day failed"
  if [[ ! -s $WORK/rows.csv ]]; then head -1 "$WORK/day.csv" >"$WORK/rows.csv"; fi
  tail -n +2 "$WORK/day.csv" >>"$WORK/rows.csv"
done
(($(wc -l <"$WORK/rows.csv") - 1 == want_rows)) || fail "ledger CSV has $(wc -l <"$WORK/rows.csv") lines"
# Client-level rows: each queue's three sites summed, on one row per interval.
CTL ledger --client acme --date "$MONTH-13" --all-sites --format csv >"$WORK/all.csv"
(($(grep -c '^acme,,' "$WORK/all.csv") == 96)) || fail "want 96 client-level rows on $MONTH-13"
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
  { k = $(c["queue"]) " " $(c["start_ms"]); if ($(c["site"]) == "") lvl[k] = $(c["offered"]); else sum[k] += $(c["offered"]) }
  END { for (k in lvl) if (lvl[k] != sum[k]) { print k, lvl[k], sum[k]; bad = 1 } exit bad }' \
  "$WORK/all.csv" || fail "client-level rows are not the sum of the sites' rows"
# The audit trail of one row: closed once, revision 1.
first_start=$(awk -F, 'NR == 2 { print $4 }' "$WORK/all.csv")
CTL --json history --client acme --site manila-1 --queue billing --start "$first_start" \
  >"$WORK/history.json" || fail "history failed"
jq -e '.rows | length == 1 and .[0].revision == 1 and .[0].change == "closed"' \
  "$WORK/history.json" >/dev/null || fail "history of an untouched row: $(cat "$WORK/history.json")"

# The recomputation: per queue and local day, and per queue over the month, raw terms summed
# across sites, then the standard formula; a day under 50 offered is not judged; the month's
# shortfall in SL points picks the highest credit tier reached (2 / 5 / 10 %, cap 12 %).
awk -F, '
  NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
  {
    k = $(c["queue"]) SUBSEP $(c["local_date"])
    un = $(c["unanswered_timeout"]) + $(c["unanswered_key"]) + $(c["unanswered_empty"]) + $(c["unanswered_withdraw"]) + $(c["unanswered_lost"])
    for (q = 0; q < 2; q++) {
      key = q ? $(c["queue"]) SUBSEP "month" : k
      off[key] += $(c["offered"]); ans[key] += $(c["answered"]); ait[key] += $(c["answered_in_threshold"])
      ab[key] += $(c["abandoned"]); sh[key] += $(c["short_abandoned"]); u[key] += un
      wu[key] += $(c["answered_wait_unknown"]) + $(c["abandoned_wait_unknown"])
    }
  }
  END {
    for (key in off) {
      split(key, p, SUBSEP)
      # Calls of unknown wait are in no SL denominator (docs/metrics.md, "Ledger rows").
      den = ans[key] + ab[key] + u[key] - sh[key] - wu[key]
      sl = den > 0 ? ait[key] / den : -1
      if (p[2] == "month") {
        result = sl < 0 ? "not_judged" : (sl >= 0.8 ? "met" : "missed")
        short = sl >= 0 && sl < 0.8 ? (0.8 - sl) * 100 : 0
        credit = short >= 10 ? 10 : short >= 5 ? 5 : short >= 0.01 ? 2 : 0
      } else {
        result = off[key] < 50 ? "not_judged" : (sl < 0 ? "not_judged" : (sl >= 0.8 ? "met" : "missed"))
        credit = ""
      }
      printf "%s %s %d %d %d %d %d %d %.12f %s %s\n", p[1], p[2], off[key], ans[key], ait[key], ab[key], sh[key], u[key], sl, result, credit
    }
  }' "$WORK/rows.csv" | sort >"$WORK/recomputed.txt"
jq -r '.queues[] | .queue as $q |
  (.periods[] | "\($q) \(.label) \(.offered) \(.answered) \(.answered_in_threshold) \(.abandoned) \(.short_abandoned) \(.unanswered) \(.service_level // -1) \(.result) "),
  "\($q) month \(.offered) \(.answered) \(.answered_in_threshold) \(.abandoned) \(.short_abandoned) \(.unanswered) \(.service_level // -1) \(.result) \(.service_credit_percent)"' \
  "$WORK/statement.json" | awk '{ $9 = sprintf("%.12f", $9); print }' | sort >"$WORK/from_json.txt"
# awk prints an empty credit for days as a trailing space; normalise both sides.
sed -i 's/ *$//' "$WORK/recomputed.txt" "$WORK/from_json.txt"
diff "$WORK/recomputed.txt" "$WORK/from_json.txt" >"$WORK/diff.log" ||
  { head -20 "$WORK/diff.log"; fail "statement JSON differs from the recomputation from ledger rows"; }
(($(wc -l <"$WORK/recomputed.txt") == 2 * (DAYS + 1))) || fail "expected $DAYS days + month for 2 queues"
missed=$(grep -c ' missed' "$WORK/recomputed.txt" || true)
met=$(grep -c ' met' "$WORK/recomputed.txt" || true)
((missed > 0 && met > 0)) || fail "the month should have met and missed days (met $met, missed $missed)"
# The statement total is the sum of the queues' credits, capped at 12 %.
total=$(jq '[.queues[].service_credit_percent] | add | if . > 12 then 12 else . end' "$WORK/statement.json")
[[ $(jq .service_credit_percent "$WORK/statement.json") == "$total" ]] || fail "total credit is not the capped sum"

# CSV: one line per day per queue plus a TOTAL per queue, the same figures as the JSON.
(($(wc -l <"$WORK/statement.csv") == 1 + 2 * (DAYS + 1))) || fail "statement CSV has $(wc -l <"$WORK/statement.csv") lines"
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
  { print $(c["queue"]), ($(c["period"]) == "TOTAL" ? "month" : $(c["period"])), $(c["offered"]), $(c["result"]) }' \
  "$WORK/statement.csv" | sort >"$WORK/csv.txt"
awk '{ print $1, $2, $3, $10 }' "$WORK/from_json.txt" | sort >"$WORK/json4.txt"
diff "$WORK/json4.txt" "$WORK/csv.txt" >/dev/null || fail "statement CSV differs from the JSON"
# ... and says on every line, in its last column, that it is final, as the JSON does (the last
# field: a note before it may hold a quoted comma).
head -1 "$WORK/statement.csv" | grep -q ',provisional$' || fail "statement CSV has no provisional column"
awk -F, 'NR > 1 && $NF != "false" { bad = 1 } END { exit bad }' "$WORK/statement.csv" ||
  fail "statement CSV lines are not marked final"

# Every number in the HTML is the JSON's: each data-path / data-value pair is looked up.
grep -o 'data-path="[^"]*" data-value="[^"]*"' "$WORK/statement.html" |
  sed -E 's/data-path="([^"]*)" data-value="([^"]*)"/["\1","\2"]/' | jq -s . >"$WORK/pairs.json"
npairs=$(jq length "$WORK/pairs.json")
((npairs > 300)) || fail "only $npairs tagged numbers in the HTML"
bad=$(jq --slurpfile pairs "$WORK/pairs.json" '[ $pairs[0][] as [$p, $v] |
    (getpath($p | split(".") | map(tonumber? // .))) as $j |
    select(if $v == "null" then $j != null
           else ($j | type) != "number" or (($j - ($v | tonumber)) | if . < 0 then -. else . end) > 1e-9 * (if $j < 0 then -$j else $j end) + 1e-12
           end) ] | length' "$WORK/statement.json")
[[ $bad == 0 ]] || fail "$bad numbers in the HTML differ from the JSON"
! grep -qE '<(link|script|img)[^>]+(src|href)="https?:' "$WORK/statement.html" ||
  fail "the HTML loads something from the network"

# Opened in headless Chromium: it renders (the DOM has the chart) and is kept as a screenshot.
chrome=(chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run
  --disable-background-networking --disable-component-update --disable-sync
  --user-data-dir="$WORK/chrome")
"${chrome[@]}" --dump-dom "file://$WORK/statement.html" >"$WORK/dom.html" 2>"$WORK/chromium.log" ||
  fail "chromium could not open the statement"
grep -q '<svg' "$WORK/dom.html" || fail "no chart in the rendered statement"
"${chrome[@]}" --window-size=1280,6000 --screenshot="$ARTIFACTS/statement-$MONTH.png" \
  "file://$WORK/statement.html" >>"$WORK/chromium.log" 2>&1 || fail "chromium screenshot failed"
size=$(stat -c %s "$ARTIFACTS/statement-$MONTH.png")
((size > 20000)) || fail "screenshot is only $size bytes"
cp "$WORK/statement.html" "$WORK/statement.json" "$ARTIFACTS/"

# Force majeure: a live Manila agent is killed, SiteDark fires and is recorded; the vendor's
# proposal over it is clipped to the alert and the client accepts it.
# The backfills ended a while ago, so manila-1 may be dark already: the live agent must first
# bring it back (its SiteDark resolved) for the kill to start a new outage.
before=$(grep -c 'site manila-1 instance .* connected from' "$WORK/c.log")
start_bg live "$BIN/ccmon-agent" --site manila-1 --collector "127.0.0.1:$GRPC_PORT" --simulate \
  --seed 5 --sim-queue billing --heartbeat-ms 500 --spool-dir "$WORK/spool-live" --no-fsync
connections() { (($(grep -c 'site manila-1 instance .* connected from' "$WORK/c.log") > before)); }
wait_for connections || fail "live agent did not connect"
not_dark() { ! scrape | grep -q '^ccmon_alerts_active{alertname="SiteDark".*site="manila-1"'; }
WAIT_S=90 wait_for not_dark || fail "manila-1 still dark with its live agent connected"
kill -9 "$LAST_PID"
killed_ms=$(date +%s%3N)
dark_after_kill() {
  local n
  n=$(sqlite3 "$WORK/data/ledger.db" "SELECT count(*) FROM alert_periods WHERE name='SiteDark' AND site='manila-1' AND starts_ms >= $killed_ms - 2000")
  ((n >= 1))
}
wait_for dark_after_kill || fail "SiteDark for manila-1 was not recorded"
now_ms=$(date +%s%3N)
CTL exclusion propose --client acme --site manila-1 --alert StaffingCollapse \
  --from $((now_ms - 3600000)) --to $((now_ms + 3600000)) --reason x --by "vendor:ana" \
  >/dev/null 2>"$WORK/err.txt" && fail "an exclusion over an alert that never fired was accepted"
grep -q 'no StaffingCollapse alert' "$WORK/err.txt" || fail "unclear refusal: $(cat "$WORK/err.txt")"
CTL exclusion propose --client acme --site manila-1 --alert LinkDown --from $((now_ms - 60000)) \
  --to "$now_ms" --reason x --by "vendor:ana" >/dev/null 2>"$WORK/err.txt" &&
  fail "an exclusion for an alert the contract does not name was accepted"
grep -q 'LinkDown' "$WORK/err.txt" || fail "unclear refusal: $(cat "$WORK/err.txt")"
CTL --json exclusion propose --client acme --site manila-1 --alert SiteDark \
  --from $((now_ms - 3600000)) --to $((now_ms + 3600000)) --reason "typhoon Kiko: power cut" \
  --by "vendor:ana" >"$WORK/proposed.json" || fail "proposal refused"
id=$(jq -r .id "$WORK/proposed.json")
# Clipped to the recorded alert periods: they began after the backfills, not an hour ago.
(($(jq -r .from_ms "$WORK/proposed.json") > now_ms - 3600000)) || fail "proposal not clipped to the alert"
[[ $(jq -r .state "$WORK/proposed.json") == proposed ]] || fail "new exclusion is not 'proposed'"
CTL exclusion accept --client acme --id "$id" --by "client:joe" --note "agreed in review" >/dev/null ||
  fail "accept failed"
CTL exclusion accept --client acme --id "$id" --by "client:joe" >/dev/null 2>&1 &&
  fail "an exclusion was decided twice"
today=$(TZ=Asia/Manila date +%F)
CTL statement --client acme --from "$today" --to "$today" --format json >"$WORK/today.json" ||
  fail "statement for today failed"
jq -e --arg id "$id" '.exclusions[] | select((.id | tostring) == $id) |
  select(.state == "accepted" and (.decided_by | startswith("client:joe")) and
         (.proposed_by | startswith("vendor:ana")) and .decision_note == "agreed in review")' \
  "$WORK/today.json" >/dev/null || fail "the statement does not list the accepted exclusion"

# As it stood: before the decision the exclusion was only proposed; before the backfill the
# month had no rows; as of now the month is what it is.
decided=$(jq --arg id "$id" '.exclusions[] | select((.id | tostring) == $id) | .decided_ms' "$WORK/today.json")
CTL statement --client acme --from "$today" --to "$today" --as-of $((decided - 1)) --format json \
  >"$WORK/before.json" || fail "statement --as-of failed"
jq -e --arg id "$id" '.as_of_ms != null and ([.exclusions[] | select((.id | tostring) == $id)][0].state == "proposed")' \
  "$WORK/before.json" >/dev/null || fail "--as-of before the decision still shows it decided"
CTL statement --client acme --month "$MONTH" --as-of "$started_ms" --format json >"$WORK/empty.json"
jq -e '[.queues[].offered] | add == 0' "$WORK/empty.json" >/dev/null ||
  fail "--as-of before the backfill has rows"
CTL statement --client acme --month "$MONTH" --as-of "$(date +%s%3N)" --format json >"$WORK/now.json"
diff <(jq -S 'del(.generated_ms, .as_of_ms, .provisional, .incomplete_sites)' "$WORK/statement.json") \
  <(jq -S 'del(.generated_ms, .as_of_ms, .provisional, .incomplete_sites)' "$WORK/now.json") \
  >/dev/null || fail "--as-of now differs from the statement now"
# How far the sites have reported is known now, not for the ledger as it stood earlier: today
# is not over, so today's statement is provisional, naming the live site.
jq -e '.provisional == null' "$WORK/now.json" >/dev/null ||
  fail "a statement as of an earlier time claims to know whether it was provisional"
jq -e '.provisional == true and ([.incomplete_sites[].site] | index("manila-1") != null)' \
  "$WORK/today.json" >/dev/null || fail "today's statement is not provisional: $(jq -c '{provisional, incomplete_sites}' "$WORK/today.json")"

echo "PASS: $MONTH statement of 3 sites ($want_rows rows, $met met / $missed missed periods," \
  "credit $(jq .service_credit_percent "$WORK/statement.json")%) equals the recomputation;" \
  "$npairs HTML numbers equal the JSON; screenshot $ARTIFACTS/statement-$MONTH.png;" \
  "exclusion #$id proposed, refused without an alert, accepted"
