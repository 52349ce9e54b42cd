#!/usr/bin/env bash
# What authentication, RBAC and TLS cost a server-side list: the 10,000-pod
# world of sandbox_list.sh (200 namespaces), listed with curl
#   1. `--insecure-plain-http` (no TLS, no authorization: the sandbox before
#      issue 12, the 9.3 ms baseline in docs/performance.md);
#   2. HTTPS + RBAC as a non-admin ServiceAccount bound to a pod-reader
#      ClusterRole by a ClusterRoleBinding (the cluster-wide list), with a
#      RoleBinding in each of the 200 namespaces as well (what RBAC scans);
#   2b. the same over HTTPS as the admin (system:masters skips RBAC), which
#      separates the cost of TLS from the cost of RBAC;
#   3. the same ServiceAccount listing one namespace (50 pods), allowed by its
#      RoleBinding there.
# Each request is a new connection, so HTTPS times include the handshake;
# "after TLS" subtracts curl's time_appconnect. RUNS runs each, median.
#
# usage: scripts/bench/sandbox_authz.sh [RUNS]   (default 21)
#        PROFILE=dev scripts/bench/sandbox_authz.sh   (debug build, slower)
set -euo pipefail
cd "$(dirname "$0")/../.."
runs="${1:-21}"
profile="${PROFILE:-release}"
target="${CARGO_TARGET_DIR:-target}"
if [ "$profile" = release ]; then
  cargo build --release --quiet; bin="$target/release/gameday"
else
  cargo build --quiet; bin="$target/debug/gameday"
fi
work="$(mktemp -d)"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
python3 scripts/bench/sandbox_world.py 200 5 10 100 > "$work/world.yaml"

start() { # start FLAGS...: a sandbox on the world, its API URL in $api
  "$bin" sandbox --world "$work/world.yaml" --kubeconfig-out "$work/kubeconfig" "$@" > "$work/out" 2>&1 &
  pid=$!
  for _ in $(seq 600); do grep -q '^sandbox ready' "$work/out" && break; sleep 0.1; done
  grep -q '^sandbox ready' "$work/out" || { cat "$work/out"; exit 1; }
  api=$(sed -n 's/.*api=\([^ ]*\).*/\1/p' "$work/out")
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
measure() { # measure LABEL URL CURL-ARGS...: prints total and after-TLS medians in ms
  local label=$1 url=$2; shift 2
  local totals=() afters=() code
  for _ in $(seq "$runs"); do
    read -r code t a < <(curl -s -o /dev/null -w '%{http_code} %{time_total} %{time_appconnect}\n' \
      -H 'Accept: application/json' "$@" "$url")
    [ "$code" = 200 ] || { echo "$label: HTTP $code" >&2; exit 1; }
    totals+=("$(echo "$t * 1000" | bc)")
    afters+=("$(echo "($t - $a) * 1000" | bc)")
  done
  echo "$label: p50 total $(printf '%s\n' "${totals[@]}" | median) ms, after TLS $(printf '%s\n' "${afters[@]}" | median) ms (runs=$runs)"
}

start --insecure-plain-http
measure "plain HTTP, no authorization, GET /api/v1/pods?limit=500" "$api/api/v1/pods?limit=500"
measure "plain HTTP, no authorization, GET /api/v1/pods (10,000)" "$api/api/v1/pods"
stop

start
export KUBECONFIG="$work/kubeconfig"
{
  echo "apiVersion: v1"; echo "kind: ServiceAccount"; echo "metadata: {name: bench, namespace: ns-0}"
  echo "---"
  echo "apiVersion: rbac.authorization.k8s.io/v1"; echo "kind: ClusterRole"
  echo "metadata: {name: pod-reader}"
  echo "rules: [{apiGroups: [''], resources: [pods], verbs: [get, list, watch]}]"
  echo "---"
  echo "apiVersion: rbac.authorization.k8s.io/v1"; echo "kind: ClusterRoleBinding"
  echo "metadata: {name: bench-reads-pods}"
  echo "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: pod-reader}"
  echo "subjects: [{kind: ServiceAccount, name: bench, namespace: ns-0}]"
  for n in $(seq 0 199); do
    echo "---"
    echo "apiVersion: rbac.authorization.k8s.io/v1"; echo "kind: RoleBinding"
    echo "metadata: {name: bench-reads-pods, namespace: ns-$n}"
    echo "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: pod-reader}"
    echo "subjects: [{kind: ServiceAccount, name: bench, namespace: ns-0}]"
  done
} > "$work/rbac.yaml"
kubectl --cache-dir "$work/cache" apply -f "$work/rbac.yaml" > /dev/null
token=$(kubectl --cache-dir "$work/cache" create token bench -n ns-0)
tls=(--cacert "$(dirname "$work/kubeconfig")/sandbox-ca.crt" -H "Authorization: Bearer $token")
admin=$(sed -n 's/^ *token: //p' "$work/kubeconfig")
admin_tls=(--cacert "$(dirname "$work/kubeconfig")/sandbox-ca.crt" -H "Authorization: Bearer $admin")
measure "HTTPS, admin (system:masters, RBAC skipped), GET /api/v1/pods?limit=500" "$api/api/v1/pods?limit=500" "${admin_tls[@]}"
measure "HTTPS, admin (system:masters, RBAC skipped), GET /api/v1/pods (10,000)" "$api/api/v1/pods" "${admin_tls[@]}"
measure "HTTPS + RBAC (ServiceAccount), GET /api/v1/pods?limit=500" "$api/api/v1/pods?limit=500" "${tls[@]}"
measure "HTTPS + RBAC (ServiceAccount), GET /api/v1/pods (10,000)" "$api/api/v1/pods" "${tls[@]}"
measure "HTTPS + RBAC (ServiceAccount, RoleBinding), GET /api/v1/namespaces/ns-7/pods" "$api/api/v1/namespaces/ns-7/pods" "${tls[@]}"
t0=$(date +%s.%N)
kubectl --cache-dir "$work/cache2" --token "$token" get pods -n ns-7 -o name > /dev/null
echo "kubectl (fresh discovery cache, TLS handshakes included) get pods -n ns-7: $(echo "($(date +%s.%N) - $t0) * 1000" | bc | cut -d. -f1) ms"
