#!/usr/bin/env bash
# PlaceOrder benchmark: the Lua hot path (Orders:Strategy RedisLua) against the row-lock baseline (PostgresRowLock),
# each as a Release orders-service process on the same PostgreSQL and Redis, driven over gRPC by
# load/FlashDeal.Orders.Load, plus redis-benchmark EVALSHA of place_order.lua as the ceiling. Loopback only; the
# servers started here (the test fixtures' PostgreSQL and Redis) are stopped and deleted on exit.
#
#   load/orders-place-bench.sh [--runs 3] [--buyers 20000] [--stock 1000] [--concurrency 64]
#                              [--ceiling-requests 200000] [--telemetry-off-too] [--no-build]
# --telemetry-off-too also runs the Lua path with metrics and traces on, and with both off (the defaults: metrics on,
# traces only with an exporter), alternating: the instrumentation's cost.
#
# Prints progress, then Markdown tables (docs/benchmarks.md explains the columns). Exit 1 if an invariant failed.
set -euo pipefail

runs=3
buyers=20000
stock=1000
concurrency=64
ceiling=200000
build=1
extra=()

while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --buyers) buyers=$2; shift 2 ;;
    --stock) stock=$2; shift 2 ;;
    --concurrency) concurrency=$2; shift 2 ;;
    --ceiling-requests) ceiling=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --telemetry-off-too) extra+=(--telemetry-off-too); shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
done
command -v redis-benchmark >/dev/null || { echo "redis-benchmark not found: apt-get install -y redis-tools" >&2; exit 1; }

repo=$(cd "$(dirname "$0")/.." && pwd)
if (( build )); then
  dotnet build -c Release -v q --nologo "$repo/load/FlashDeal.Orders.Load" >/dev/null
  dotnet build -c Release -v q --nologo "$repo/tests/FlashDeal.TestInfrastructure" >/dev/null
fi

# The fixtures' servers: PostgreSQL (fsync off) and Redis (no persistence) on free ports; they stop at end of input.
coproc INFRA { dotnet "$repo/tests/FlashDeal.TestInfrastructure/bin/Release/net10.0/FlashDeal.TestInfrastructure.dll"; }
infra_pid=$INFRA_PID infra_in=${INFRA[1]}
cleanup() {
  exec {infra_in}>&- 2>/dev/null || true # end of input: the fixtures stop and delete their servers
  wait "$infra_pid" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

postgres="" redis=""
while IFS= read -r -t 60 line <&"${INFRA[0]}"; do
  case "$line" in
    postgres=*) postgres=${line#postgres=} ;;
    redis=*) redis=${line#redis=} ;;
    ready) break ;;
  esac
done
[[ -n "$postgres" && -n "$redis" ]] || { echo "PostgreSQL/Redis did not start" >&2; exit 1; }

dotnet "$repo/load/FlashDeal.Orders.Load/bin/Release/net10.0/FlashDeal.Orders.Load.dll" \
  --postgres "$postgres" --redis "$redis" --runs "$runs" --buyers "$buyers" --stock "$stock" \
  --concurrency "$concurrency" --ceiling-requests "$ceiling" "${extra[@]}"
