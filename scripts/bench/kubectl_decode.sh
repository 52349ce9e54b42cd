#!/usr/bin/env bash
# Where `kubectl get pods -A -o json` spends its time on the 10,000-pod
# world: the sandbox, or kubectl itself?
#
# 1. starts the release `gameday sandbox` with the world of
#    scripts/bench/sandbox_list.sh and times kubectl against it (HTTPS,
#    pages of 500), the default table output, and `get --raw`;
# 2. serves the very same list bytes from a 40-line Python stub (plain
#    HTTP, one response; discovery is forwarded to the sandbox) and times
#    kubectl against that: if it takes as long, the time is kubectl's;
# 3. times the stub with the first 2,500 and 5,000 items, and with items
#    cut down to their metadata or names, to show how the cost scales.
#
# usage: scripts/bench/kubectl_decode.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --quiet
bin=$PWD/target/release/gameday
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
python3 scripts/bench/sandbox_world.py 200 5 10 100 > "$work/world.yaml"
"$bin" sandbox --world "$work/world.yaml" --kubeconfig-out "$work/kubeconfig" > "$work/out" 2>&1 &
pids+=($!)
for _ in $(seq 600); do grep -q '^sandbox ready' "$work/out" && break; sleep 0.1; done
grep -q '^sandbox ready' "$work/out" || { cat "$work/out"; exit 1; }
export KUBECONFIG="$work/kubeconfig"
k=(kubectl --cache-dir "$work/cache")
timed() { local label=$1; shift; /usr/bin/time -f "$label: %e s wall, %U s user" "$@" > "$work/last" ; }
"${k[@]}" get ns > /dev/null
timed "sandbox  get pods -A -o json" "${k[@]}" get pods -A -o json
timed "sandbox  get pods -A (table)" "${k[@]}" get pods -A
echo "         table rows: $(($(wc -l < "$work/last") - 1))"
timed "sandbox  get --raw /api/v1/pods" "${k[@]}" get --raw /api/v1/pods
cp "$work/last" "$work/raw.json"
echo "         list: $(wc -c < "$work/raw.json") bytes"

python3 - "$work" <<'PY'
import base64, json, sys, yaml
w = sys.argv[1]
cfg = yaml.safe_load(open(f"{w}/kubeconfig"))
c = cfg["clusters"][0]["cluster"]
open(f"{w}/ca.crt", "wb").write(base64.b64decode(c["certificate-authority-data"]))
open(f"{w}/token", "w").write(cfg["users"][0]["user"]["token"])
open(f"{w}/server", "w").write(c["server"])
d = json.load(open(f"{w}/raw.json"))
def variant(name, items):
    json.dump(dict(d, items=items), open(f"{w}/v-{name}.json", "w"))
variant("all", d["items"])
variant("2500", d["items"][:2500])
variant("5000", d["items"][:5000])
variant("metadata", [{"metadata": i["metadata"]} for i in d["items"]])
variant("names", [{"metadata": {k: i["metadata"][k] for k in ("name", "namespace")}} for i in d["items"]])
PY
cat > "$work/stub.py" <<'PY'
import http.server, ssl, sys, urllib.request
w, port, body = sys.argv[1], int(sys.argv[2]), sys.argv[3]
server = open(f"{w}/server").read().strip()
token = open(f"{w}/token").read().strip()
ctx = ssl.create_default_context(cafile=f"{w}/ca.crt")
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def reply(self, code, ctype, data):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def do_GET(self):
        if self.path.startswith("/api/v1/pods"):
            return self.reply(200, "application/json", open(body, "rb").read())
        req = urllib.request.Request(server + self.path, headers={
            "Authorization": "Bearer " + token, "Accept": self.headers.get("Accept", "*/*")})
        try:
            r = urllib.request.urlopen(req, context=ctx)
            self.reply(r.status, r.headers.get("Content-Type"), r.read())
        except urllib.error.HTTPError as e:
            self.reply(e.code, e.headers.get("Content-Type") or "application/json", e.read())
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/kc-stub" <<EOF
apiVersion: v1
kind: Config
clusters: [{name: s, cluster: {server: "http://127.0.0.1:$port"}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: s, context: {cluster: s, user: u}}]
current-context: s
EOF
for v in all 2500 5000 metadata names; do
  python3 "$work/stub.py" "$work" "$port" "$work/v-$v.json" &
  sp=$!
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/api" >/dev/null 2>&1 && break; sleep 0.1; done
  timed "stub $v  get pods -A -o json" kubectl --kubeconfig "$work/kc-stub" --cache-dir "$work/cache2" get pods -A -o json --chunk-size=0
  timed "stub $v  get pods -A -o name" kubectl --kubeconfig "$work/kc-stub" --cache-dir "$work/cache2" get pods -A -o name --chunk-size=0
  kill "$sp"; wait "$sp" 2>/dev/null || true
done
