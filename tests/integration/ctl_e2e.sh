#!/usr/bin/env bash
# `ccmon-ctl top` inside tmux shows the queues with the collector's own SL figures and
# an alert a scenario raised, and quits cleanly on 'q'; every --json output parses and matches
# the collector's /metrics.
source "$(dirname "$0")/lib.sh"
command -v tmux >/dev/null || fail "tmux is not installed (deploy/install-deps.sh installs it)"
cat >"$WORK/rules.yaml" <<YML
defaults:
  resolve_after_s: 2
YML
start_collector c --config "$(dirname "$0")/../../deploy/demo/collector.yaml" \
  --continuity-rules "$WORK/rules.yaml"
CTL=("$BIN/ccmon-ctl" --collector "127.0.0.1:$GRPC_PORT")
# Half an hour of manila-1 history (fixed figures), and pune-1 live in a typhoon.
"$BIN/ccmon-agent" --site manila-1 --collector "127.0.0.1:$GRPC_PORT" --simulate --seed 4 \
  --sim-queue billing --sim-queue support --sim-calls-per-minute 3 --sim-agents 10 --once \
  --simulate-seconds 1800 --no-fsync --spool-dir "$WORK/spool-m" >"$WORK/m.log" 2>&1 ||
  fail "backfill failed"
start_bg pune "$BIN/ccmon-agent" --site pune-1 --collector "127.0.0.1:$GRPC_PORT" --simulate \
  --scenario typhoon --sim-disaster-at 2 --sim-disaster-for 60 --sim-agents 20 \
  --heartbeat-ms 1000 --no-fsync --spool-dir "$WORK/spool-p" --sim-queue sales

SESSION="ccmon-top-$$"
tmux kill-session -t "$SESSION" 2>/dev/null || true
tmux new-session -d -s "$SESSION" -x 180 -y 60 "${CTL[*]} top; echo TOP-EXITED \$?; sleep 30"
cleanup_tmux() { tmux kill-session -t "$SESSION" 2>/dev/null || true; }
trap 'cleanup_tmux; cleanup' EXIT
screen() { tmux capture-pane -p -t "$SESSION"; }
WAIT_S=90 wait_for bash -c "tmux capture-pane -p -t $SESSION | grep -q StaffingCollapse" ||
  { screen; fail "top never showed the typhoon's StaffingCollapse"; }
screen >"$WORK/screen.txt"
grep -q 'manila-1 *billing' "$WORK/screen.txt" || fail "top does not show manila-1 billing"
grep -q 'pune-1 *sales' "$WORK/screen.txt" || fail "top does not show pune-1 sales"

# SL on the screen equals the collector's gauge (retried: the window rolls each minute).
sl_matches() {
  local q=$1 shown want
  shown=$(tmux capture-pane -p -t "$SESSION" | awk -v q="$q" '$2 == "manila-1" && $3 == q {print $4; exit}')
  want=$(metric ccmon_service_level_ratio "client=\"acme\",site=\"manila-1\",queue=\"$q\",window=\"30m\"")
  [[ $want != absent ]] || return 1
  want=$(awk -v v="$want" 'BEGIN {printf "%.1f%%", v * 100}')
  [[ "$shown" == "$want" ]] || { echo "shown $shown, /metrics $want"; return 1; }
}
for q in billing support; do
  WAIT_S=10 wait_for sl_matches "$q" || fail "top's SL for $q differs from /metrics: $(sl_matches "$q")"
done
echo "top shows the queues, SL equal to /metrics, and StaffingCollapse"
tmux send-keys -t "$SESSION" s
tmux send-keys -t "$SESSION" q
WAIT_S=10 wait_for bash -c "tmux capture-pane -p -t $SESSION | grep -q 'TOP-EXITED 0'" ||
  { screen; fail "top did not quit cleanly on q"; }
# Back on the normal screen: no wallboard left over.
screen | grep -q 'ALERTS (' && fail "terminal not restored after quitting"
echo "top quits on q and restores the terminal"

# --json: parses, and matches /metrics.
"${CTL[@]}" --json status >"$WORK/status.json" || fail "status --json failed"
jq -e '.sites | map(.site) | index("manila-1") != null' "$WORK/status.json" >/dev/null ||
  fail "status --json lacks manila-1"
# The simulated site keeps the figures moving: a snapshot and a scrape taken a moment apart may
# straddle a call, so they are compared again (a few times) until one pair agrees.
sl_agrees() {  # queue
  local got want
  "${CTL[@]}" --json snapshot --client acme --site manila-1 >"$WORK/snap.json"
  got=$(jq -r --arg q "$1" '.queues[] | select(.queue == $q and .site == "manila-1") |
    .windows[] | select(.window == "30m") | .service_level' "$WORK/snap.json")
  want=$(metric ccmon_service_level_ratio "client=\"acme\",site=\"manila-1\",queue=\"$1\",window=\"30m\"")
  echo "snapshot $got, /metrics $want" >"$WORK/sl-$1.txt"
  awk -v a="$got" -v b="$want" 'BEGIN {exit !(a != "" && a - b < 1e-9 && b - a < 1e-9)}'
}
for q in billing support; do
  WAIT_S=10 wait_for sl_agrees "$q" ||
    fail "snapshot --json SL for $q never matched /metrics: $(cat "$WORK/sl-$q.txt")"
done
"${CTL[@]}" --json alerts >"$WORK/alerts.json"
n_json=$(jq '.alerts | length' "$WORK/alerts.json")
n_metrics=$(scrape | grep -c '^ccmon_alerts_active{' || true)
# Alerts may change between the two reads: accept equality on a retry.
if [[ $n_json != "$n_metrics" ]]; then
  "${CTL[@]}" --json alerts >"$WORK/alerts.json"
  n_json=$(jq '.alerts | length' "$WORK/alerts.json")
  n_metrics=$(scrape | grep -c '^ccmon_alerts_active{' || true)
fi
[[ $n_json == "$n_metrics" ]] || fail "alerts --json has $n_json alerts, /metrics $n_metrics"
"${CTL[@]}" --json abandoned --client acme --queue billing --since 2h >"$WORK/ab.json"
n_ab=$(jq '.calls | length' "$WORK/ab.json")
want_ab=$(metric ccmon_calls_abandoned_total 'client="acme",site="manila-1",queue="billing"')
[[ $n_ab == "${want_ab%.*}" ]] || fail "abandoned --json lists $n_ab calls, /metrics counts $want_ab"
jq -e '[.calls[].caller_id | test("^[+]?[*]+[0-9]{2}$")] | all' "$WORK/ab.json" >/dev/null ||
  fail "caller ids are not masked"
met=0
for d in $(TZ=Asia/Manila date -d '-1 day' +%F) $(TZ=Asia/Manila date +%F); do
  m=$("${CTL[@]}" --json ledger --client acme --date "$d" |
    jq '[.rows[] | select(.site == "manila-1" and .queue == "billing" and .sl_result == "met")] | length')
  met=$((met + m))
done
want_met=$(metric ccmon_sla_intervals_total 'client="acme",site="manila-1",queue="billing",result="met"')
[[ $met == "${want_met%.*}" ]] || fail "ledger --json has $met met intervals, /metrics $want_met"
"${CTL[@]}" --collector 127.0.0.1:1 status 2>"$WORK/unreach.txt" && fail "unreachable collector not an error"
grep -q 'unreachable' "$WORK/unreach.txt" || fail "no clear message for an unreachable collector"
echo "--json of status, snapshot, alerts, abandoned, ledger parse and match /metrics"
echo PASS
