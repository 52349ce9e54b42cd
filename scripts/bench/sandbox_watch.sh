#!/usr/bin/env bash
# Watch fan-out benchmark of the sandbox: 100 concurrent kube-rs watches on
# pods in a 10,000-pod world receive one pod change; prints p50/p99/max of
# the change-to-receipt latency over 20 rounds. Target: p99 < 100 ms.
#
# usage: scripts/bench/sandbox_watch.sh [RUNS]   (default 3; prints each run)
#        PROFILE=dev scripts/bench/sandbox_watch.sh   (debug build, slower)
set -euo pipefail
cd "$(dirname "$0")/../.."
runs="${1:-3}"
profile="${PROFILE:-bench}"
cargo bench --profile "$profile" --bench sandbox_watch_fanout --no-run >/dev/null 2>&1 ||
  cargo bench --profile "$profile" --bench sandbox_watch_fanout --no-run
for _ in $(seq "$runs"); do
  cargo bench --quiet --profile "$profile" --bench sandbox_watch_fanout 2>/dev/null
done
