#!/usr/bin/env bash
# Benchmark: recording a run into a 10,000-run history, and metrics/history
# queries over it. Record the printed medians in docs/performance.md, "History".
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo bench --bench history "$@"
