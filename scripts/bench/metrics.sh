#!/usr/bin/env bash
# Benchmark: one sandbox /metrics scrape (snapshot + traffic tick + render)
# on 10,000 pods in 200 namespaces. Target (issue 3): under 150 ms.
# Record the printed medians in docs/performance.md, "Sandbox metrics".
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo bench --bench sandbox_metrics "$@"
