# Shared helpers for the integration tests: start real ccmon processes on free loopback ports,
# scrape them, and clean up whatever happens. Source it; set BIN to the build's bin directory.
set -euo pipefail

: "${BIN:?BIN must point at build/bin}"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ccmon-it.XXXXXX")
PIDS=()

cleanup() {
  local rc=$?
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && kill -CONT "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  # A test's own teardown (unmounting what it mounted), once its processes are gone.
  if declare -F on_cleanup >/dev/null; then on_cleanup || true; fi
  if [[ $rc -ne 0 ]]; then
    echo "--- test failed (rc=$rc); logs in $WORK:" >&2
    for f in "$WORK"/*.log; do [[ -f $f ]] && { echo "== $f" >&2; tail -n 30 "$f" >&2; }; done
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# wait_for CMD... : retries CMD every 0.1 s for up to ${WAIT_S:-20} s.
wait_for() {
  local deadline=$((SECONDS + ${WAIT_S:-20}))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

# start_collector NAME [flags...]: starts a collector on free ports; sets GRPC_PORT, METRICS_PORT
# and COLLECTOR_PID.
start_collector() {
  local name=$1
  shift
  "$BIN/ccmon-collector" --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 "$@" \
    >"$WORK/$name.log" 2>&1 &
  COLLECTOR_PID=$!
  PIDS+=("$COLLECTOR_PID")
  wait_for grep -q 'serving gRPC on port' "$WORK/$name.log" || fail "collector $name did not start"
  GRPC_PORT=$(sed -n 's/.*serving gRPC on port \([0-9]*\) .*/\1/p' "$WORK/$name.log" | head -1)
  METRICS_PORT=$(sed -n 's/.*\/metrics on port \([0-9]*\).*/\1/p' "$WORK/$name.log" | head -1)
}

scrape() { curl -sf "http://127.0.0.1:$METRICS_PORT/metrics"; }

# metric NAME LABELS: the sample value of NAME{LABELS} (exact label string; empty for a
# series without labels), or "absent".
metric() {
  local v key="$1{$2}"
  [[ -n "$2" ]] || key=$1
  v=$(scrape | awk -v key="$key" '$1 == key { print $2 }')
  echo "${v:-absent}"
}

expect_metric() {
  local got
  got=$(metric "$1" "$2")
  [[ "$got" == "$3" ]] || fail "$1{$2} = $got, expected $3"
}

# expect_truth SITE TRUTH: the site's call counters (client "default") equal a simulator's
# ground truth file (--truth): one line per queue, "queue offered answered within abandoned
# short timed_out completed".
expect_truth() {
  local site=$1 queue offered answered within abandoned short timed_out completed l
  while read -r queue offered answered within abandoned short timed_out completed; do
    l="client=\"default\",site=\"$site\",queue=\"$queue\""
    expect_metric ccmon_calls_offered_total "$l" "$offered"
    expect_metric ccmon_calls_answered_total "$l" "$answered"
    expect_metric ccmon_calls_answered_in_threshold_total "$l" "$within"
    expect_metric ccmon_calls_abandoned_total "$l" "$abandoned"
    expect_metric ccmon_calls_short_abandoned_total "$l" "$short"
    expect_metric ccmon_calls_unanswered_total "$l,reason=\"timeout\"" "$timed_out"
    expect_metric ccmon_calls_completed_total "$l" "$completed"
  done <"$2"
}

# run_alertmanager NAME CONFIG [flags...]: a real Alertmanager on a free loopback port (tried
# again on another port if one was taken meanwhile), clustering off unless flags say otherwise;
# sets AM to its URL.
run_alertmanager() {
  local name=$1 config=$2 attempt port
  shift 2
  for attempt in 1 2 3; do
    port=$(free_port) || fail "no free port"
    start_bg "$name" prometheus-alertmanager --config.file="$config" --storage.path="$WORK/$name" \
      --web.listen-address="127.0.0.1:$port" --cluster.listen-address= --log.level=warn "$@"
    if WAIT_S=30 wait_for curl -sf "http://127.0.0.1:$port/-/ready"; then
      AM="http://127.0.0.1:$port"
      return 0
    fi
    kill "$LAST_PID" 2>/dev/null || true
  done
  fail "$name did not start"
}

# free_port: a TCP port on 127.0.0.1 nobody listens on right now, below the kernel's range of
# ephemeral ports: a port reserved for a process that starts later must not be handed out
# meanwhile as the source port of some outgoing connection (an agent retrying that very port
# can even connect to itself and hold it).
free_port() {
  local p low=32768 high=60999 base=20000 span=12000
  read -r low high </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  if ((low > 11000)); then
    base=10000
    span=$((low - base < 32768 ? low - base : 32767))
  fi
  for _ in $(seq 100); do
    p=$((base + RANDOM % span))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

# start_bg NAME CMD...: runs CMD in the background with its log in $WORK/NAME.log; sets LAST_PID.
start_bg() {
  local name=$1
  shift
  "$@" >"$WORK/$name.log" 2>&1 &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
}

# start_postgres: a throwaway PostgreSQL server (initdb in $WORK, TCP on a free loopback port,
# no Unix socket, trust for the local superuser ccmon) stopped by cleanup; sets PG_URI to its
# database ccmon. As root the server runs as the postgres user (PostgreSQL refuses root).
start_postgres() {
  local bin dir attempt port
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [[ -x $bin/initdb ]] || fail "PostgreSQL server binaries not found (apt install postgresql)"
  dir="$WORK/pgdata"
  local as=()
  if [[ $(id -u) -eq 0 ]]; then
    chmod 711 "$WORK"
    as=(setpriv --reuid=postgres --regid=postgres --init-groups --)
  fi
  mkdir -p "$dir"
  [[ ${#as[@]} -eq 0 ]] || chown postgres:postgres "$dir"
  "${as[@]}" "$bin/initdb" -D "$dir" -U ccmon -A trust --no-sync -E UTF8 --locale=C.UTF-8 \
    >"$WORK/initdb.log" 2>&1 || fail "initdb failed (see $WORK/initdb.log)"
  for attempt in 1 2 3; do
    port=$(free_port) || fail "no free port"
    PG_BIN=$bin PG_DIR=$dir PG_AS=("${as[@]}") PG_PORT=$port
    if run_postgres; then
      "$bin/psql" -q -h 127.0.0.1 -p "$port" -U ccmon -d postgres -c 'CREATE DATABASE ccmon' \
        >/dev/null || fail "cannot create the test database"
      PG_URI="postgresql://ccmon@127.0.0.1:$port/ccmon"
      return 0
    fi
    kill "$LAST_PID" 2>/dev/null || true
    wait "$LAST_PID" 2>/dev/null || true
  done
  fail "PostgreSQL did not start (see $WORK/postgres.log)"
}

# run_postgres: (re)starts the server start_postgres made, on its port; sets PG_PID.
run_postgres() {
  start_bg postgres "${PG_AS[@]}" "$PG_BIN/postgres" -D "$PG_DIR" -p "$PG_PORT" \
    -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c fsync=off
  PG_PID=$LAST_PID
  WAIT_S=30 wait_for "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U ccmon -d postgres
}

# stop_postgres: a fast shutdown (clients disconnected), as an outage of the database.
stop_postgres() {
  kill -INT "$PG_PID"
  wait "$PG_PID" 2>/dev/null || true
}

# psql_q SQL: one query on the test database, unaligned, no headers.
psql_q() { "$PG_BIN/psql" -qAtX -h 127.0.0.1 -p "$PG_PORT" -U ccmon -d ccmon -c "$1"; }
