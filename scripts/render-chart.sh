#!/usr/bin/env bash
# Prints charts/gameday's manifests as `helm template` would, without helm:
#   scripts/render-chart.sh [VALUES] [--namespace NS] [--release NAME] [--notes]
# Without VALUES it renders charts/gameday/ci/sandbox-values.yaml (the
# chart-testing convention, ci/*-values.yaml). Defaults: release gameday,
# namespace gameday-system. Exit 2 on values the schema refuses.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
values=""
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --namespace|-n|--release) args+=("$1" "$2"); shift 2 ;;
    --notes) args+=("$1"); shift ;;
    -*) echo "render-chart.sh: unknown flag $1" >&2; exit 2 ;;
    *) values="$1"; shift ;;
  esac
done
[ -n "$values" ] || values="$root/charts/gameday/ci/sandbox-values.yaml"
case " ${args[*]-} " in *" --namespace "*|*" -n "*) ;; *) args+=(--namespace gameday-system) ;; esac
cargo build --quiet --manifest-path "$root/Cargo.toml" -p gameday-chart-render >&2
bin="${CARGO_TARGET_DIR:-$root/target}/debug/chart-render"
exec "$bin" "$root/charts/gameday" -f "$values" "${args[@]}"
