#!/usr/bin/env bash
# Faults benchmarks: podKill of 2,000 pods across 100 namespaces (wall time,
# API requests per target, peak RSS of `gameday run`), and SIGINT → 10 faults
# reverted. Release build; prints the medians recorded in docs/performance.md.
#   GAMEDAY_BENCH_CONCURRENCY=64 scripts/bench/faults_bench.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo bench --bench faults "$@"
