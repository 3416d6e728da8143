#!/usr/bin/env bash
# Builds the benchmarks in Release (own tree: build-bench), runs them side by side and prints
# one table, each figure next to its baseline measured in the same run. Ends with the lines
#   ingest ratio collector/sink at batch 256: R
#   ingest ratio with scrapes/without at batch 256: R
#   latency ratio busy/idle p99: R
# Not part of tests/run.sh or CTest. Environment knobs: BENCH_SECONDS (per ingest point, 2),
# BENCH_ROUNDS (alternating sink/collector rounds per batch size, 5), BENCH_JOBS (ninja -j, 2).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BUILD="$ROOT/build-bench"
SECONDS_PER_POINT="${BENCH_SECONDS:-2}"
ROUNDS="${BENCH_ROUNDS:-5}"
JOBS="${BENCH_JOBS:-2}"

log() { echo "bench: $*" >&2; }

log "building (Release) in $BUILD"
mkdir -p "$BUILD"
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCCMON_BUILD_BENCH=ON \
  -DCCMON_BUILD_TESTS=OFF >"$BUILD/configure.log" 2>&1 ||
  { cat "$BUILD/configure.log" >&2; exit 1; }
# Only what the benchmarks need, so unrelated targets cannot break a run.
ninja -C "$BUILD" -j"$JOBS" ccmon-collector ingest_sink ingest_load micro_bench engine_rss >&2

B="$BUILD/tests/bench"
WORK="$(mktemp -d /tmp/ccmon-bench.XXXXXX)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
  if [ -n "${MEMDIR:-}" ]; then rm -rf "$MEMDIR"; fi
}
trap cleanup EXIT

ROWS="$WORK/rows"
: >"$ROWS"
row() { echo "row|$1|$2|$3|$4" >>"$ROWS"; }
section() { echo "section|$1" >>"$ROWS"; }

# Waits for a "... port N" line in a log and prints N (the first number after "port").
wait_port() {
  local file=$1 pattern=$2
  for _ in $(seq 100); do
    if grep -q "$pattern" "$file" 2>/dev/null; then
      grep -o "$pattern [0-9]*" "$file" | head -1 | awk '{print $NF}'
      return 0
    fi
    sleep 0.1
  done
  echo "bench: no '$pattern' in $file:" >&2
  cat "$file" >&2
  return 1
}

start_collector() {  # name extra-args...
  local name=$1
  shift
  mkdir -p "$WORK/$name"
  "$BUILD/bin/ccmon-collector" --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 "$@" \
    >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  eval "${name}_pid=$!"
  eval "${name}_grpc=$(wait_port "$WORK/$name.log" "serving gRPC on port")"
  eval "${name}_metrics=$(wait_port "$WORK/$name.log" "/metrics on port")"
}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
fmt_rate() { awk -v v="$1" 'BEGIN {
  if (v >= 1e6) printf "%.2fM ev/s", v / 1e6; else if (v >= 1e3) printf "%.1fk ev/s", v / 1e3;
  else printf "%.0f ev/s", v }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "0" }'; }

# --- 1. ingest: bare sink vs collector (WAL on, group commit), alternating ------------------
log "ingest: sink vs collector, batches 1 64 256 1024, $ROUNDS rounds of ${SECONDS_PER_POINT}s"
"$B/ingest_sink" 127.0.0.1:0 >"$WORK/sink.log" 2>&1 &
PIDS+=($!)
sink_grpc=$(wait_port "$WORK/sink.log" "serving gRPC on port")
start_collector coll --data-dir "$WORK/coll/data"
# The same collector with its data directory in memory (tmpfs: every sync returns at once and
# nothing is written back later, into other rows), at batch 64 only: what the code would do on
# a disk that syncs for free, an upper bound for that row.
MEMDIR=""
if [ -d /dev/shm ] && MEMDIR="$(mktemp -d /dev/shm/ccmon-bench.XXXXXX)"; then
  start_collector nosync --data-dir "$MEMDIR/data"
fi

load() {  # port batch [extra...]
  local port=$1 batch=$2
  shift 2
  "$B/ingest_load" --target "127.0.0.1:$port" --batch "$batch" --streams 8 --window 8 \
    --seconds "$SECONDS_PER_POINT" --warmup 0.5 "$@" | awk '/events_per_s/ {print $2}'
}

# Each round runs the sink and then the collector, so the ratio is taken per round (both sides
# see the same state of the shared VM) and the median of the rounds' ratios is reported.
section "ingest, 8 concurrent site streams, window 8 batches, events/s acked (medians of $ROUNDS rounds; ratio: median of per-round ratios)"
ratio256=0
for batch in 1 64 256 1024; do
  : >"$WORK/s.$batch"
  : >"$WORK/c.$batch"
  : >"$WORK/r.$batch"
  : >"$WORK/n.$batch"
  for _ in $(seq "$ROUNDS"); do
    rs=$(load "$sink_grpc" "$batch")
    rc=$(load "$coll_grpc" "$batch")
    echo "$rs" >>"$WORK/s.$batch"
    echo "$rc" >>"$WORK/c.$batch"
    ratio "$rc" "$rs" >>"$WORK/r.$batch"
    echo >>"$WORK/r.$batch"
    if [ "$batch" = 64 ] && [ -n "$MEMDIR" ]; then
      rn=$(load "$nosync_grpc" "$batch")
      echo "$rn" >>"$WORK/n.$batch"
      echo "$(ratio "$rn" "$rs") $(ratio "$rc" "$rn")" >>"$WORK/nr.$batch"
    fi
  done
  s=$(median <"$WORK/s.$batch")
  c=$(median <"$WORK/c.$batch")
  r=$(grep . "$WORK/r.$batch" | median)
  log "batch $batch: sink $s collector $c ratio $r"
  row "ingest batch $batch: collector WAL on (vs bare sink)" "$(fmt_rate "$c")" \
    "$(fmt_rate "$s")" "$r"
  if [ "$batch" = 256 ]; then ratio256=$r; fi
  if [ "$batch" = 64 ] && [ -n "$MEMDIR" ]; then
    row "  diagnostic: the same on a tmpfs data directory, batch 64 (vs bare sink)" \
      "$(fmt_rate "$(median <"$WORK/n.$batch")")" "$(fmt_rate "$s")" \
      "$(awk '{print $1}' "$WORK/nr.$batch" | median)"
    row "  each round: tmpfs/sink, disk/tmpfs" "$(awk '{printf "%s/%s  ", $1, $2}' \
      "$WORK/nr.$batch")" "-" "-"
  fi
done
if [ -n "$MEMDIR" ]; then kill "$nosync_pid" 2>/dev/null || true; fi

# Diagnostic: the same collector without a data dir (no WAL), batch 256, to show where the
# gap comes from.
start_collector mem
m=$(load "$mem_grpc" 256)
kill "$mem_pid"
row "  diagnostic: collector WAL off, batch 256 (vs bare sink)" "$(fmt_rate "$m")" \
  "$(fmt_rate "$(median <"$WORK/s.256")")" "$(ratio "$m" "$(median <"$WORK/s.256")")"

# --- 1b. ingest while /metrics is scraped: a collector holding ~100k series ---------------
# A fresh collector (WAL on) is filled with enough sites and queues for an exposition of about
# 100k series; then batch-256 rounds run without and with a scraper pulling /metrics every
# second (curl, as Prometheus would: the whole exposition each time), alternately.
log "ingest with scrapes: batch 256, $ROUNDS rounds without/with a 1 s scraper"
start_collector scr --data-dir "$WORK/scr/data"
"$B/ingest_load" --target "127.0.0.1:$scr_grpc" --batch 256 --streams 100 --window 2 \
  --seconds 2 --warmup 0 --site-prefix fill >/dev/null
series=$(curl -s "http://127.0.0.1:$scr_metrics/metrics" | grep -vc '^#' || true)
scraper() {
  while :; do
    curl -s -o /dev/null "http://127.0.0.1:$scr_metrics/metrics" || true
    sleep 1
  done
}
section "ingest while scraped: batch 256, a collector holding $series series, a scrape every 1 s (medians of $ROUNDS rounds)"
: >"$WORK/nos"
: >"$WORK/wis"
: >"$WORK/rs"
for _ in $(seq "$ROUNDS"); do
  a=$(load "$scr_grpc" 256)
  scraper &
  scraper_pid=$!
  b=$(load "$scr_grpc" 256)
  kill "$scraper_pid" 2>/dev/null || true
  wait "$scraper_pid" 2>/dev/null || true
  echo "$a" >>"$WORK/nos"
  echo "$b" >>"$WORK/wis"
  ratio "$b" "$a" >>"$WORK/rs"
  echo >>"$WORK/rs"
done
scrape_ratio=$(grep . "$WORK/rs" | median)
log "with scrapes: $(median <"$WORK/wis") without: $(median <"$WORK/nos") ratio $scrape_ratio"
row "ingest batch 256 scraped every 1 s (vs not scraped)" "$(fmt_rate "$(median <"$WORK/wis")")" \
  "$(fmt_rate "$(median <"$WORK/nos")")" "$scrape_ratio"
kill "$scr_pid"

# --- 2. event-to-/metrics latency at 100k events/s ----------------------------------------
# 10 s per run (~500 probes, so that p99 is not one outlier), on a fresh collector (WAL on)
# whose /metrics holds what the latency load itself creates (8 sites x 10 queues + the probe
# site): the ingest rounds above leave their queues behind, which doubles the exposition and
# so the scrape inside every probe. That case is reported as a diagnostic row (its size
# measured after the run, with the latency load's queues added).
log "latency: probes through a fresh collector at 0 and 100k events/s"
section "event-to-/metrics latency (probe event sent -> scrape shows it; includes one scrape)"
start_collector lat --data-dir "$WORK/lat/data"
lat() {  # grpc-port metrics-port rate site-prefix
  "$B/ingest_load" --target "127.0.0.1:$1" --metrics "127.0.0.1:$2" \
    --rate "$3" --batch 256 --streams 8 --window 8 --seconds 10 --warmup 1 --site-prefix "$4"
}
# Busy first, so that the idle baseline scrapes the same /metrics (the same queues, no load).
busy=$(lat "$lat_grpc" "$lat_metrics" 100000 lat | tail -1)
idle=$(lat "$lat_grpc" "$lat_metrics" 1 lat | tail -1)
scrape_bytes=$(curl -s "http://127.0.0.1:$lat_metrics/metrics" 2>/dev/null | wc -c || echo 0)
kill "$lat_pid"
get() { echo "$1" | tr ' ' '\n' | awk -v k="$2" 'prev == k {print; exit} {prev = $0}'; }
row "p50 at 100k ev/s offered (vs idle collector)" "$(get "$busy" p50_ms) ms" \
  "$(get "$idle" p50_ms) ms" "$(ratio "$(get "$busy" p50_ms)" "$(get "$idle" p50_ms)")"
row "p99 at 100k ev/s offered (vs idle collector)" "$(get "$busy" p99_ms) ms" \
  "$(get "$idle" p99_ms) ms" "$(ratio "$(get "$busy" p99_ms)" "$(get "$idle" p99_ms)")"
row "  probes in the busy run (one every 20 ms; p99 is about the 5th worst)" "$(get "$busy" probes)" \
  "$(get "$idle" probes)" "-"
row "  load actually acked during the latency run" "$(fmt_rate "$(get "$busy" acked_events_per_s)")" \
  "$(fmt_rate 100000) offered" "$(ratio "$(get "$busy" acked_events_per_s)" 100000)"
row "  /metrics size during the latency run" \
  "$(awk -v b="$scrape_bytes" 'BEGIN {printf "%.0f KiB", b / 1024}')" "-" "-"
# The p99 of ~500 probes is about their 5th worst, and one pair of runs on this VM gave
# ratios from 1.0 to 1.8 for the same binary: like the ingest rows, alternating busy/idle
# rounds (LAT_ROUNDS, 3), the median of the per-round ratios reported, each round listed.
: >"$WORK/lat.rounds"
for _ in $(seq "${LAT_ROUNDS:-3}"); do
  big=$(lat "$coll_grpc" "$coll_metrics" 100000 lat | tail -1)
  big_bytes=$(curl -s "http://127.0.0.1:$coll_metrics/metrics" 2>/dev/null | wc -c || echo 0)
  big_idle=$(lat "$coll_grpc" "$coll_metrics" 1 lat | tail -1)
  echo "$(get "$big" p99_ms) $(get "$big_idle" p99_ms) $(ratio "$(get "$big" p99_ms)" "$(get "$big_idle" p99_ms)")" \
    "$(get "$big" rescraped) $(get "$big_idle" rescraped) $(get "$big" probes)" >>"$WORK/lat.rounds"
done
latency_ratio=$(awk '{print $3}' "$WORK/lat.rounds" | median)
row "p99 at 100k ev/s on the ingest-rounds collector, $((big_bytes / 1024)) KiB (vs it idle; median of $(wc -l <"$WORK/lat.rounds") rounds)" \
  "$(awk '{print $1}' "$WORK/lat.rounds" | median) ms" "$(awk '{print $2}' "$WORK/lat.rounds" | median) ms" "$latency_ratio"
row "  each round: busy/idle p99 ms = ratio" \
  "$(awk '{printf "%s%s/%s=%s", (NR > 1 ? "  " : ""), $1, $2, $3}' "$WORK/lat.rounds")" "-" "-"
# A probe whose batch was not yet read when its scrape asked for a snapshot needs a second
# scrape: under load that is a second full render, idle a cached one.
row "  each round: probes that took a second scrape, busy/idle of the busy run's probes" \
  "$(awk '{printf "%s%s/%s of %s", (NR > 1 ? "  " : ""), $4, $5, $6}' "$WORK/lat.rounds")" "-" "-"

# --- 3. micro-benchmarks -------------------------------------------------------------------
log "micro-benchmarks (Google Benchmark)"
echo "section|micro-benchmarks (Google Benchmark, in-process)" >>"$ROWS"
TMPDIR="$WORK" "$B/micro_bench" --benchmark_min_time=0.3 2>"$WORK/micro.log" |
  grep '^row|' >>"$ROWS" || { cat "$WORK/micro.log" >&2; exit 1; }

# --- 4. collector memory at 1,000 sites x 10 queues x 50 agents ---------------------------
log "memory: in-process engine, 1000 sites x 10 queues x 50 agents"
section "collector memory (in-process Engine, own process)"
rss=$("$B/engine_rss" 1000 10 50 20)
get_rss() { echo "$rss" | tr ' ' '\n' | awk -v k="$1" 'prev == k {print; exit} {prev = $0}'; }
after=$(get_rss rss_after_kib)
before=$(get_rss rss_before_kib)
row "RSS 1000 sites x 10 queues x 50 agents, $(get_rss events) events (vs empty engine)" \
  "$(awk -v k="$after" 'BEGIN {printf "%.1f MiB", k / 1024}')" \
  "$(awk -v k="$before" 'BEGIN {printf "%.1f MiB", k / 1024}')" "$(ratio "$after" "$before")"

# --- table -----------------------------------------------------------------------------------
echo
echo "ccmon benchmarks ($(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
  "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown))"
awk -F'|' '
  BEGIN { line = sprintf("%-72s %-34s %-22s %s", "benchmark", "ccmon", "baseline", "ccmon/baseline") }
  NR == 1 { print line; gsub(/./, "-", line); print line }
  $1 == "section" { printf "[%s]\n", $2; next }
  $1 == "row" {
    r = ($4 == "-") ? "" : $5
    printf "%-72s %-34s %-22s %s\n", $2, $3, $4, r
  }' "$ROWS"
echo
echo "ingest ratio collector/sink at batch 256: $ratio256"
echo "ingest ratio with scrapes/without at batch 256: $scrape_ratio"
echo "latency ratio busy/idle p99: $latency_ratio (on the ingest-rounds collector, $((big_bytes / 1024)) KiB of /metrics)"
