#!/usr/bin/env bash
# List and memory benchmark of the sandbox: a world of 10,000 pods in 200
# namespaces (100 nodes), served by the release `gameday sandbox` process.
# Measures `kubectl get pods -A -o json` (real kubectl, wall time, RUNS runs,
# median) and the sandbox's resident memory (VmRSS) after the runs.
# Targets: list < 1 s, RSS < 300 MB.
#
# usage: scripts/bench/sandbox_list.sh [RUNS]   (default 5)
#        PROFILE=dev scripts/bench/sandbox_list.sh   (debug build, slower)
set -euo pipefail
cd "$(dirname "$0")/../.."
runs="${1:-5}"
profile="${PROFILE:-release}"
if [ "$profile" = release ]; then
  cargo build --release --quiet; bin=./target/release/gameday
else
  cargo build --quiet; bin=./target/debug/gameday
fi
work="$(mktemp -d)"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
python3 scripts/bench/sandbox_world.py 200 5 10 100 > "$work/world.yaml"
start=$(date +%s.%N)
"$bin" sandbox --world "$work/world.yaml" --kubeconfig-out "$work/kubeconfig" > "$work/out" 2>&1 &
pid=$!
for _ in $(seq 600); do grep -q '^sandbox ready' "$work/out" && break; sleep 0.1; done
grep -q '^sandbox ready' "$work/out" || { cat "$work/out"; exit 1; }
echo "startup (10,000 pods ready): $(echo "$(date +%s.%N) - $start" | bc) s"
export KUBECONFIG="$work/kubeconfig"
kubectl --cache-dir "$work/cache" get ns >/dev/null   # warm the discovery cache
times=()
for _ in $(seq "$runs"); do
  t0=$(date +%s.%N)
  kubectl --cache-dir "$work/cache" get pods -A -o json > "$work/pods.json"
  times+=("$(echo "$(date +%s.%N) - $t0" | bc)")
done
count=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['items']))" "$work/pods.json")
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "kubectl get pods -A -o json: items=$count runs=${times[*]} median=${median} s"
api=$(sed -n 's/.*api=\([^ ]*\).*/\1/p' "$work/out")
curl_times=()
for _ in $(seq "$runs"); do
  curl_times+=("$(curl -s -o /dev/null -w '%{time_total}' -H 'Accept: application/json' "$api/api/v1/pods?limit=500")")
done
echo "server side, GET /api/v1/pods (curl): runs=${curl_times[*]} median=$(printf '%s\n' "${curl_times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}') s"
rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
echo "sandbox RSS after the runs: $((rss_kb / 1024)) MB ($profile build)"
