#!/usr/bin/env bash
# Wall time of `gameday demo` (the README's first command; target: under 2
# minutes), with Prometheus/Alertmanager when on PATH and with them hidden.
# Usage: scripts/bench/demo.sh [RUNS] (default 3); prints each time and the median.
set -euo pipefail
runs="${1:-3}"
cd "$(dirname "$0")/../.."
CARGO_INCREMENTAL=0 cargo build --quiet
bin="$PWD/target/debug/gameday"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
for mode in prometheus kubernetes; do
  times=()
  for i in $(seq 1 "$runs"); do
    path="$PATH"; [ "$mode" = kubernetes ] && path="$work/empty"
    mkdir -p "$work/empty"
    start=$(date +%s.%N)
    PATH="$path" GAMEDAY_HISTORY_DB="$work/h.db" "$bin" demo --ci --out "$work/run-$mode-$i" >/dev/null 2>&1
    end=$(date +%s.%N)
    t=$(echo "$end - $start" | bc)
    echo "$mode run $i: ${t}s"
    times+=("$t")
  done
  printf '%s\n' "${times[@]}" | median | xargs printf "$mode median: %ss\n"
done
