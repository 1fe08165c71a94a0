#!/usr/bin/env bash
# Regenerates the measured tables of docs/benchmarks.md: every comparison side by side, in one run, on this machine.
#
#   orders     PlaceOrder: Redis Lua path vs PostgreSQL row-lock baseline, and redis-benchmark's EVALSHA ceiling on the
#              same Redis (load/orders-place-bench.sh: services started directly, no edge)
#   transport  the deal spike over gRPC vs over REST, both through the nginx edge of `flashdeal up` (2 orders replicas)
#   replicas   the same spike over gRPC through the edge with 1, 2 and 3 orders replicas
#   catalog    product and deal browsing with the catalog's read cache on vs off (Catalog:CacheEnabled)
#   edge       the front door: Kestrel alone, the services, the HAProxy and nginx edges, the load tool, CPU per call of
#              every process (load/front-door-bench.sh; its own section of docs/benchmarks.md)
#   redis      PlaceOrder under local vs fsync vs replica durability, and several deals on 1 vs 3 Redis Cluster
#              primaries (load/redis-bench.sh; its own section of docs/benchmarks.md)
#
#   load/benchmarks.sh [--runs 3] [--only orders,transport,replicas,catalog,edge,redis] [--print] [--no-build] [--keep]
#
# --print writes the Markdown to stdout instead of into docs/benchmarks.md (between the "generated" markers);
# --keep leaves the per-run reports (report.json/md, chart.svg) in load/results/<timestamp>/.
# The mesh runs in its own data folder and ports (26xxx) with rate limits off and cheap password hashing, and is
# stopped and purged after each configuration. Loopback only. Exit 1 when an invariant failed in any run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

runs=3 only="orders,transport,replicas,catalog,edge,redis" print=0 build=1 keep=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --print) print=1; shift ;;
    --no-build) build=0; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "benchmarks.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ $runs =~ ^[1-9][0-9]?$ ]] || { echo "benchmarks.sh: --runs must be 1-99, got '$runs'" >&2; exit 2; }
for s in ${only//,/ }; do
  [[ $s =~ ^(orders|transport|replicas|catalog|edge|redis)$ ]] || { echo "benchmarks.sh: unknown section '$s' in --only" >&2; exit 2; }
done
wants() { [[ ",$only," == *",$1,"* ]]; }
log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
results="$ROOT/load/results/$stamp"
mkdir -p "$results"
failed=0

# --- the mesh, isolated from a developer's own `flashdeal up` ----------------------------------------------------
export FLASHDEAL_DATA="$results/mesh"
export FLASHDEAL_PG_PORT=26432 FLASHDEAL_REDIS_PORT=26379
export FLASHDEAL_AUTH_GRPC_PORT=26051 FLASHDEAL_AUTH_REST_PORT=26081
export FLASHDEAL_CATALOG_GRPC_PORT=26052 FLASHDEAL_CATALOG_REST_PORT=26082
export FLASHDEAL_ORDERS_GRPC_PORT=26061 FLASHDEAL_ORDERS_REST_PORT=26091
export FLASHDEAL_EDGE_REST_PORT=26080 FLASHDEAL_EDGE_GRPC_PORT=26050
export FLASHDEAL_PASSWORD_ITERATIONS=1000 FLASHDEAL_SERVICE_RATE_LIMITS=off FLASHDEAL_EDGE_RATE_LIMITS=off FLASHDEAL_LOCAL_LOAD=1

mesh_up() { # replicas [extra catalog settings]
  FLASHDEAL_CATALOG_SETTINGS="${2:-}" FLASHDEAL_SKIP_BUILD=1 ./flashdeal up --detach --orders-replicas "$1" \
    >"$results/up.log" 2>&1 || { tail -40 "$results/up.log" >&2; exit 1; }
}
mesh_down() { ./flashdeal down --purge >>"$results/up.log" 2>&1 || true; }
trap 'mesh_down' EXIT
trap 'exit 130' INT TERM

spike_users=2000 spike_stock=1000
spike() { # label transport [more load-tool options]
  local out="$results/$1" transport=$2
  shift 2
  ./flashdeal load spike --transport "$transport" "$@" --users "$spike_users" --stock "$spike_stock" --per-user-limit 1 \
    --mode closed --stages "spike:10s:64:hold" --opens-in 3s --user-prefix bench --quiet --out "$out" \
    >"$out.log" 2>&1 || { echo "  $1: load tool exit $? (see $out.log)" >&2; failed=1; }
}
browse() { # label
  local out="$results/$1"
  ./flashdeal load browse --transport grpc --mode closed --stages "browse:10s:32:hold" --quiet --out "$out" \
    >"$out.log" 2>&1 || { echo "  $1: load tool exit $? (see $out.log)" >&2; failed=1; }
}

if (( build )); then
  log "dotnet build (Release)"
  dotnet build FlashDeal.sln -c Release -nologo -v q >/dev/null
fi

if wants orders; then
  log "orders: Lua path vs row-lock baseline vs redis-benchmark ceiling ($runs runs)"
  bash load/orders-place-bench.sh --runs "$runs" --no-build >"$results/orders.txt" 2>&1 || {
    echo "  orders-place-bench.sh failed (see $results/orders.txt)" >&2; failed=1; }
fi

if wants transport || wants replicas; then
  for n in 1 2 3; do
    # 2 replicas serve both sections; 1 also carries the transport section's no-edge run; 3 only the replicas section.
    if ! { [[ $n == 2 ]] || wants replicas || { [[ $n == 1 ]] && wants transport; }; }; then continue; fi
    log "mesh with $n orders replica(s)"
    mesh_up "$n"
    for ((i = 1; i <= runs; i++)); do
      # Alternate the order of transports between runs so neither always runs on a warmer mesh.
      transports=(grpc rest); ((i % 2 == 0)) && transports=(rest grpc)
      for t in "${transports[@]}"; do
        [[ $t == rest && $n != 2 ]] && continue
        [[ $t == rest ]] && ! wants transport && continue
        log "  spike over $t, $n replica(s), run $i/$runs"
        spike "spike-$t-r$n-$i" "$t"
      done
      # The edge's own cost: the same spike with PlaceOrder sent straight to the single replica, bypassing nginx.
      if [[ $n == 1 ]] && wants transport; then
        log "  spike over grpc straight to the replica (no edge), run $i/$runs"
        spike "spike-direct-r1-$i" grpc --orders-grpc "http://127.0.0.1:$FLASHDEAL_ORDERS_GRPC_PORT"
      fi
    done
    mesh_down
  done
fi

if wants catalog; then
  for cache in on off; do
    log "catalog reads with the cache $cache"
    settings=""; [[ $cache == off ]] && settings="Catalog__CacheEnabled=false"
    mesh_up 1 "$settings"
    browse "warm-$cache" # fills the cache and the JIT; not reported
    for ((i = 1; i <= runs; i++)); do
      log "  browse, cache $cache, run $i/$runs"
      browse "browse-$cache-$i"
    done
    mesh_down
  done
fi

if wants edge; then
  log "edge: the front door ($runs runs; load/front-door-bench.sh)"
  edge_args=(--runs "$runs" --no-build)
  ((print)) && edge_args+=(--print)
  bash load/front-door-bench.sh "${edge_args[@]}" >"$results/front-door.md" 2>"$results/front-door.log" || {
    echo "  front-door-bench.sh failed (see $results/front-door.log)" >&2; failed=1; }
  ((print)) && cat "$results/front-door.md"
fi

if wants redis; then
  log "redis: durability and cluster primaries ($runs runs; load/redis-bench.sh)"
  redis_args=(--runs "$runs" --no-build)
  ((print)) && redis_args+=(--print)
  bash load/redis-bench.sh "${redis_args[@]}" >"$results/redis.md" 2>"$results/redis.log" || {
    echo "  redis-bench.sh failed (see $results/redis.log)" >&2; failed=1; }
  ((print)) && cat "$results/redis.md"
fi

# edge and redis write their own sections: nothing left to summarise when only they ran.
if [[ ,$only, =~ ^(,(edge|redis))+,$ ]]; then
  (( keep )) || rm -rf "$results/mesh"
  exit "$failed"
fi

log "summarising"
summary_rc=0
markdown="$(python3 load/benchmarks_summary.py "$results" --runs "$runs" --only "$only" --users "$spike_users" \
  --stock "$spike_stock")" || summary_rc=$?
((summary_rc == 0)) || { echo "  an invariant failed in some run (see the tables)" >&2; failed=1; }
if (( print )); then
  printf '%s\n' "$markdown"
else
  python3 load/generated-section.py "$ROOT/docs/benchmarks.md" load/benchmarks.sh "$markdown"
  log "docs/benchmarks.md updated (results in ${results#"$ROOT/"})"
fi
(( keep )) || rm -rf "$results/mesh"
exit "$failed"
