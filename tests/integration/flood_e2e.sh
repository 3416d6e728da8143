#!/usr/bin/env bash
# One site floods the collector with queues of random names; it stops at
# the per-site cap with counted rejections, the collector's memory stays bounded, and another
# site's figures are exact.
source "$(dirname "$0")/lib.sh"
DATA=$1
cat >"$WORK/c.yaml" <<YML
limits:
  max_queues_per_site: 200
YML
start_collector c --config "$WORK/c.yaml"
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$COLLECTOR_PID/status"; }
flood() {  # n seed: n call events, each on a new random queue name
  local t=$(( $(date +%s) * 1000 - 60000 ))
  awk -v n="$1" -v seed="$2" -v t="$t" 'BEGIN { srand(seed); for (i = 0; i < n; i++) {
      q = sprintf("q%08x%08x", int(rand() * 4294967295), i);
      printf "{\"eventTimeMs\":\"%d\",\"call\":{\"kind\":\"KIND_OFFERED\",\"queue\":\"%s\",\"callId\":\"c%d\"}}\n", t, q, i } }' |
    "$BIN/ccmon-agent" --site flood --collector "127.0.0.1:$GRPC_PORT" --jsonl - --once \
      --once-timeout 120 --no-fsync --spool-dir "$WORK/spool-flood-$2" --log-level error \
      >>"$WORK/flood.log" 2>&1 || fail "flood agent failed"
}
flood 20000 1
rss1=$(rss_kb)
capped1=$(metric ccmon_ingest_events_total 'result="invalid",reason="queue_cap"')
[[ ${capped1%.*} -eq $((20000 - 200)) ]] || fail "expected 19800 queue_cap rejections, got $capped1"
[[ $(scrape | grep -c '^ccmon_calls_offered_total{client="default",site="flood"') -eq 200 ]] ||
  fail "the flood site has more queues than its cap"
# The same again, meanwhile a well-behaved site reports: its figures stay exact.
flood 100000 2 &
FLOOD=$!
"$BIN/ccmon-agent" --site good --collector "127.0.0.1:$GRPC_PORT" --queue-log "$DATA/queue_log.basic" \
  --from-start --once --no-fsync --spool-dir "$WORK/spool-good" --log-level warn >"$WORK/good.log" 2>&1 ||
  fail "the good site was held up by the flood"
wait "$FLOOD"
rss2=$(rss_kb)
flood 100000 3
rss3=$(rss_kb)
echo "collector RSS after 20k flood events: ${rss1} kB; +100k: ${rss2} kB; +100k: ${rss3} kB"
# Rejected events allocate nothing lasting: after the allocator and gRPC buffers warm up,
# another 100k flood events leave memory where it was.
((rss3 - rss2 < 4096)) || fail "memory still grows under a capped flood: ${rss2} -> ${rss3} kB"
((rss2 - rss1 < 32768)) || fail "memory grew by $((rss2 - rss1)) kB under a capped flood"
expect_metric ccmon_calls_offered_total 'client="default",site="good",queue="billing"' 5
expect_metric ccmon_calls_answered_total 'client="default",site="good",queue="billing"' 3
expect_metric ccmon_calls_offered_total 'client="default",site="good",queue="support"' 6
echo PASS
