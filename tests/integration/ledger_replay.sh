#!/usr/bin/env bash
# A full day's queue_log replayed with --once into a real collector gives
# the same ledger, interval by interval, as the same events fed live through a fake clock.
source "$(dirname "$0")/lib.sh"
DATA=$1
TOOLS=$2
day=$(date -u -d yesterday +%F)
"$TOOLS/queue_log_gen" "$day" 42 >"$WORK/queue_log"
lines=$(wc -l <"$WORK/queue_log")
((lines > 5000)) || fail "generated day too small: $lines lines"

start_collector c --config "$DATA/ledger_config.yaml"
"$BIN/ccmon-agent" --site ny-1 --collector "127.0.0.1:$GRPC_PORT" --queue-log "$WORK/queue_log" \
  --from-start --once --no-fsync --spool-dir "$WORK/spool" --log-level warn >"$WORK/agent.log" 2>&1 ||
  fail "agent --once failed"
"$TOOLS/ledger_live" "$DATA/ledger_config.yaml" ny-1 "$day" "$WORK/queue_log" >"$WORK/live.csv" ||
  fail "ledger_live failed"
rows=$(($(wc -l <"$WORK/live.csv") - 1))
# New York's part of a UTC day: 19 h of 30-minute intervals, 3 queues.
((rows >= 100)) || fail "only $rows ledger rows for $day"
# The columns ledger_live prints, picked from the ledger CSV by name.
pick() {
  awk -F, -v want="client,site,queue,local_start,offered,answered,answered_in_threshold,abandoned,short_abandoned,sl_result,abandon_result,asa_result" '
    NR == 1 { n = split(want, w, ","); for (i = 1; i <= NF; i++) col[$i] = i
              for (j = 1; j <= n; j++) if (!(w[j] in col)) { print "no column " w[j] > "/dev/stderr"; exit 1 }
              print want; next }
    { line = ""; for (j = 1; j <= n; j++) line = line (j > 1 ? "," : "") $(col[w[j]]); print line }'
}
# The last intervals close once the PBX has been quiet for idle_close_s; rows reach the store
# on the next tick.
replayed_rows() {
  "$BIN/ccmon-ctl" --collector "127.0.0.1:$GRPC_PORT" ledger --client acme --date "$day" \
    --format csv >"$WORK/replayed.csv" && (($(wc -l <"$WORK/replayed.csv") - 1 == rows))
}
wait_for replayed_rows || fail "ledger has $(($(wc -l <"$WORK/replayed.csv") - 1)) rows, want $rows"
pick <"$WORK/replayed.csv" >"$WORK/replayed.cut" || fail "ledger CSV lacks a column"
diff "$WORK/live.csv" "$WORK/replayed.cut" >"$WORK/diff.log" ||
  { head -20 "$WORK/diff.log"; fail "replayed ledger differs from the live one"; }
met=$(grep -c ',met,' "$WORK/live.csv" || true)
echo "PASS: $rows intervals identical ($met with SL met) for $day"
