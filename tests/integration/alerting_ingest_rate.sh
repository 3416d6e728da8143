#!/usr/bin/env bash
# Alerting never slows ingest: while every alert receiver is dead (Alertmanager down, webhooks
# refusing or hanging) and alerts are firing and being retried, ingest runs at the rate it has
# with no alerting at all (within 5%, median run against median run). Both rates are measured
# here, side by side, over seven alternating runs each of the same simulated backlog (6 h at 1200 calls/min, ~2M events), as
# events per second of the collector's own CPU time (not against a wall clock, which the agent
# shares on a 2-core machine), with the collector and the agent pinned to different CPUs.
source "$(dirname "$0")/lib.sh"
TOOLS=$1
DEAD_PORT=$(free_port)
# A receiver that accepts connections and never answers: workers sit in their HTTP timeout.
HANG_PORT=$(free_port)
start_bg hang-listener "$TOOLS/webhook_sink" /dev/null "$HANG_PORT"
wait_for grep -q listening "$WORK/hang-listener.log"
kill -STOP "$LAST_PID"  # listening, accepting into its backlog, never answering

SILENT_SITES=$(for i in $(seq 1 30); do echo "  - {id: silent-$i, timezone: UTC}"; done)
cat >"$WORK/alerting.yaml" <<YML
clients:
  - name: acme
    queues: [billing, support, sales]
    webhooks: ["http://127.0.0.1:$DEAD_PORT/hook", "http://127.0.0.1:$HANG_PORT/hook"]
sites:
$SILENT_SITES
# Production delivery settings (resend every 30 s, backoff up to 30 s) on dead receivers.
alert_delivery:
  timeout_s: 2
YML
cat >"$WORK/rules.yaml" <<YML
defaults:
  site_dark:
    heartbeats: 1
    min_s: 1
YML

# The first two CPUs this process may use (a container's cpuset need not start at 0).
read -r CPU_A CPU_B < <(sed -n 's/^Cpus_allowed_list:\s*//p' /proc/self/status | tr ',' '\n' |
  awk -F- '{ for (c = $1; c <= ($2 == "" ? $1 : $2); c++) print c }' | head -2 | xargs) || true
PIN=0
AGENT_PIN=()
if [[ -n ${CPU_B:-} ]] && command -v taskset >/dev/null; then
  PIN=1
  AGENT_PIN=(taskset -c "$CPU_B")
fi

run() {  # with_alerting(0|1) n: prints events/s of one backlog
  local alerting=$1 n=$2 args=()
  if ((alerting)); then
    args=(--config "$WORK/alerting.yaml" --continuity-rules "$WORK/rules.yaml"
      --alertmanager "http://127.0.0.1:$DEAD_PORT")
  fi
  start_collector "c$alerting-$n" "${args[@]}"
  # Collector on one CPU, agent on another: the two do not preempt each other, so the collector's
  # CPU time per event varies far less from run to run (+-10% unpinned on 2 shared cores).
  if ((PIN)); then taskset -a -pc "$CPU_A" "$COLLECTOR_PID" >/dev/null || true; fi
  if ((alerting)); then
    # 30 silent sites: 30 SiteDark alerts being retried to dead receivers during the run.
    WAIT_S=30 wait_for bash -c "[[ \$(curl -sf http://127.0.0.1:$METRICS_PORT/metrics |
      grep -c '^ccmon_alerts_active{alertname=\"SiteDark\"') -ge 30 ]]" ||
      fail "the silent sites did not raise SiteDark"
  fi
  local t0 t1 events
  cpu() { awk '{print $14 + $15}' "/proc/$COLLECTOR_PID/stat"; }  # clock ticks, all threads
  t0=$(cpu)
  "${AGENT_PIN[@]}" "$BIN/ccmon-agent" --site busy --collector "127.0.0.1:$GRPC_PORT" --simulate --seed 3 \
    --sim-calls-per-minute 1200 --simulate-seconds 21600 --once --no-fsync \
    --spool-dir "$WORK/spool-$alerting-$n" --log-level warn >>"$WORK/agent.log" 2>&1 ||
    fail "agent failed"
  t1=$(cpu)
  events=$(metric ccmon_ingest_events_total 'result="accepted",reason=""')
  if ((alerting)); then
    local down
    down=$(scrape | grep -c '^ccmon_alert_receiver_up{.*} 0' || true)
    ((down >= 1)) || fail "receivers not seen down: delivery was not exercised"
  fi
  kill "$COLLECTOR_PID"
  wait "$COLLECTOR_PID" 2>/dev/null || true
  echo "$events $((t1 - t0))"
}

# Seven alternating runs of each mode. The CPU time of the same work varies by up to +-20%
# from run to run on a shared 2-core VM (one mode, the same backlog: 172 to 326 ticks, seen in
# CI), in bursts that can hit two runs in a row; each mode's rate is the median of its runs
# (events per collector CPU second, all threads, delivery included), which such bursts move
# no further than one ordinary run would. Totals, best runs and pair ratios each failed a CI
# run of unchanged code; the median of seven did not on any recorded run.
rates0=()
rates1=()
for n in 1 2 3 4 5 6 7; do
  # Alternate which goes first, so neither side always runs on a warmer machine.
  for mode in $((n % 2)) $(((n + 1) % 2)); do
    read -r e t < <(run "$mode" "$n")
    echo "run $n, alerting $mode: $e events in $t CPU ticks"
    ((t > 0)) || fail "no CPU time measured"
    if ((mode)); then rates1+=($((e * 1000 / t))); else rates0+=($((e * 1000 / t))); fi
  done
done
hz=$(getconf CLK_TCK)
median() { printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"; }
off=$(($(median "${rates0[@]}") * hz / 1000))
on=$(($(median "${rates1[@]}") * hz / 1000))
echo "ingest events per collector CPU second, median run: without alerting $off, receivers dead $on"
echo "ratio: $((on * 1000 / off / 10)).$((on * 1000 / off % 10))% (the target is >= 95%)"
((on * 100 >= off * 95)) || fail "ingest with dead receivers is below 95% of the rate without alerting"
echo PASS
