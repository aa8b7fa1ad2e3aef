#!/usr/bin/env bash
# bench/api: authorized `detail` queries — each authenticated (bearer token),
# checked against its consent, masked, and audited durably before its
# answer — over TLS keep-alive, beside nginx serving a static JSON of the
# same size from the same certificate, both loaded by the same wrk in the
# same run. Prints figures; never fails on a number. Needs: nginx-light wrk.
# API_BENCH_PERF=FILE records a call-graph profile (perf record -g) of the
# node during the detail run (API_BENCH_PERF_RUN=NAME: another run's name).
#
#   bench/api.sh [BUILD_DIR] [SECONDS]
set -euo pipefail
source "$(dirname "$0")/nginx.sh"
BUILD=${1:-build}
SECS=${2:-10}
BIN=$(realpath "$BUILD/credit-node")
W=$(mktemp -d /tmp/cn-bench-api.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
API=$(free_port); SYNC=$(free_port); ADMIN=$(free_port); NGX=$(free_port)
FIRM=91350200776049653A

"$BIN" init --role local --node-id bench.node --jurisdiction 350200 --dir "$W/node" > /dev/null
"$BIN" pki ca-init --dir "$W/ca" --name "Bench CA" > /dev/null
"$BIN" pki sign --ca "$W/ca" --csr "$W/node/tls/node.csr" --out "$W/node/tls/node.pem" \
  --role local --node-id bench.node --jurisdiction 350200 > /dev/null
cp "$W/ca/ca.pem" "$W/node/tls/ca.pem"
sed -i -e "s|^sync = .*|sync = \"127.0.0.1:$SYNC\"|" -e "s|^api = .*|api = \"127.0.0.1:$API\"|" \
       -e "s|^admin = .*|admin = \"127.0.0.1:$ADMIN\"|" -e 's|^level = .*|level = "warn"|' "$W/node/node.toml"
printf '\n[api]\nrequests_per_second = 1000000\n' >> "$W/node/node.toml"

# One enterprise: a year of tax records and its registration (with personal fields to mask).
{
  echo "subject,record_id,event_date,source,period,tax_type,amount_paid"
  for m in 01 02 03 04 05 06 07 08 09 10 11 12; do echo "$FIRM,2025-$m-VAT,2025-$m-15,tax bureau,2025-$m,VAT,1${m}00.00"; done
} > "$W/tax.csv"
printf 'subject,record_id,event_date,source,name,legal_rep_name,legal_rep_id,phone,division\n%s,reg,2020-01-01,regulator,某某科技有限公司,张三丰,350203199001011234,13812345678,350203\n' "$FIRM" > "$W/reg.csv"
"$BIN" import -c "$W/node/node.toml" --category tax "$W/tax.csv" > /dev/null
"$BIN" import -c "$W/node/node.toml" --category registration "$W/reg.csv" > /dev/null
"$BIN" admin bank add --id bank-a --name "Bank A" --token-out "$W/bank.token" -c "$W/node/node.toml" > /dev/null
"$BIN" admin portal add --id portal --token-out "$W/portal.token" -c "$W/node/node.toml" > /dev/null
BANK=$(cat "$W/bank.token"); PORTAL=$(cat "$W/portal.token")

"$BIN" run -c "$W/node/node.toml" 2> "$W/node.log" &
PIDS+=($!)
for _ in $(seq 50); do curl -sk "https://127.0.0.1:$API/api/v1/categories" -o /dev/null && break; sleep 0.1; done
curl -sk -X POST "https://127.0.0.1:$API/api/v1/consents" -H "Authorization: Bearer $PORTAL" \
  -d "{\"subject\":\"$FIRM\",\"grantee\":\"bank-a\",\"purpose\":\"credit_assessment\",\"categories\":[\"tax\",\"registration\"],\"level\":\"detail\",\"personal_data\":false,\"valid_until\":\"$(date -d '+300 days' +%F)\",\"evidence\":\"sha256:$(printf '%064d' 0)\"}" > /dev/null
URL="https://127.0.0.1:$API/api/v1/subjects/$FIRM/records?purpose=credit_assessment"
curl -sk "$URL" -H "Authorization: Bearer $BANK" -o "$W/body.json"
grep -q '"records"' "$W/body.json" || { echo "api: the query was refused: $(cat "$W/body.json")"; exit 1; }

start_nginx "$W" "$NGX" "$W/node/tls/node.pem" "$W/node/tls/node.key" "$W/body.json"

before=$("$BIN" audit verify --json -c "$W/node/node.toml" | python3 -c 'import json,sys; print(json.load(sys.stdin)["entries"])')
echo "api: detail answer of $(stat -c %s "$W/body.json") bytes; wrk -t2 -c64, ${SECS}s per run, same machine (2 cores)"
# user+system clock ticks of a process and its children (nginx's workers)
cpu_ticks() { for p in "$1" $(pgrep -P "$1"); do cat "/proc/$p/stat"; done | awk '{t += $14 + $15} END {print t}'; }
# With perf: futex calls and context switches per answer, counts that vary
# less than time does here (threads queueing for a lock show in both).
HAVE_PERF=$(command -v perf > /dev/null && perf stat -e context-switches,syscalls:sys_enter_futex -- true > /dev/null 2>&1 && echo 1 || true)
# fdatasync per answer: group commit at work (where the tracepoint exists)
PERF_EVENTS=context-switches,syscalls:sys_enter_futex
perf stat -e syscalls:sys_enter_fdatasync -- true > /dev/null 2>&1 && PERF_EVENTS+=,syscalls:sys_enter_fdatasync
run() {  # name server-pid url [extra wrk args]
  local name=$1 pid=$2 url=$3; shift 3
  local t0; t0=$(cpu_ticks "$pid")
  # The node's writer thread alone (audit group commits): the serial part.
  local wt; wt=$(grep -l '^cn-writer$' /proc/"$pid"/task/*/comm 2> /dev/null | head -1 | xargs -r dirname || true)
  local w0=0; [ -z "$wt" ] || w0=$(awk '{print $14 + $15}' "$wt/stat")
  local pids; pids=$(echo "$pid" $(pgrep -P "$pid") | tr ' ' ',')
  local counter=""
  rm -f "$W/perf.txt"
  if [ -n "$HAVE_PERF" ]; then
    perf stat -x, -e "$PERF_EVENTS" -p "$pids" -o "$W/perf.txt" -- sleep "$SECS" 2> /dev/null &
    counter=$!
  fi
  local recorder=""
  if [ -n "${API_BENCH_PERF:-}" ] && [ "$name" = "${API_BENCH_PERF_RUN:-credit-node (consent+mask+audit)}" ]; then
    perf record -q -F 1999 -g -p "$pids" -o "$API_BENCH_PERF" -- sleep "$SECS" > /dev/null 2>&1 &
    recorder=$!
  fi
  local out; out=$(wrk -t2 -c64 -d"${SECS}s" --latency "$@" "$url" 2>&1)
  [ -z "$counter" ] || wait "$counter" || true
  if [ -n "$recorder" ]; then
    wait "$recorder" || true
    [ -s "$API_BENCH_PERF" ] || echo "api: perf record wrote no profile to $API_BENCH_PERF (perf missing or not permitted?)"
  fi
  local t1; t1=$(cpu_ticks "$pid")
  local w1=0; [ -z "$wt" ] || w1=$(awk '{print $14 + $15}' "$wt/stat")
  local rps; rps=$(awk '/Requests\/sec/ {print $2}' <<< "$out")
  # The server's CPU per answer: what a faster path has to cut.
  local us; us=$(awk -v t="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" -v s="$SECS" -v r="$rps" \
    'BEGIN {if (r > 0) printf "%.0f", 1e6 * t / hz / (r * s)}')
  local writer=""
  [ -z "$wt" ] || writer=$(awk -v t="$((w1 - w0))" -v hz="$(getconf CLK_TCK)" -v s="$SECS" -v r="$rps" \
    'BEGIN {if (r > 0) printf " (writer %.1f)", 1e6 * t / hz / (r * s)}')
  local counts=""
  if [ -n "$HAVE_PERF" ] && [ -s "$W/perf.txt" ]; then
    counts=$(awk -F, -v n="$(awk -v r="$rps" -v s="$SECS" 'BEGIN {print r * s}')" \
      '/context-switches/ {c=$1} /sys_enter_futex/ {f=$1} /sys_enter_fdatasync/ {d=$1}  # "<not counted>" is no figure
       END {if (n > 0 && c ~ /^[0-9]+$/ && f ~ /^[0-9]+$/) printf "   futex %.2f, switches %.2f", f/n, c/n
            if (n > 0 && d ~ /^[0-9]+$/) printf ", fdatasync %.3f", d/n
            if (n > 0 && c ~ /^[0-9]+$/) printf " /answer"}' "$W/perf.txt")
  fi
  printf 'api: %-34s %10s req/s   p50 %8s   p99 %8s   server CPU %5s%s us/answer%s   non-2xx %s\n' "$name" "$rps" \
    "$(awk '$1=="50%" {print $2}' <<< "$out")" "$(awk '$1=="99%" {print $2}' <<< "$out")" "$us" "$writer" "$counts" \
    "$(awk '/Non-2xx/ {print $5}' <<< "$out")"
}
NODE_PID=${PIDS[0]}
run "credit-node (consent+mask+audit)" "$NODE_PID" "$URL" -H "Authorization: Bearer $BANK"
run "nginx (static, same size)" "$(cat "$W/nginx.pid")" "https://127.0.0.1:$NGX/records.json"
if [ -n "${API_BENCH_PATHS:-}" ]; then  # where the node's cost is: the same node on cheaper paths
  # (an unknown path is audited like every API request now: the public
  # category list is the one answer that is not)
  run "credit-node: categories, not audited" "$NODE_PID" "https://127.0.0.1:$API/api/v1/categories"
  run "credit-node: audited refusal (403)" "$NODE_PID" "https://127.0.0.1:$API/api/v1/subjects/$FIRM/records?purpose=marketing" \
    -H "Authorization: Bearer $BANK"
fi
after=$("$BIN" audit verify --json -c "$W/node/node.toml" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["entries"], "ok" if d["ok"] else "BROKEN")')
echo "api: audit log grew from $before to ${after% *} entries, chain ${after#* }"
# Where slow answers come from: the wait for the audit entry's group commit.
curl -s "http://127.0.0.1:$ADMIN/metrics" | awk '
  /^credit_node_audit_commit_seconds_count / {n=$2} /^credit_node_audit_commit_seconds_sum / {s=$2}
  /^credit_node_audit_commit_seconds_max / {m=$2} /^credit_node_audit_commits_over_10ms_total / {o=$2}
  END {if (n) printf "api: audit commit wait: mean %.2f ms, max %.1f ms, over 10 ms: %d of %d answers\n", 1000*s/n, 1000*m, o, n}'

