#!/usr/bin/env bash
# /metrics and /healthz answer within 3 s while 50 idle and 50 half-sent connections are held
# open against the metrics port (a port scanner, a stuck load balancer, a slowloris): the HTTP
# side is event-driven, so held connections cost sockets, never the workers a scrape needs.
# Also: a gzip scrape decodes to the same exposition, and unknown paths get 404.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

start_collector c
exec {probe}<>"/dev/tcp/127.0.0.1/$METRICS_PORT"
exec {probe}>&-
held=()
for _ in $(seq 50); do
  exec {fd}<>"/dev/tcp/127.0.0.1/$METRICS_PORT"
  held+=("$fd")
done
for _ in $(seq 50); do
  exec {fd}<>"/dev/tcp/127.0.0.1/$METRICS_PORT"
  printf 'GET /metrics HTTP/1.1\r\nHost: ccmon\r\nUser-Agent: slow' >&"$fd"
  held+=("$fd")
done
((${#held[@]} == 100)) || fail "could not hold 100 connections"

for round in 1 2 3; do
  curl -sf --max-time 3 "http://127.0.0.1:$METRICS_PORT/metrics" >"$WORK/plain.txt" ||
    fail "round $round: /metrics did not answer within 3 s with 100 connections held"
  grep -q '^ccmon_build_info' "$WORK/plain.txt" || fail "round $round: exposition lacks ccmon_build_info"
  [[ $(curl -s --max-time 3 "http://127.0.0.1:$METRICS_PORT/healthz") == ok ]] ||
    fail "round $round: /healthz did not say ok within 3 s"
  sleep 1
done

curl -sf --max-time 3 --compressed -D "$WORK/headers.txt" \
  "http://127.0.0.1:$METRICS_PORT/metrics" >"$WORK/gzip.txt" || fail "gzip scrape failed"
grep -qi '^Content-Encoding: gzip' "$WORK/headers.txt" || fail "no gzip although asked for"
grep -q '^ccmon_build_info' "$WORK/gzip.txt" || fail "gzip exposition does not decode"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:$METRICS_PORT/nope")
[[ $code == 404 ]] || fail "unknown path answered $code, expected 404"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 -X POST "http://127.0.0.1:$METRICS_PORT/metrics")
[[ $code == 405 ]] || fail "POST answered $code, expected 405"
for fd in "${held[@]}"; do exec {fd}>&-; done
echo "PASS: /metrics and /healthz answered with 100 idle and half-sent connections held"
