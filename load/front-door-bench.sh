#!/usr/bin/env bash
# The front door, end to end, in one run on this machine: every figure beside its physical limit, and where the CPU
# went per call.
#
#   1. h2load (4 connections × 16 streams) replays one gRPC call against: Kestrel alone answering the catalog's canned
#      GetDeal reply (load/FlashDeal.Bench.Ceiling), the catalog directly, the HAProxy edge and the nginx edge; and a
#      PlaceOrder on a sold-out deal against the orders replica directly and through both edges. Medians of --runs,
#      alternating the order; CPU µs per call of every process (h2load, edge, service, Redis) for each target.
#   2. The load tool on the same sold-out PlaceOrder (64 virtual users back to back) through the HAProxy edge, against
#      h2load's rate through the same edge.
#   3. The load tool's deal spike (2,000 users, 1,000 units, 64 virtual users, 1 orders replica) through the HAProxy
#      edge, the nginx edge and straight to the replica, with its CPU budget and the invariants.
#   4. Catalog browsing (cached reads, 32 virtual users) with the load tool through the HAProxy edge.
#
#   load/front-door-bench.sh [--runs 3] [--requests 100000] [--seconds 10] [--no-build] [--print] [--keep]
#
# The mesh runs on ports 28xxx in a temporary folder (rate limits off, cheap password hashing, Prometheus off), the
# nginx edge beside the HAProxy one in front of the same processes. Loopback only; every h2load and load-tool run is
# bounded in calls and time. Writes the Markdown into docs/benchmarks.md (between its "front-door-bench.sh" markers)
# unless --print. Exit 1 when an invariant failed or a call failed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

runs=3 requests=100000 seconds=10 build=1 print=0 keep=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --requests) requests=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --print) print=1; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "front-door-bench.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ $runs =~ ^[1-9][0-9]?$ ]] || { echo "front-door-bench.sh: --runs must be 1-99" >&2; exit 2; }
[[ $requests =~ ^[1-9][0-9]{3,6}$ ]] || { echo "front-door-bench.sh: --requests must be 1000-9999999" >&2; exit 2; }
[[ $seconds =~ ^[1-9][0-9]?$ ]] || { echo "front-door-bench.sh: --seconds must be 1-99" >&2; exit 2; }
for tool in h2load haproxy nginx jq python3; do
  command -v "$tool" >/dev/null || { echo "front-door-bench.sh: $tool not found (apt-get install nghttp2-client haproxy nginx jq)" >&2; exit 1; }
done
log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
results="$ROOT/load/results/front-door-$stamp"
mkdir -p "$results"
chmod 755 "$results" # the postgres user must reach the data folder
failed=0 ceiling_pid="" nginx_pid=""

export FLASHDEAL_DATA="$results/mesh"
export FLASHDEAL_PG_PORT=28432 FLASHDEAL_REDIS_PORT=28379
export FLASHDEAL_AUTH_GRPC_PORT=28051 FLASHDEAL_AUTH_REST_PORT=28081
export FLASHDEAL_CATALOG_GRPC_PORT=28052 FLASHDEAL_CATALOG_REST_PORT=28082
export FLASHDEAL_ORDERS_GRPC_PORT=28061 FLASHDEAL_ORDERS_REST_PORT=28091
export FLASHDEAL_EDGE_REST_PORT=28080 FLASHDEAL_EDGE_GRPC_PORT=28050 FLASHDEAL_EDGE_STATUS_PORT=28088
export FLASHDEAL_PASSWORD_ITERATIONS=1000 FLASHDEAL_SERVICE_RATE_LIMITS=off FLASHDEAL_EDGE_RATE_LIMITS=off
export FLASHDEAL_LOCAL_LOAD=1 FLASHDEAL_PROMETHEUS=off FLASHDEAL_EDGE=haproxy
nginx_rest=28180 nginx_grpc=28150

cleanup() {
  [[ -n $ceiling_pid ]] && kill "$ceiling_pid" 2>/dev/null
  [[ -n $nginx_pid ]] && kill "$nginx_pid" 2>/dev/null
  rm -f "$FLASHDEAL_DATA/run/edge-nginx.pid"
  ./flashdeal down --purge >>"$results/up.log" 2>&1 || true
  ((keep)) || rm -rf "$FLASHDEAL_DATA"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ((build)); then
  log "dotnet build (Release)"
  dotnet build FlashDeal.sln -c Release -nologo -v q >"$results/build.log" 2>&1 || { tail -30 "$results/build.log" >&2; exit 1; }
fi
log "flashdeal up: 1 orders replica behind the HAProxy edge"
FLASHDEAL_SKIP_BUILD=1 timeout 300 ./flashdeal up --detach --orders-replicas 1 >"$results/up.log" 2>&1 ||
  { tail -40 "$results/up.log" >&2; exit 1; }
run_dir="$FLASHDEAL_DATA/run"

# The nginx edge in front of the same processes, from the same generator the mesh uses with FLASHDEAL_EDGE=nginx.
log "the nginx edge beside it: REST :$nginx_rest, gRPC :$nginx_grpc"
nginx_dir="$FLASHDEAL_DATA/edge-nginx"
mkdir -p "$nginx_dir/tmp"
EDGE_DIR="$nginx_dir" EDGE_LOGS="$FLASHDEAL_DATA/logs" FLASHDEAL_EDGE_REST_PORT=$nginx_rest FLASHDEAL_EDGE_GRPC_PORT=$nginx_grpc \
  FLASHDEAL_EDGE_STATUS_PORT=0 \
  EDGE_UPSTREAM_AUTH_REST="127.0.0.1:$FLASHDEAL_AUTH_REST_PORT" EDGE_UPSTREAM_AUTH_GRPC="127.0.0.1:$FLASHDEAL_AUTH_GRPC_PORT" \
  EDGE_UPSTREAM_CATALOG_REST="127.0.0.1:$FLASHDEAL_CATALOG_REST_PORT" EDGE_UPSTREAM_CATALOG_GRPC="127.0.0.1:$FLASHDEAL_CATALOG_GRPC_PORT" \
  EDGE_UPSTREAM_ORDERS_REST="127.0.0.1:$FLASHDEAL_ORDERS_REST_PORT" EDGE_UPSTREAM_ORDERS_GRPC="127.0.0.1:$FLASHDEAL_ORDERS_GRPC_PORT" \
  bash scripts/edge/nginx-conf.sh | sed "s|edge-access.log|edge-nginx-access.log|; s|/edge.log|/edge-nginx.log|" >"$nginx_dir/nginx.conf"
setsid nginx -p "$nginx_dir" -c "$nginx_dir/nginx.conf" -e "$FLASHDEAL_DATA/logs/edge-nginx.log" \
  >>"$FLASHDEAL_DATA/logs/edge-nginx.log" 2>&1 </dev/null &
nginx_pid=$!
echo "$nginx_pid" >"$run_dir/edge-nginx.pid" # the load tool's CPU budget reads the mesh's pid files
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$nginx_grpc") 2>/dev/null && break; sleep 0.1; done

# --- the calls h2load replays ---------------------------------------------------------------------------------------
mesh() { sed -n "s/^$1=//p" "$FLASHDEAL_DATA/mesh.env"; }
admin_token="$(curl -fsS -m 10 "http://127.0.0.1:$FLASHDEAL_AUTH_REST_PORT/v1/auth:logIn" -H 'content-type: application/json' \
  -d "{\"email\":\"$(mesh FLASHDEAL_ADMIN_EMAIL)\",\"password\":\"$(mesh FLASHDEAL_ADMIN_PASSWORD)\"}" | jq -r .token.accessToken)"
buyer_token="$(curl -fsS -m 10 "http://127.0.0.1:$FLASHDEAL_AUTH_REST_PORT/v1/auth:logIn" -H 'content-type: application/json' \
  -d '{"email":"ada@flashdeal.local","password":"flashdeal-customer-demo"}' | jq -r .token.accessToken)"
[[ $admin_token != null && $buyer_token != null ]] || { echo "front-door-bench.sh: cannot log in" >&2; exit 1; }

# A deal of one unit, opened and sold: every later PlaceOrder is the sold-out answer (the replica's in-process flag).
product="$(sed -n 's/^PRODUCT_ID=//p' "$FLASHDEAL_DATA/demo.env")"
start="$(date -u -d '+2 seconds' +%Y-%m-%dT%H:%M:%SZ)" end="$(date -u -d '+2 hours' +%Y-%m-%dT%H:%M:%SZ)"
sold_out="$(curl -fsS -m 10 "http://127.0.0.1:$FLASHDEAL_CATALOG_REST_PORT/v1/deals" -H "authorization: Bearer $admin_token" \
  -H 'content-type: application/json' -d "{\"deal\":{\"productId\":\"$product\",\"title\":\"front-door bench\",
  \"dealPriceCents\":\"100\",\"stock\":1,\"perUserLimit\":1,\"startTime\":\"$start\",\"endTime\":\"$end\"}}" | jq -r .deal.dealId)"
sleep 3
for attempt in $(seq 20); do
  out="$(curl -sS -m 10 "http://127.0.0.1:$FLASHDEAL_ORDERS_REST_PORT/v1/orders" -H "authorization: Bearer $admin_token" \
    -H 'content-type: application/json' -d "{\"dealId\":\"$sold_out\",\"quantity\":1,\"idempotencyKey\":\"sell-$attempt\"}")"
  jq -e '.order.orderId' <<<"$out" >/dev/null && break
  sleep 0.5
done
jq -e '.order.orderId' <<<"$out" >/dev/null || { echo "front-door-bench.sh: could not sell the unit: $out" >&2; exit 1; }

pb_string() { # field value → a length-delimited protobuf field (values here are under 128 bytes)
  printf "\\x$(printf %02x $(($1 << 3 | 2)))\\x$(printf %02x ${#2})%s" "$2"
}
grpc_frame() { # message bytes on stdin → a gRPC frame on stdout
  local body; body="$(mktemp)"; cat >"$body"
  printf "\\x00\\x00\\x00\\x$(printf %02x $(($(stat -c %s "$body") >> 8)))\\x$(printf %02x $(($(stat -c %s "$body") & 255)))"
  cat "$body"; rm -f "$body"
}
deal="$(sed -n 's/^DEAL_ID=//p' "$FLASHDEAL_DATA/demo.env")"
pb_string 1 "$deal" | grpc_frame >"$results/get-deal.bin"
{ pb_string 1 "$sold_out"; printf '\x10\x01'; pb_string 3 "front-door-bench"; } | grpc_frame >"$results/place-order.bin"
get_deal=/flashdeal.catalog.v1.CatalogService/GetDeal place_order=/flashdeal.orders.v1.OrderService/PlaceOrder

# The catalog's real reply, for Kestrel alone to send back.
curl -sS --http2-prior-knowledge -m 10 -X POST -H 'content-type: application/grpc' -H 'te: trailers' \
  --data-binary @"$results/get-deal.bin" -o "$results/get-deal.reply" "http://127.0.0.1:$FLASHDEAL_CATALOG_GRPC_PORT$get_deal"
[[ -s $results/get-deal.reply ]] || { echo "front-door-bench.sh: GetDeal gave no reply" >&2; exit 1; }
reply_status="$(curl -sS --http2-prior-knowledge -m 10 -X POST -H 'content-type: application/grpc' -H 'te: trailers' \
  -H "authorization: Bearer $buyer_token" --data-binary @"$results/place-order.bin" -D - -o /dev/null \
  "http://127.0.0.1:$FLASHDEAL_ORDERS_GRPC_PORT$place_order" | tr -d '\r' | sed -n 's/^grpc-status: //p')"
[[ $reply_status == 9 ]] || { echo "front-door-bench.sh: PlaceOrder on the sold-out deal answered grpc-status '$reply_status', not 9" >&2; exit 1; }

ceiling_dll=load/FlashDeal.Bench.Ceiling/bin/Release/net10.0/FlashDeal.Bench.Ceiling.dll
[[ -f $ceiling_dll ]] || dotnet build load/FlashDeal.Bench.Ceiling -c Release -nologo -v q >>"$results/build.log"
dotnet "$ceiling_dll" --path "$get_deal" --reply "$results/get-deal.reply" >"$results/ceiling.out" 2>&1 &
ceiling_pid=$!
for _ in $(seq 100); do grep -q '^gRPC ' "$results/ceiling.out" && break; sleep 0.1; done
ceiling_url="$(sed -n 's/^gRPC //p' "$results/ceiling.out")"
[[ -n $ceiling_url ]] || { echo "front-door-bench.sh: the Kestrel-alone server did not start" >&2; cat "$results/ceiling.out" >&2; exit 1; }

# --- h2load with a CPU budget ---------------------------------------------------------------------------------------
# CPU ticks (1/100 s) of each mesh process and its children, and of the ceiling server: "name ticks" lines.
cpu_snapshot() {
  python3 - "$run_dir" "$ceiling_pid" <<'PY'
import os, sys
run, ceiling = sys.argv[1], int(sys.argv[2])
stats = {}
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        text = open(f"/proc/{pid}/stat").read()
    except OSError:
        continue
    fields = text[text.rindex(")") + 2:].split()
    stats[int(pid)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
children = {}
for pid, (parent, _) in stats.items():
    children.setdefault(parent, []).append(pid)
def tree(root):
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            total += stats[pid][1]
            todo += children.get(pid, [])
    return total
roots = {f[:-4]: int(open(os.path.join(run, f)).read()) for f in os.listdir(run) if f.endswith(".pid")}
roots["kestrel-alone"] = ceiling
for name, pid in sorted(roots.items()):
    print(name, tree(pid))
PY
}

# One h2load run: prints "calls/s failed client-ticks" and writes the per-process ticks of the run to $2.ticks.
h2() { # url out-prefix frame [token]
  local url=$1 out=$2 frame=$3 token=${4:-} auth=()
  [[ -n $token ]] && auth=(-H "authorization: Bearer $token")
  cpu_snapshot >"$out.before"
  /usr/bin/time -f '%U %S' -o "$out.time" timeout 300 h2load -n "$requests" -c 4 -m 16 -d "$frame" \
    -H 'content-type: application/grpc' -H 'te: trailers' "${auth[@]}" "$url" >"$out.h2load" 2>&1 || true
  cpu_snapshot >"$out.after"
  join "$out.before" "$out.after" | awk '{ print $1, $3 - $2 }' >"$out.ticks"
  awk '{ printf "h2load %d\n", ($1 + $2) * 100 }' "$out.time" >>"$out.ticks"
  awk '/^finished in/ { rps = $4 } /requests:.*succeeded/ { for (i = 1; i <= NF; i++) if ($(i+1) ~ /^(failed|errored)/) bad += $i }
       END { printf "%s %d\n", rps, bad }' "$out.h2load"
}

declare -A url=(
  [get_deal:kestrel-alone]="$ceiling_url$get_deal"
  [get_deal:direct]="http://127.0.0.1:$FLASHDEAL_CATALOG_GRPC_PORT$get_deal"
  [get_deal:haproxy]="http://127.0.0.1:$FLASHDEAL_EDGE_GRPC_PORT$get_deal"
  [get_deal:nginx]="http://127.0.0.1:$nginx_grpc$get_deal"
  [place_order:direct]="http://127.0.0.1:$FLASHDEAL_ORDERS_GRPC_PORT$place_order"
  [place_order:haproxy]="http://127.0.0.1:$FLASHDEAL_EDGE_GRPC_PORT$place_order"
  [place_order:nginx]="http://127.0.0.1:$nginx_grpc$place_order"
)
targets=(get_deal:kestrel-alone get_deal:direct get_deal:haproxy get_deal:nginx place_order:direct place_order:haproxy place_order:nginx)
frame_of() { if [[ $1 == get_deal:* ]]; then echo "$results/get-deal.bin"; else echo "$results/place-order.bin"; fi; }
token_of() { if [[ $1 == place_order:* ]]; then echo "$buyer_token"; fi; }

log "warm-up: $requests calls to each target (tiered JIT and PGO need traffic)"
for target in "${targets[@]}"; do h2 "${url[$target]}" "$results/warm-${target/:/-}" "$(frame_of "$target")" "$(token_of "$target")" >/dev/null; done
for ((run = 1; run <= runs; run++)); do
  order=("${targets[@]}")
  ((run % 2 == 0)) && mapfile -t order < <(printf '%s\n' "${targets[@]}" | tac)
  for target in "${order[@]}"; do
    read -r rps bad < <(h2 "${url[$target]}" "$results/h2-${target/:/-}-$run" "$(frame_of "$target")" "$(token_of "$target")")
    ((bad == 0)) || { echo "  $target run $run: $bad calls failed (see $results/h2-${target/:/-}-$run.h2load)" >&2; failed=1; }
    log "h2load run $run/$runs $target: $rps calls/s"
  done
done

# --- the load tool ---------------------------------------------------------------------------------------------------
load() { # label [options]: one load-tool run, report in $results/<label>/
  local label=$1; shift
  ./flashdeal load "$@" --quiet --out "$results/$label" >"$results/$label.log" 2>&1 ||
    { echo "  $label: load tool exit $? (see $results/$label.log)" >&2; failed=1; }
}
spike_options=(spike --transport grpc --users 2000 --stock 1000 --per-user-limit 1 --mode closed
  --stages "spike:${seconds}s:64:hold" --opens-in 3s)
grpc_haproxy="http://127.0.0.1:$FLASHDEAL_EDGE_GRPC_PORT" grpc_nginx="http://127.0.0.1:$nginx_grpc"
log "load tool warm-up spike (not reported)"
load warm-spike "${spike_options[@]}" --user-prefix warm
for ((run = 1; run <= runs; run++)); do
  log "load tool run $run/$runs: sold-out PlaceOrder through HAProxy; spikes through HAProxy, nginx, direct; browse"
  load "flood-haproxy-$run" spike --transport grpc --deal "$sold_out" --users 2000 --per-user-limit 1 --mode closed \
    --stages "flood:${seconds}s:64:hold" --poll-fraction 0 --repeat-fraction 0 --user-prefix "flood$run"
  edges=(haproxy nginx direct)
  ((run % 2 == 0)) && edges=(direct nginx haproxy)
  for edge in "${edges[@]}"; do
    case $edge in
      haproxy) load "spike-haproxy-$run" "${spike_options[@]}" --grpc "$grpc_haproxy" --user-prefix "h$run" ;;
      nginx) load "spike-nginx-$run" "${spike_options[@]}" --grpc "$grpc_nginx" --user-prefix "n$run" ;;
      direct) load "spike-direct-$run" "${spike_options[@]}" --grpc "$grpc_haproxy" \
        --orders-grpc "http://127.0.0.1:$FLASHDEAL_ORDERS_GRPC_PORT" --user-prefix "d$run" ;;
    esac
  done
  load "browse-haproxy-$run" browse --transport grpc --grpc "$grpc_haproxy" --mode closed --stages "browse:${seconds}s:32:hold"
done

log "summarising"
summary_rc=0
markdown="$(python3 load/front_door_summary.py "$results" --runs "$runs" --requests "$requests" --seconds "$seconds")" ||
  summary_rc=$?
((summary_rc == 0)) || { echo "  an invariant failed in some run (see the tables)" >&2; failed=1; }
if ((print)); then
  printf '%s\n' "$markdown"
else
  python3 load/generated-section.py "$ROOT/docs/benchmarks.md" load/front-door-bench.sh "$markdown"
  log "docs/benchmarks.md updated (results in ${results#"$ROOT/"})"
fi
exit "$failed"
