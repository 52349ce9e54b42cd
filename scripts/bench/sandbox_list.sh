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
# The API is HTTPS with a generated CA and a bearer token: curl gets both
# from the kubeconfig.
python3 - "$KUBECONFIG" "$work" <<'PY'
import base64, sys, yaml
cfg = yaml.safe_load(open(sys.argv[1]))
cluster = cfg["clusters"][0]["cluster"]
open(f"{sys.argv[2]}/ca.crt", "wb").write(base64.b64decode(cluster["certificate-authority-data"]))
open(f"{sys.argv[2]}/token", "w").write(cfg["users"][0]["user"]["token"])
open(f"{sys.argv[2]}/server", "w").write(cluster["server"])
PY
server=$(cat "$work/server")
auth=(--cacert "$work/ca.crt" -H "Authorization: Bearer $(cat "$work/token")")
curl_times=()
for _ in $(seq "$runs"); do
  curl_times+=("$(curl -sf "${auth[@]}" -o /dev/null -w '%{time_total}' -H 'Accept: application/json' "$server/api/v1/pods?limit=500")")
done
echo "server side, GET /api/v1/pods (curl): runs=${curl_times[*]} median=$(printf '%s\n' "${curl_times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}') s"
rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
echo "sandbox RSS after the runs: $((rss_kb / 1024)) MB ($profile build)"
# GET /metrics the way Prometheus scrapes it: the whole exposition of the
# 10,000-pod world, with the traffic model, kube-state-metrics families and
# the runtime's effects. The first scrape reads every object; later ones
# only what changed (crates/sandbox/src/view_cache.rs).
metrics_times=()
first=$(curl -sf "${auth[@]}" "$server/metrics" -o "$work/metrics.txt" -w '%{time_total}')
for _ in $(seq 11); do
  metrics_times+=("$(curl -sf "${auth[@]}" -o /dev/null -w '%{time_total}' "$server/metrics")")
  sleep 1   # scrapes are seconds apart; what changed meanwhile is read again
done
echo "GET /metrics (curl, HTTPS): $(wc -c < "$work/metrics.txt") bytes, $(grep -vc '^#' "$work/metrics.txt") samples; first ${first} s; then runs=${metrics_times[*]} median=$(printf '%s\n' "${metrics_times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}') s"
