#!/usr/bin/env bash
# Benchmark for `gameday validate` (issue 2, Performance):
#   1. 1,000 scenario files in one process: target >= 5,000 files/s;
#   2. one file in a cold process: target < 20 ms median.
# Uses hyperfine (Debian package `hyperfine`) when it is installed, else a
# shell loop with `date +%s%N`. Figures go into docs/performance.md, "## Validate".
set -euo pipefail
cd "$(dirname "$0")/../.."

say() { printf '==> %s\n' "$*"; }

if ! command -v hyperfine >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  say "installing hyperfine with apt-get (optional; the loop fallback works without it)"
  $sudo apt-get install -y -qq hyperfine >/dev/null 2>&1 || echo "    (not installed; using a shell loop)"
fi

say "cargo build --release"
cargo build --release --quiet
bin="$PWD/target/release/gameday"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/many"

# 1,000 files: the ready scenarios and the valid fixtures, each copy renamed
# so that the corpus is realistic (10 to 130 lines, every fault type).
sources=(scenarios/*.yaml tests/fixtures/valid/full.yaml)
n=${#sources[@]}
for i in $(seq 0 999); do
  src="${sources[$((i % n))]}"
  sed -E "s/^(  name: )([a-z0-9-]+)$/\1\2-$i/" "$src" > "$work/many/s$i.yaml"
done
one="$work/one.yaml"
cp tests/fixtures/valid/full.yaml "$one"
"$bin" validate "$work/many" >/dev/null
"$bin" validate "$one" >/dev/null

median_loop() { # runs "$@" N times, prints the median wall time in ms
  local runs=$1; shift
  local times=()
  for _ in $(seq "$runs"); do
    local t0 t1
    t0=$(date +%s%N); "$@" >/dev/null; t1=$(date +%s%N)
    times+=("$(( (t1 - t0) / 1000 ))")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.2f\n", a[int((NR+1)/2)]/1000}'
}

if command -v hyperfine >/dev/null 2>&1; then
  say "1,000 files in one process (hyperfine)"
  hyperfine -N --warmup 3 --runs 20 --export-json "$work/many.json" "$bin validate $work/many" >/dev/null
  many_ms=$(python3 -c "import json;print('%.2f'%(json.load(open('$work/many.json'))['results'][0]['median']*1000))")
  say "one file, cold process (hyperfine)"
  hyperfine -N --warmup 10 --runs 100 --export-json "$work/one.json" "$bin validate $one" >/dev/null
  one_ms=$(python3 -c "import json;print('%.2f'%(json.load(open('$work/one.json'))['results'][0]['median']*1000))")
  tool="hyperfine -N"
else
  say "1,000 files in one process (loop)"
  many_ms=$(median_loop 20 "$bin" validate "$work/many")
  say "one file, cold process (loop)"
  one_ms=$(median_loop 100 "$bin" validate "$one")
  tool="shell loop"
fi

# CPU time of the 1,000-file run: what the files/s would be on an idle core,
# since wall time on a shared machine includes waiting for a CPU.
cpu_s=$( { /usr/bin/time -f "%U %S" "$bin" validate "$work/many" >/dev/null; } 2>&1 | tail -1 | awk '{print $1 + $2}')
cpu_rate=$(awk -v s="$cpu_s" 'BEGIN {if (s > 0) printf "%.0f", 1000 / s; else print "inf"}')

rate=$(awk -v ms="$many_ms" 'BEGIN {printf "%.0f", 1000 / (ms / 1000)}')
lines=$(cat "$work"/many/*.yaml | wc -l)
echo
echo "validate, 1,000 files ($lines lines) in one process: median ${many_ms} ms = ${rate} files/s (target >= 5000)"
echo "validate, one file, cold process:                   median ${one_ms} ms (target < 20)"
echo "validate, 1,000 files, CPU time (user+sys):        ${cpu_s} s = ${cpu_rate} files/s of CPU"
echo "measured with $tool on $(nproc) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
fail=0
awk -v r="$rate" 'BEGIN {exit !(r >= 5000)}' || { echo "FAIL: below 5,000 files/s"; fail=1; }
awk -v m="$one_ms" 'BEGIN {exit !(m < 20)}' || { echo "FAIL: cold start 20 ms or more"; fail=1; }
exit $fail
