#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time from its committed seeds; a crash fails the
# test and leaves the reproducer in the printed directory.
set -euo pipefail
bin=$1 seeds=$2 seconds=$3
work=$(mktemp -d "${TMPDIR:-/tmp}/ccmon-fuzz.XXXXXX")
if "$bin" -max_total_time="$seconds" -seed=1 -rss_limit_mb=2048 -timeout=10 \
    -artifact_prefix="$work/" -print_final_stats=1 "$work" "$seeds" >"$work/log" 2>&1; then
  grep -E 'stat::number_of_executed_units|Done' "$work/log" | tail -2
  rm -rf "$work"
else
  tail -n 60 "$work/log"
  echo "fuzz target $bin failed; artifacts in $work" >&2
  exit 1
fi
