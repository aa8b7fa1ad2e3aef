#!/usr/bin/env bash
# bench/tls: HTTPS keep-alive requests/s and latency for a ~1 KB JSON answer,
# credit-node's api listener side by side with nginx (nginx-light, 2 workers,
# TLS 1.2, ECDHE-ECDSA-AES128-GCM-SHA256) serving the same bytes as a static
# file, both loaded by the same wrk in the same run. Prints figures; never
# fails on a number. Needs: nginx-light wrk (make bench installs them).
#
#   bench/tls.sh [BUILD_DIR] [SECONDS]
set -euo pipefail
source "$(dirname "$0")/nginx.sh"
BUILD=${1:-build}
SECS=${2:-10}
BIN=$(realpath "$BUILD/credit-node")
W=$(mktemp -d /tmp/cn-bench-tls.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
API=$(free_port); SYNC=$(free_port); ADMIN=$(free_port); NGX=$(free_port)

# A CA and the node's certificate, made by the binary itself.
"$BIN" init --role provincial --node-id bench.node --jurisdiction 320000 --dir "$W/node" > /dev/null
"$BIN" pki ca-init --dir "$W/ca" --name "Bench CA" > /dev/null
"$BIN" pki sign --ca "$W/ca" --csr "$W/node/tls/node.csr" --out "$W/node/tls/node.pem" \
  --role provincial --node-id bench.node --jurisdiction 320000 > /dev/null
cp "$W/ca/ca.pem" "$W/node/tls/ca.pem"
sed -i -e "s|^sync = .*|sync = \"127.0.0.1:$SYNC\"|" -e "s|^api = .*|api = \"127.0.0.1:$API\"|" \
       -e "s|^admin = .*|admin = \"127.0.0.1:$ADMIN\"|" -e 's|^level = .*|level = "warn"|' "$W/node/node.toml"

"$BIN" run -c "$W/node/node.toml" 2> "$W/node.log" &
PIDS+=($!)

# nginx serves exactly the bytes our endpoint answers with.
for _ in $(seq 50); do curl -sk "https://127.0.0.1:$API/api/v1/categories" -o "$W/body.json" && break; sleep 0.1; done
start_nginx "$W" "$NGX" "$W/node/tls/node.pem" "$W/node/tls/node.key" "$W/body.json"

echo "tls: answer of $(stat -c %s "$W/body.json") bytes; wrk -t2, ${SECS}s per run, same machine (2 cores)"
run() {  # name url conns [extra wrk args]
  local name=$1 url=$2 c=$3; shift 3
  local out; out=$(wrk -t$(( c < 2 ? 1 : 2 )) -c"$c" -d"${SECS}s" --latency "$@" "$url" 2>&1)
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<< "$out")
  p50=$(awk '$1=="50%" {print $2}' <<< "$out")
  p99=$(awk '$1=="99%" {print $2}' <<< "$out")
  printf 'tls: %-12s %-22s %10s req/s   p50 %8s   p99 %8s\n' "$name" "$c conn $*" "$rps" "$p50" "$p99"
}
for c in 1 64; do
  run credit-node "https://127.0.0.1:$API/api/v1/categories" $c
  run nginx "https://127.0.0.1:$NGX/api/v1/categories" $c
done
# Full handshakes: a new TLS connection for every request.
run credit-node "https://127.0.0.1:$API/api/v1/categories" 16 -H "Connection: close"
run nginx "https://127.0.0.1:$NGX/api/v1/categories" 16 -H "Connection: close"
