#!/usr/bin/env bash
# The README's five-minute tour (sections 2 to 4), run as written against the
# `gameday` on PATH, checking what the README says each step prints and does.
# tests/readme_tour.rs runs it in `cargo test` with the freshly built binary,
# and checks that every command of the tour's code blocks appears below, so
# the README and this script cannot drift apart.
#
# It works in a scratch copy of examples/ (the tour writes my-drill.yaml,
# sandbox.kubeconfig, gameday-runs/ and the API token next to them), with a
# history database of its own, and uses the README's fixed loopback ports
# (8001, 9090, 9093, 9099): it stops at once if one is taken. Every wait is
# bounded; every process it starts is killed by PID on exit.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

fail() {
    echo "tour: FAIL: $*" >&2
    for log in "$work"/*.log; do
        [ -f "$log" ] && { echo "--- $log" >&2; tail -n 40 "$log" >&2; }
    done
    exit 1
}
step() { echo "tour: $*" >&2; }

# wait_for SECONDS COMMAND...: polls COMMAND every 0.25 s until it succeeds.
wait_for() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.25
    done
}

for port in 8001 9090 9093 9099; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        fail "port $port is already in use; the README's tour needs it"
    fi
done
command -v gameday >/dev/null || fail "gameday is not on PATH"

cp -r "$repo/examples" "$work/examples"
cd "$work"
export TMPDIR="$work" NO_COLOR=1 GAMEDAY_HISTORY_DB="$work/history.db"
unset CI GAMEDAY_CONFIG GAMEDAY_RUN_URL GAMEDAY_TOKEN KUBECONFIG \
    GAMEDAY_PROMETHEUS_URL GAMEDAY_ALERTMANAGER_URL

step "2. Write your first scenario"
gameday init checkout-drill --fault podKill -o my-drill.yaml 2>init.log || fail "init"
[ -f my-drill.yaml ] || fail "init wrote no my-drill.yaml"
out=$(gameday validate my-drill.yaml 2>&1) || fail "validate: $out"
[[ $out == *"ok: 1 file valid (1 scenario)"* ]] || fail "validate printed: $out"

step "3. Run it against the sandbox"
gameday sandbox --listen 127.0.0.1:8001 --kubeconfig-out sandbox.kubeconfig >sandbox.log 2>&1 &
pids+=($!)
# Prometheus reads the sandbox's CA at start: wait until it is written.
wait_for 30 test -s sandbox-ca.crt || fail "the sandbox wrote no sandbox-ca.crt"
# As the README writes it (returns at once: the file is there).
until test -s sandbox-ca.crt; do sleep 1; done
prometheus-alertmanager --config.file=examples/alertmanager/alertmanager.yml \
  --storage.path="$(mktemp -d)" --cluster.listen-address= --web.listen-address=127.0.0.1:9093 >alertmanager.log 2>&1 &
pids+=($!)
prometheus --config.file=examples/prometheus/prometheus.yml \
  --storage.tsdb.path="$(mktemp -d)" --web.listen-address=127.0.0.1:9090 >prometheus.log 2>&1 &
pids+=($!)
wait_prometheus=$(cat <<'EOF'
until curl -fs http://127.0.0.1:9090/api/v1/query --data-urlencode 'query=count_over_time(up[1m]) > 2' | grep -q value; do sleep 1; done
EOF
)
timeout 60 bash -c "$wait_prometheus" || fail "Prometheus did not scrape the sandbox within 60 s"

export KUBECONFIG=sandbox.kubeconfig
export GAMEDAY_PROMETHEUS_URL=http://127.0.0.1:9090 GAMEDAY_ALERTMANAGER_URL=http://127.0.0.1:9093
gameday plan my-drill.yaml >plan.log 2>&1 || fail "plan exited $?"
gameday run my-drill.yaml --api-listen 127.0.0.1:9099 --api-token-file examples/alertmanager/api-token >run.log 2>&1 &
run_pid=$!
pids+=("$run_pid")

run_dir() { compgen -G "gameday-runs/*-checkout-drill-*/api-url" >/dev/null; }
wait_for 60 run_dir || fail "the run wrote no gameday-runs/<run>/api-url"
dir=$(dirname "$(compgen -G "gameday-runs/*-checkout-drill-*/api-url" | head -n 1)")
paged() { grep -q '"alert.notified"' "$dir/journal.jsonl"; }
wait_for 90 paged || fail "Alertmanager never paged the run"

respond() {
    local out
    out=$("$@" 2>&1) || fail "$* exited $?: $out"
    [[ $out == *recorded* ]] || fail "$* printed: $out"
}
respond gameday respond ack --as ops-oncall
respond gameday respond update "Checkout errors after a pod crash; the replacement is starting" --as ic-oncall
respond gameday respond step mitigate --as ops-oncall
respond gameday respond resolve --as ic-oncall

code=0
wait "$run_pid" || code=$?
[ "$code" -eq 0 ] || fail "gameday run exited $code, the README says 0"
grep -q "passed" run.log || fail "run.log does not say the run passed"

step "4. Read the report"
for f in journal.jsonl result.json report.md report.html junit.xml; do
    [ -s "$dir/$f" ] || fail "the run directory has no $f"
done
grep -q '"status": *"passed"' "$dir/result.json" || fail "result.json status is not passed"
# `respond ack` ticked the starter's own `ack` step.
grep -A 6 '"id": "ack"' "$dir/result.json" | grep -q '"claimedAt": "' ||
    fail "respond ack did not tick the runbook's ack step"
run="${dir#gameday-runs/}"
run="${run%/}"
gameday report gameday-runs/"$run"/ >report.log 2>&1 || fail "report exited $?"
md=$(gameday report gameday-runs/"$run"/ -f md 2>>report.log) || fail "report -f md exited $?"
[[ $md == *"Scorecard"* ]] || fail "report -f md printed no scorecard"
step "passed"
