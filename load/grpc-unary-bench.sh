#!/usr/bin/env bash
# A service's unary gRPC call against its physical ceiling, under h2load: the catalog's GetDeal (a cached deal) straight
# to the catalog's h2c port, the same call answered by bare Grpc.AspNetCore (AddGrpc() and the generated base class
# returning the reply the catalog sent, nothing of FlashDeal's wiring), and by Kestrel alone writing those reply bytes
# (both load/FlashDeal.Bench.Ceiling). service/ceiling is what the gRPC stack and FlashDeal's handler cost together;
# bare/ceiling is the gRPC framework's share.
#
#   load/grpc-unary-bench.sh [--checkout DIR] [--runs 3] [--requests 200000] [--connections 4] [--streams 16]
#                            [--warmup 100000] [--no-build] [--label NAME]
#
# --checkout runs the services of another checkout of FlashDeal (e.g. a `git worktree` of an older commit) with this
# checkout's ceiling server and script: before/after comparisons on one machine in one session.
# The mesh of that checkout is started in a temporary data folder on ports 27xxx with rate limits off and ASP.NET Core
# logging at Warning, and stopped on exit. Loopback only; every h2load run is bounded in requests and time.
# Prints one Markdown table row: medians over the runs of req/s and mean latency per target, and the ratios.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

checkout=$ROOT runs=3 requests=200000 connections=4 streams=16 warmup=100000 build=1 label=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --checkout) checkout=$(cd "$2" && pwd); shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --requests) requests=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --streams) streams=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --label) label=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "grpc-unary-bench.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ $runs =~ ^[1-9][0-9]?$ ]] || { echo "grpc-unary-bench.sh: --runs must be 1-99" >&2; exit 2; }
command -v h2load >/dev/null || { echo "grpc-unary-bench.sh: h2load not found (apt-get install -y nghttp2-client)" >&2; exit 1; }
[[ -x $checkout/flashdeal ]] || { echo "grpc-unary-bench.sh: $checkout is not a FlashDeal checkout" >&2; exit 2; }
label=${label:-$(git -C "$checkout" rev-parse --short=12 HEAD 2>/dev/null || echo "$checkout")}
log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

work=$(mktemp -d)
chmod 755 "$work" # the postgres user must reach the data folder
ceiling_pid="" bare_pid=""
export FLASHDEAL_DATA="$work/mesh"
export FLASHDEAL_PG_PORT=27432 FLASHDEAL_REDIS_PORT=27379
export FLASHDEAL_AUTH_GRPC_PORT=27051 FLASHDEAL_AUTH_REST_PORT=27081
export FLASHDEAL_CATALOG_GRPC_PORT=27052 FLASHDEAL_CATALOG_REST_PORT=27082
export FLASHDEAL_ORDERS_GRPC_PORT=27061 FLASHDEAL_ORDERS_REST_PORT=27091
export FLASHDEAL_EDGE_REST_PORT=27080 FLASHDEAL_EDGE_GRPC_PORT=27050
export FLASHDEAL_PASSWORD_ITERATIONS=1000 FLASHDEAL_SERVICE_RATE_LIMITS=off FLASHDEAL_EDGE_RATE_LIMITS=off
# Both stacks log every request at Information in the local mesh by default; the benchmark measures the call, not the log.
quiet="Logging__LogLevel__Default=Warning Logging__LogLevel__Microsoft.AspNetCore=Warning"
export FLASHDEAL_CATALOG_SETTINGS="$quiet" FLASHDEAL_AUTH_SETTINGS="$quiet" FLASHDEAL_ORDERS_SETTINGS="$quiet"

cleanup() {
  [[ -n $ceiling_pid ]] && kill "$ceiling_pid" 2>/dev/null
  [[ -n $bare_pid ]] && kill "$bare_pid" 2>/dev/null
  (cd "$checkout" && ./flashdeal down --purge >/dev/null 2>&1) || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ceiling_dll=$ROOT/load/FlashDeal.Bench.Ceiling/bin/Release/net10.0/FlashDeal.Bench.Ceiling.dll
if ((build)); then
  log "dotnet build (Release): the ceiling server, and the services of $checkout"
  dotnet build "$ROOT/load/FlashDeal.Bench.Ceiling" -c Release -nologo -v q >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }
else
  export FLASHDEAL_SKIP_BUILD=1
fi
log "flashdeal up in $checkout (1 orders replica)"
(cd "$checkout" && timeout 300 ./flashdeal up --detach --orders-replicas 1) >"$work/up.log" 2>&1 ||
  { tail -n 30 "$work/up.log" >&2; exit 1; }
deal=$(sed -n 's/^DEAL_ID=//p' "$FLASHDEAL_DATA/demo.env")
method=/flashdeal.catalog.v1.CatalogService/GetDeal

# GetDealRequest { deal_id (1) = "<uuid>" } as one gRPC frame.
frame=$work/get-deal.bin
printf '\x00\x00\x00\x00\x26\x0a\x24%s' "$deal" >"$frame"
catalog=http://127.0.0.1:$FLASHDEAL_CATALOG_GRPC_PORT
headers=$(curl -s --http2-prior-knowledge -m 10 -X POST -H 'content-type: application/grpc' -H 'te: trailers' \
  --data-binary @"$frame" -D "$work/reply.headers" -o "$work/reply.bin" "$catalog$method" -w '%{http_code}')
if ! grep -qi '^grpc-status: 0' "$work/reply.headers" || [[ $headers != 200 || ! -s $work/reply.bin ]]; then
  echo "grpc-unary-bench.sh: GetDeal did not answer OK:" >&2; cat "$work/reply.headers" >&2; exit 1
fi

dotnet "$ceiling_dll" --path "$method" --reply "$work/reply.bin" >"$work/ceiling.out" 2>&1 &
ceiling_pid=$!
dotnet "$ceiling_dll" --path "$method" --reply "$work/reply.bin" --grpc >"$work/bare.out" 2>&1 &
bare_pid=$!
started() { # name: the address the server printed, after up to 10 s
  for _ in $(seq 100); do grep -q '^gRPC ' "$work/$1.out" && break; sleep 0.1; done
  sed -n 's/^gRPC //p' "$work/$1.out"
}
ceiling=$(started ceiling) bare=$(started bare)
[[ -n $ceiling ]] || { echo "grpc-unary-bench.sh: the ceiling server did not start:" >&2; cat "$work/ceiling.out" >&2; exit 1; }
[[ -n $bare ]] || { echo "grpc-unary-bench.sh: the bare Grpc.AspNetCore server did not start:" >&2; cat "$work/bare.out" >&2; exit 1; }

# h2load RESULT: prints "req/s mean-latency-ms failed"; a run with any failed or errored request counts as failed.
h2() { # url count
  local out
  out=$(timeout 120 h2load -n "$2" -c "$connections" -m "$streams" -d "$frame" -H 'content-type: application/grpc' \
    -H 'te: trailers' "$1$method" 2>&1) || { echo "$out" >&2; return 1; }
  awk '/^finished in/ { rps = $4 }
       /requests:.*succeeded/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^failed/) failed = $i; if ($(i+1) ~ /^errored/) errored = $i } }
       /^time for request:/ { mean = $6; unit = mean; sub(/[0-9.]+/, "", unit); sub(/[a-z]+$/, "", mean);
                              if (unit == "us") mean /= 1000; else if (unit == "s") mean *= 1000 }
       END { printf "%s %.3f %d\n", rps, mean, failed + errored }' <<<"$out"
}

log "warm-up: $warmup calls to each (tiered JIT and PGO need traffic)"
h2 "$catalog" "$warmup" >/dev/null
h2 "$bare" "$warmup" >/dev/null
h2 "$ceiling" "$warmup" >/dev/null
declare -A rps=() lat=() url=([service]=$catalog [bare]=$bare [ceiling]=$ceiling)
for ((run = 1; run <= runs; run++)); do
  targets=(service bare ceiling)
  ((run % 2 == 0)) && targets=(ceiling bare service) # alternate the order: drift on a shared box hits every target
  for target in "${targets[@]}"; do
    read -r r l failed < <(h2 "${url[$target]}" "$requests")
    ((failed == 0)) || { echo "grpc-unary-bench.sh: $failed failed requests against $target" >&2; exit 1; }
    rps[$target]+="$r " lat[$target]+="$l "
    log "run $run/$runs $target: $r req/s, mean $l ms"
  done
done

median() { tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
service_rps=$(median "${rps[service]}") bare_rps=$(median "${rps[bare]}") ceiling_rps=$(median "${rps[ceiling]}")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "| checkout | load | service req/s | mean ms | bare Grpc.AspNetCore req/s | mean ms | Kestrel alone req/s | mean ms | service / Kestrel | bare / Kestrel | service / bare |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '| %s | %s × %s, %s calls, median of %s | %.0f | %.2f | %.0f | %.2f | %.0f | %.2f | %s | %s | %s |\n' "$label" \
  "$connections" "$streams" "$requests" "$runs" "$service_rps" "$(median "${lat[service]}")" "$bare_rps" \
  "$(median "${lat[bare]}")" "$ceiling_rps" "$(median "${lat[ceiling]}")" "$(ratio "$service_rps" "$ceiling_rps")" \
  "$(ratio "$bare_rps" "$ceiling_rps")" "$(ratio "$service_rps" "$bare_rps")"
