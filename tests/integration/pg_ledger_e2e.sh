#!/usr/bin/env bash
# The shared ledger in PostgreSQL, end to end: two shards (asia: manila-1 and pune-1; americas:
# bogota-1) of two replicas each write one PostgreSQL database that this test starts (initdb
# on loopback) and stops in the middle: the americas replicas start while it is up, the asia
# replicas while it is down (they must start anyway), and two simulated days of every site
# are imported while it is down, so every row waits in the collectors. A reference collector
# with the embedded SQLite ledger gets every site's events too (each agent sends to its
# shard's replicas and to it). When the database is back, the waiting rows are written: the
# same rows, each once (revision 1: two replicas, one row), as the reference's, and
# `ccmon-ctl statement` through either shard (it reads across shards) is the reference's. Then
# a new replica joins the filled database without protecting it, and a row the database
# refuses is set aside without holding the others back.
source "$(dirname "$0")/lib.sh"
for tool in jq sqlite3; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (deploy/install-deps.sh installs it)"
done

cat >"$WORK/collector.yaml" <<'YAML'
idle_close_s: 1
clients:
  - name: acme
    contract:
      sl_threshold_s: 20
      sl_target: 0.80
      timezone: Asia/Manila
      period: day
      monthly_fee: 120000
      currency: USD
      service_credits:
        basis: month_shortfall
        tiers: [{shortfall: 0.01, percent: 2}, {shortfall: 5, percent: 5}]
        cap_percent: 12
    queues: [billing, support]
sites:
  - {id: manila-1, timezone: Asia/Manila}
  - {id: pune-1, timezone: Asia/Kolkata}
  - {id: bogota-1, timezone: America/Bogota}
YAML

start_postgres
replica() {  # NAME SHARD: a collector of SHARD on the shared ledger; sets NAME_PORT, NAME_METRICS
  start_collector "$1" --config "$WORK/collector.yaml" --data-dir "$WORK/data-$1" --shard "$2" \
    --ledger-database "$PG_URI"
  eval "${1}_PORT=$GRPC_PORT ${1}_METRICS=$METRICS_PORT"
}
replica b1 americas
replica b2 americas
stop_postgres
replica a1 asia
replica a2 asia
grep -q 'ledger store not reachable at start' "$WORK/a1.log" ||
  fail "a1 did not say its ledger store was unreachable"
start_collector ref --config "$WORK/collector.yaml" --data-dir "$WORK/data-ref"
ref_PORT=$GRPC_PORT

# Two days, ending at midnight in Manila today.
today=$(TZ=Asia/Manila date +%F)
FROM=$(date -d "$today -2 day" +%F) TO=$(date -d "$today -1 day" +%F)
end=$(($(date -u -d "$today" +%s) - 8 * 3600))
backfill() {  # site seed replicas...
  local site=$1 seed=$2 list
  shift 2
  list=$(printf '127.0.0.1:%s,' "$@")
  "$BIN/ccmon-agent" --site "$site" --collector "${list%,}" --simulate --once --seed "$seed" \
    --sim-agents 6 --sim-calls-per-minute 0.8 --sim-queue billing --sim-queue support \
    --simulate-seconds $((2 * 86400)) --simulate-end "$end" --sim-link-every 0 --once-timeout 120 \
    --spool-dir "$WORK/spool-$site" --no-fsync --log-level warn >"$WORK/agent-$site.log" 2>&1 ||
    fail "backfill of $site failed"
}
backfill manila-1 21 "$a1_PORT" "$a2_PORT" "$ref_PORT"
backfill pune-1 22 "$a1_PORT" "$a2_PORT" "$ref_PORT"
backfill bogota-1 23 "$b1_PORT" "$b2_PORT" "$ref_PORT"

# Every row of the two days, 3 sites x 2 queues x 48 intervals.
want=$((2 * 48 * 6))
ROWS_SQL="SELECT client, site, queue, start_utc_ms, offered, answered, answered_in_threshold,
  abandoned, short_abandoned, handled, answered_wait_ms, sl_result, revision FROM ledger_rows
  WHERE local_date BETWEEN '$FROM' AND '$TO' ORDER BY client, site, queue, start_utc_ms"
ref_rows() { sqlite3 -separator '|' "$WORK/data-ref/ledger.db" "$ROWS_SQL"; }
ref_done() { (($(ref_rows | wc -l) == want)); }
WAIT_S=60 wait_for ref_done || fail "the reference holds $(ref_rows | wc -l) rows, want $want"

# Meanwhile every shared-ledger replica holds its shard's rows, waiting.
for r in a1 a2 b1 b2; do
  port_var="${r}_METRICS"
  METRICS_PORT=${!port_var}
  waiting() { local n; n=$(metric ccmon_ledger_store_rows_waiting ''); [[ $n != absent ]] && ((${n%.*} > 0)); }
  WAIT_S=30 wait_for waiting || fail "$r has no rows waiting while PostgreSQL is down"
  echo "$r: $(metric ccmon_ledger_store_rows_waiting '') rows waiting while PostgreSQL is down"
done

run_postgres || fail "PostgreSQL did not come back"
pg_rows() { psql_q "$ROWS_SQL" 2>/dev/null; }
pg_done() { (($(pg_rows | wc -l) == want)); }
WAIT_S=60 wait_for pg_done || fail "PostgreSQL holds $(pg_rows | wc -l) rows, want $want"
for r in a1 a2 b1 b2; do
  port_var="${r}_METRICS"
  METRICS_PORT=${!port_var}
  drained() { [[ $(metric ccmon_ledger_store_rows_waiting '') == 0 ]]; }
  WAIT_S=30 wait_for drained || fail "$r still has rows waiting"
  expect_metric ccmon_ledger_store_refused_rows_total '' 0
done
grep -q 'reachable again' "$WORK/a1.log" || fail "a1 did not log that its store was back"

# The same rows as the reference, each once: two replicas wrote every row, one revision each.
diff <(ref_rows) <(pg_rows) >"$WORK/rows.diff" ||
  { head -5 "$WORK/rows.diff"; fail "the shared ledger's rows differ from the reference's"; }
revs=$(psql_q "SELECT count(*) FROM ledger_revisions")
rows=$(psql_q "SELECT count(*) FROM ledger_rows")
((revs == rows)) || fail "$revs revisions for $rows rows: a replica wrote a row twice"
awk -F'|' '$2 == "" || $5 == "" || $13 != 1 { bad = 1 } END { exit bad }' <(pg_rows) ||
  fail "rows without their figures or past revision 1: $(pg_rows | head -2)"

# The statement through each shard reads across both; it is the reference's. Whether it is
# provisional is each collector's view of its own sites, so that is left out.
statement() {  # port
  "$BIN/ccmon-ctl" --collector "127.0.0.1:$1" statement --client acme --from "$FROM" --to "$TO" \
    --format json | jq -S 'del(.generated_ms, .as_of_ms, .provisional, .incomplete_sites)'
}
statement "$ref_PORT" >"$WORK/ref.json" || fail "the reference's statement failed"
jq -e '[.queues[].offered] | add > 1000' "$WORK/ref.json" >/dev/null ||
  fail "the reference statement has too few calls to compare: $(jq -c '[.queues[].offered]' "$WORK/ref.json")"
for r in a2 b1; do
  port_var="${r}_PORT"
  statement "${!port_var}" >"$WORK/$r.json" || fail "the statement through $r failed"
  diff "$WORK/ref.json" "$WORK/$r.json" >"$WORK/statement.diff" ||
    { head -10 "$WORK/statement.diff"; fail "the statement through $r differs from the reference"; }
done
# A new replica joining a database that already holds rows has lost nothing: it protects
# nothing (protection would refuse its own amendments for weeks).
replica a3 asia
wait_for grep -q 'recovered state from' "$WORK/a3.log" || fail "a3 did not start"
grep -q 'stored rows will not be amended' "$WORK/a3.log" && fail "a new replica protected the shared rows"

# A row the database refuses (here a trigger rejects queue "poison") is set aside, named in the
# log; the row closed beside it is written and nothing waits behind it.
psql_q "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS \$\$
  BEGIN IF NEW.queue = 'poison' THEN RAISE EXCEPTION 'poison row'; END IF; RETURN NEW; END \$\$;
  CREATE TRIGGER refuse_poison BEFORE INSERT OR UPDATE ON ledger_rows
  FOR EACH ROW EXECUTE FUNCTION refuse_poison();" >/dev/null
t=$(($(date +%s) * 1000 - 7200000))
for q in poison billing; do
  echo "{\"eventTimeMs\":\"$t\",\"call\":{\"kind\":\"KIND_OFFERED\",\"queue\":\"$q\",\"callId\":\"p-$q\"}}"
  echo "{\"eventTimeMs\":\"$((t + 5000))\",\"call\":{\"kind\":\"KIND_ABANDONED\",\"queue\":\"$q\",\"callId\":\"p-$q\"}}"
done | "$BIN/ccmon-agent" --site lima-1 --collector "127.0.0.1:$b1_PORT" --jsonl - --once \
  --once-timeout 30 --no-fsync --spool-dir "$WORK/spool-lima" --log-level warn >"$WORK/lima.log" 2>&1 ||
  fail "lima-1's events were not delivered"
lima_billing() { [[ $(psql_q "SELECT count(*) FROM ledger_rows WHERE site = 'lima-1' AND queue = 'billing'") == 1 ]]; }
WAIT_S=30 wait_for lima_billing || fail "the row beside the refused one was not written"
wait_for grep -q 'row default/lima-1/poison at .* set aside, the store refuses it' "$WORK/b1.log" ||
  fail "the refused row was not named in the log: $(grep 'ledger store' "$WORK/b1.log" | tail -2)"
METRICS_PORT=$b1_METRICS
drained() { [[ $(metric ccmon_ledger_store_rows_waiting '') == 0 ]]; }
WAIT_S=10 wait_for drained || fail "rows wait behind the refused one"

echo "PASS: $rows rows of 3 sites in 2 shards x 2 replicas, written after a PostgreSQL outage," \
  "equal the reference's (one revision each); the statement through either shard" \
  "($(jq '[.queues[].offered] | add' "$WORK/ref.json") calls) equals the single collector's"
