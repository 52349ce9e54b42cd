#!/usr/bin/env bash
# The project's test command (the README's second command).
#
# 1. installs what the tests need when it is missing (real Prometheus and
#    Alertmanager from Debian's packages; kubectl must already be on PATH;
#    the Python Kubernetes client in .venv-clients);
# 2. cargo fmt --all --check;
# 3. cargo clippy --workspace --all-targets --locked -- -D warnings, and the
#    sandbox crate alone (without the `clients` feature gameday turns on, so
#    it is checked the way `cargo build -p gameday-sandbox` builds it);
# 4. cargo test --workspace --locked: gameday and the crates under crates/.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*"; }

# --- 1. tools the integration tests drive for real -------------------------
need_pkgs=()
command -v prometheus >/dev/null 2>&1 || need_pkgs+=(prometheus)
command -v promtool >/dev/null 2>&1 || need_pkgs+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || need_pkgs+=(prometheus-alertmanager)
command -v amtool >/dev/null 2>&1 || need_pkgs+=(prometheus-alertmanager)
command -v chromium >/dev/null 2>&1 || need_pkgs+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_pkgs+=(chromium-driver)
# The shared-history tests (tests/history_pg.rs) initdb and start their own
# PostgreSQL server from Debian's package (/usr/lib/postgresql/*/bin).
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need_pkgs+=(postgresql)
# The README tour (tests/readme_tour.rs) waits for Prometheus with curl.
command -v curl >/dev/null 2>&1 || need_pkgs+=(curl)

if [ ${#need_pkgs[@]} -gt 0 ]; then
  # Deduplicate while keeping order.
  mapfile -t need_pkgs < <(printf '%s\n' "${need_pkgs[@]}" | awk '!seen[$0]++')
  if command -v apt-get >/dev/null 2>&1; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    say "installing ${need_pkgs[*]} with apt-get (needed by the integration tests)"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
    # The Debian packages start system services; the tests start their own
    # instances on free loopback ports, so stop the system ones if they run.
    for svc in prometheus prometheus-alertmanager prometheus-node-exporter postgresql; do
      if command -v systemctl >/dev/null 2>&1; then $sudo systemctl stop "$svc" >/dev/null 2>&1 || true; fi
    done
  else
    echo "error: the integration tests need: ${need_pkgs[*]}" >&2
    echo "       apt-get is not available here; install Prometheus (>= 2.42, with promtool)" >&2
    echo "       and Alertmanager (>= 0.25, with amtool) by hand and put them on PATH as" >&2
    echo "       prometheus, promtool, prometheus-alertmanager and amtool." >&2
    exit 1
  fi
fi
if ! command -v kubectl >/dev/null 2>&1; then
  echo "error: kubectl is not on PATH; the sandbox compatibility tests run the real kubectl." >&2
  echo "       Install it from your distribution or https://kubernetes.io/docs/tasks/tools/." >&2
  exit 1
fi
say "prometheus $(prometheus --version 2>&1 | head -1 | awk '{print $3}'), alertmanager $(prometheus-alertmanager --version 2>&1 | head -1 | awk '{print $3}'), $(kubectl version --client 2>/dev/null | head -1)"

# The official Kubernetes Python client for tests/clients_python.rs: the
# sandbox must work with a client nobody here wrote.
if [ ! -x .venv-clients/bin/python ] || ! .venv-clients/bin/python -c 'import kubernetes' >/dev/null 2>&1; then
  say "making .venv-clients (pip install -r tests/clients/requirements.txt)"
  python3 -m venv .venv-clients
  .venv-clients/bin/pip install -q --disable-pip-version-check -r tests/clients/requirements.txt
fi

# --- 2-4. the Rust checks ---------------------------------------------------
say "cargo fmt --all --check"
cargo fmt --all -- --check

say "cargo clippy --workspace --all-targets --locked -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
say "cargo clippy -p gameday-sandbox --all-targets --locked -- -D warnings"
cargo clippy -p gameday-sandbox --all-targets --locked -- -D warnings

say "cargo test --workspace --locked"
cargo test --workspace --locked "$@"
