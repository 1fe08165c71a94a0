#!/usr/bin/env bash
# The catalog's hot lists with their cache and without, side by side in one run (./flashdeal bench lists):
#
#   ListDeals (live + upcoming, a page of 10) and the first ListProducts page (--page-size), p50/p95 at --vus virtual
#   users over gRPC, against two catalog processes on the same PostgreSQL and Redis: the mesh's own (Catalog:CacheEnabled,
#   the default) and a second one started here with Catalog__CacheEnabled=false. The two are rotated between runs (odd
#   runs cached first, even runs uncached first) and the medians over the runs are compared as ratios. Then the bytes of
#   a 100-item ListProducts page over REST as identity, gzip and brotli (what curl receives, not decoded).
#
#   load/lists-bench.sh [--runs 3] [--vus 100] [--duration 10s] [--page-size 20] [--products 120] [--no-build]
#                       [--print] [--keep]
#
# It starts its own mesh (./flashdeal up --detach) in a scratch FLASHDEAL_DATA with every port in 17000-17999 (never the
# mesh's defaults; Prometheus off, service rate limits off, one orders replica), seeds --products products and a few
# deals, and stops and deletes everything on exit, Ctrl-C included (--keep leaves the data folder and the reports).
# Writes the Markdown into docs/benchmarks.md (between its "lists-bench.sh" markers) unless --print.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

runs=3 vus=100 duration=10s page_size=20 products=120 build=1 print=0 keep=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --vus) vus=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --page-size) page_size=$2; shift 2 ;;
    --products) products=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --print) print=1; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "lists-bench.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ $runs =~ ^[1-9][0-9]?$ ]] || { echo "lists-bench.sh: --runs must be 1-99" >&2; exit 2; }
[[ $vus =~ ^[1-9][0-9]{0,3}$ ]] || { echo "lists-bench.sh: --vus must be 1-9999" >&2; exit 2; }
[[ $duration =~ ^[1-9][0-9]*(s|m)$ ]] || { echo "lists-bench.sh: --duration must be like 10s or 1m" >&2; exit 2; }
[[ $page_size =~ ^[1-9][0-9]{0,2}$ ]] || { echo "lists-bench.sh: --page-size must be 1-999" >&2; exit 2; }
[[ $products =~ ^[1-9][0-9]{1,3}$ ]] || { echo "lists-bench.sh: --products must be 10-9999" >&2; exit 2; }
for program in curl jq python3; do
  command -v "$program" >/dev/null || { echo "lists-bench.sh: $program not found" >&2; exit 1; }
done
log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { echo "lists-bench.sh: $*" >&2; exit 1; }

# --- a mesh of our own on 17xxx ---------------------------------------------------------------------------------------
export FLASHDEAL_DATA="${FLASHDEAL_BENCH_DATA:-/tmp/lists-bench-data}"
export FLASHDEAL_PG_PORT=17432 FLASHDEAL_REDIS_PORT=17379 FLASHDEAL_AUTH_GRPC_PORT=17051 FLASHDEAL_AUTH_REST_PORT=17081
export FLASHDEAL_CATALOG_GRPC_PORT=17052 FLASHDEAL_CATALOG_REST_PORT=17082 FLASHDEAL_ORDERS_GRPC_PORT=17053
export FLASHDEAL_ORDERS_REST_PORT=17083 FLASHDEAL_EDGE_GRPC_PORT=17050 FLASHDEAL_EDGE_REST_PORT=17080
export FLASHDEAL_EDGE_STATUS_PORT=17180 FLASHDEAL_PROMETHEUS_PORT=17090 FLASHDEAL_REDIS_EXPORTER_PORT=17121
export FLASHDEAL_PG_EXPORTER_PORT=17187 FLASHDEAL_NGINX_EXPORTER_PORT=17113
export FLASHDEAL_PROMETHEUS=off FLASHDEAL_SERVICE_RATE_LIMITS=off FLASHDEAL_EDGE_RATE_LIMITS=off FLASHDEAL_ORDERS_REPLICAS=1
export FLASHDEAL_PASSWORD_ITERATIONS=1000 FLASHDEAL_LOG_FORMAT=json
unset FLASHDEAL_POSTGRES FLASHDEAL_REDIS FLASHDEAL_CATALOG_SETTINGS
uncached_grpc=17062 uncached_rest=17092
for port in 17432 17379 17051 17081 17052 17082 17053 17083 17050 17080 17180 $uncached_grpc $uncached_rest; do
  ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || die "port $port is taken: another bench or mesh is running"
done

results="$ROOT/load/results/lists-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$results"
uncached_pid="" mesh_up=0
cleanup() {
  if [[ -n $uncached_pid ]]; then kill "$uncached_pid" 2>/dev/null || true; wait "$uncached_pid" 2>/dev/null || true; fi
  if ((mesh_up)); then
    if ((keep)); then ./flashdeal down >/dev/null 2>&1 || true; else ./flashdeal down --purge >/dev/null 2>&1 || true; fi
  fi
  if ((keep)); then echo "lists-bench.sh: kept $FLASHDEAL_DATA and ${results#"$ROOT/"}" >&2; else rm -rf "$results"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ((build)); then
  log "dotnet build (Release): the services and the load tool"
  dotnet build load/FlashDeal.LoadTool -c Release -nologo -v q >/dev/null
else
  export FLASHDEAL_SKIP_BUILD=1
fi
log "./flashdeal up --detach (FLASHDEAL_DATA=$FLASHDEAL_DATA, ports 17xxx)"
mesh_up=1
./flashdeal up --detach >"$results/up.log" 2>&1 || { tail -30 "$results/up.log" >&2; die "the mesh did not start"; }
export FLASHDEAL_SKIP_BUILD=1

mesh_value() { sed -n "s/^$1=//p" "$FLASHDEAL_DATA/mesh.env"; }
postgres="$(mesh_value FLASHDEAL_POSTGRES)" redis="$(mesh_value FLASHDEAL_REDIS)"
admin_email="$(mesh_value FLASHDEAL_ADMIN_EMAIL)" admin_password="$(mesh_value FLASHDEAL_ADMIN_PASSWORD)"
catalog_rest="http://127.0.0.1:$FLASHDEAL_CATALOG_REST_PORT" auth_rest="http://127.0.0.1:$FLASHDEAL_AUTH_REST_PORT"

# --- the second catalog: the same build, stores and settings as the mesh's, its cache off -----------------------------
log "catalog without its cache on 127.0.0.1:$uncached_grpc (gRPC), :$uncached_rest (REST)"
dll="$ROOT/services/Catalog/FlashDeal.Catalog/bin/Release/net10.0/FlashDeal.Catalog.dll"
env ASPNETCORE_ENVIRONMENT=Development DOTNET_NOLOGO=1 ASPNETCORE_CONTENTROOT="$(dirname "$dll")" \
  "ConnectionStrings__Postgres=$postgres" "ConnectionStrings__Redis=$redis" Service__BindAddress=127.0.0.1 \
  "Service__GrpcPort=$uncached_grpc" "Service__RestPort=$uncached_rest" Database__MigrateOnStart=false Logging__Format=json \
  "Auth__JwksUrl=$auth_rest/.well-known/jwks.json" RateLimits__Enabled=false Catalog__CacheEnabled=false \
  dotnet "$dll" >"$results/catalog-uncached.log" 2>&1 &
uncached_pid=$!
tries=0
until curl -fsS -m 2 "http://127.0.0.1:$uncached_rest/readyz" >/dev/null 2>&1; do
  kill -0 "$uncached_pid" 2>/dev/null || { tail -20 "$results/catalog-uncached.log" >&2; die "the uncached catalog exited"; }
  ((++tries > 200)) && die "the uncached catalog is not ready"
  sleep 0.3
done

# --- seed: products for a full page, deals live and upcoming -----------------------------------------------------------
log "seeding $products products and 6 deals"
token="$(curl -fsS -m 10 -H 'content-type: application/json' "$auth_rest/v1/auth:logIn" \
  -d "{\"email\":\"$admin_email\",\"password\":\"$admin_password\"}" | jq -r .token.accessToken)"
[[ -n $token && $token != null ]] || die "cannot log in as the admin"
product_ids=()
for ((i = 1; i <= products; i++)); do
  id="$(curl -fsS -m 10 -H 'content-type: application/json' -H "authorization: Bearer $token" "$catalog_rest/v1/products" \
    -d "{\"product\":{\"name\":\"Bench product $i with a name of ordinary length\",\"description\":\"A product description of the length shops write: materials, sizes, what is in the box, care instructions and a line about delivery.\",\"category\":\"bench\",\"listPriceCents\":\"$((1000 + i))\",\"currency\":\"USD\"}}" |
    jq -r .product.productId)" || die "creating product $i failed"
  product_ids+=("$id")
done
for ((i = 0; i < 6; i++)); do
  # Three live (opening in 2 s) and three upcoming (in an hour).
  if ((i < 3)); then start="$(date -u -d '+2 seconds' +%Y-%m-%dT%H:%M:%SZ)"; else start="$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)"; fi
  end="$(date -u -d '+3 hours' +%Y-%m-%dT%H:%M:%SZ)"
  curl -fsS -m 10 -o /dev/null -H 'content-type: application/json' -H "authorization: Bearer $token" "$catalog_rest/v1/deals" \
    -d "{\"deal\":{\"productId\":\"${product_ids[$i]}\",\"title\":\"Bench deal $i\",\"dealPriceCents\":\"500\",\"stock\":100,\"perUserLimit\":1,\"startTime\":\"$start\",\"endTime\":\"$end\"}}" ||
    die "creating deal $i failed"
done
sleep 3

# --- the runs, rotated ------------------------------------------------------------------------------------------------
tool=(dotnet load/FlashDeal.LoadTool/bin/Release/net10.0/flashdeal-load.dll)
run_variant() { # variant port run
  "${tool[@]}" lists --catalog-grpc "http://127.0.0.1:$2" --mode closed --vus "$vus" --duration "$duration" \
    --page-size "$page_size" --quiet --cpu-budget off --out "$results/$1-$3" >"$results/$1-$3.txt" 2>&1 ||
    { tail -30 "$results/$1-$3.txt" >&2; die "run $3 ($1) failed"; }
}
for ((r = 1; r <= runs; r++)); do
  if ((r % 2)); then order=(cached uncached); else order=(uncached cached); fi
  for variant in "${order[@]}"; do
    log "run $r/$runs: $variant ($vus users, $duration)"
    if [[ $variant == cached ]]; then run_variant cached "$FLASHDEAL_CATALOG_GRPC_PORT" "$r"; else run_variant uncached "$uncached_grpc" "$r"; fi
  done
done

# --- bytes of a 100-item page -----------------------------------------------------------------------------------------
bytes() { curl -sS -m 10 -o /dev/null -w '%{size_download} %header{content-encoding}\n' -H "accept-encoding: $1" "$catalog_rest/v1/products?pageSize=100"; }
read -r identity_bytes _ < <(bytes identity)
read -r gzip_bytes gzip_encoding < <(bytes gzip)
read -r br_bytes br_encoding < <(bytes br)
items="$(curl -fsS -m 10 "$catalog_rest/v1/products?pageSize=100" | jq '.products | length')"

# --- the Markdown -----------------------------------------------------------------------------------------------------
read -r load1 load5 load15 _ </proc/loadavg
options="--runs $runs"
[[ $vus != 100 ]] && options+=" --vus $vus"
[[ $duration != 10s ]] && options+=" --duration $duration"
[[ $page_size != 20 ]] && options+=" --page-size $page_size"
[[ $products != 120 ]] && options+=" --products $products"
markdown="_Generated by \`load/lists-bench.sh $options\` on $(date -u '+%Y-%m-%d %H:%M') UTC, commit \
$(git rev-parse --short=7 HEAD 2>/dev/null || echo unknown), $(nproc) cores, load average $load1 $load5 $load15 at the end; \
the load tool, both catalogs, PostgreSQL and Redis on the same machine._

$(python3 load/lists_bench_summary.py "$results" "$runs" "$vus" "$duration" "$page_size")

**A 100-item ListProducts page over REST** ($items products, the bytes on the wire): identity $identity_bytes B, \
gzip $gzip_bytes B (${gzip_encoding:-none}, $(python3 -c "print(f'{$gzip_bytes/$identity_bytes:.1%}')") of identity), \
brotli $br_bytes B (${br_encoding:-none}, $(python3 -c "print(f'{$br_bytes/$identity_bytes:.1%}')"))."

if ((print)); then
  printf '%s\n' "$markdown"
else
  python3 load/generated-section.py "$ROOT/docs/benchmarks.md" load/lists-bench.sh "$markdown"
  log "docs/benchmarks.md updated"
fi
