#!/usr/bin/env bash
# Redis set-ups under PlaceOrder's Lua path, side by side in one run (load/FlashDeal.Orders.Load durability | cluster),
# every call accepted (the path both questions are about: a sold-out call writes nothing):
#
#   durability  one orders process per Redis, the three rotated between runs: local (AOF, appendfsync everysec), fsync
#               (appendfsync always) and replica (a primary with one replica; Orders:Durability=Replica, WAIT 1)
#   cluster     --deals deals sold at once through one orders process on a Redis Cluster of 3 primaries: every deal's
#               slot on one primary vs one deal per primary; then redis-benchmark's EVALSHA on the same layouts and on
#               one deal alone (the per-deal ceiling: one Redis core)
#   coupons     (only when asked: --only coupons, or ./flashdeal bench coupons) ClaimCoupon through one orders process,
#               --buyers users claiming a campaign of as many coupons, vs redis-benchmark's EVALSHA of claim_coupon.lua
#               on the same Redis (granted and exhausted)
#
#   load/redis-bench.sh [--runs 3] [--only durability,cluster] [--buyers 30000] [--deals 3] [--concurrency 64]
#                       [--ceiling-requests 100000] [--no-build] [--print] [--keep]
#
# PostgreSQL (fsync off) comes from the test fixtures (tests/FlashDeal.TestInfrastructure); the Redis servers are started
# here, 127.0.0.1 only, on free ports in 20000-25999 (a cluster node's bus port, + 10000, free too), with their AOFs in
# load/results/redis-<time>/ (on the repository's disk, not a tmpfs: fsync must reach a disk), stopped and deleted on
# exit (--keep leaves the folder: logs, AOFs). --buyers is per run (spread over the deals in the cluster section). Writes the Markdown into docs/benchmarks.md (between its "redis-bench.sh" markers)
# unless --print. Exit 1 when an invariant failed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

runs=3 only="durability,cluster" buyers=30000 deals=3 concurrency=64 ceiling=100000 build=1 print=0 keep=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --buyers) buyers=$2; shift 2 ;;
    --deals) deals=$2; shift 2 ;;
    --concurrency) concurrency=$2; shift 2 ;;
    --ceiling-requests) ceiling=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --print) print=1; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "redis-bench.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ $runs =~ ^[1-9][0-9]?$ ]] || { echo "redis-bench.sh: --runs must be 1-99" >&2; exit 2; }
[[ $buyers =~ ^[1-9][0-9]{2,6}$ ]] || { echo "redis-bench.sh: --buyers must be 100-9999999" >&2; exit 2; }
[[ $deals =~ ^([2-9]|[1-9][0-9])$ ]] || { echo "redis-bench.sh: --deals must be 2-99" >&2; exit 2; }
[[ $concurrency =~ ^[1-9][0-9]{0,3}$ ]] || { echo "redis-bench.sh: --concurrency must be 1-9999" >&2; exit 2; }
[[ $ceiling =~ ^[1-9][0-9]{3,7}$ ]] || { echo "redis-bench.sh: --ceiling-requests must be 1000-99999999" >&2; exit 2; }
for s in ${only//,/ }; do
  [[ $s =~ ^(durability|cluster|coupons)$ ]] || { echo "redis-bench.sh: unknown section '$s' in --only" >&2; exit 2; }
done
wants() { [[ ",$only," == *",$1,"* ]]; }
for program in redis-server redis-cli redis-benchmark python3; do
  command -v "$program" >/dev/null || { echo "redis-bench.sh: $program not found (apt-get install -y redis-server redis-tools)" >&2; exit 1; }
done
log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { echo "redis-bench.sh: $*" >&2; exit 1; }

if ((build)); then
  log "dotnet build (Release): load/FlashDeal.Orders.Load, tests/FlashDeal.TestInfrastructure"
  dotnet build -c Release -v q --nologo load/FlashDeal.Orders.Load >/dev/null
  dotnet build -c Release -v q --nologo tests/FlashDeal.TestInfrastructure >/dev/null
fi
tool=(dotnet load/FlashDeal.Orders.Load/bin/Release/net10.0/FlashDeal.Orders.Load.dll)

tmp="$ROOT/load/results/redis-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$tmp"
disk="$(df --output=fstype "$tmp" | tail -n 1)"
[[ $disk == tmpfs ]] && echo "redis-bench.sh: $tmp is on a tmpfs: appendfsync always costs nothing there" >&2
redis_pids=()
infra_pid="" infra_in=""
cleanup() {
  local pid
  for pid in "${redis_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${redis_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ -n $infra_pid ]]; then
    exec {infra_in}>&- 2>/dev/null || true # end of input: the fixtures stop and delete their servers
    wait "$infra_pid" 2>/dev/null || true
  fi
  if ((keep)); then echo "redis-bench.sh: Redis folders kept in ${tmp#"$ROOT/"}" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- servers ---------------------------------------------------------------------------------------------------------
# PostgreSQL from the fixtures (its Redis, started beside it, stays idle); it stops at end of input.
coproc INFRA { dotnet tests/FlashDeal.TestInfrastructure/bin/Release/net10.0/FlashDeal.TestInfrastructure.dll; }
infra_pid=$INFRA_PID infra_in=${INFRA[1]}
postgres=""
while IFS= read -r -t 60 line <&"${INFRA[0]}"; do
  case "$line" in
    postgres=*) postgres=${line#postgres=} ;;
    ready) break ;;
  esac
done
[[ -n $postgres ]] || die "PostgreSQL did not start"

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# Below 32768 (outgoing connections take their ports above) and clear of the meshes' ports (16xxx, 26xxx, 28xxx).
free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 6000))
    port_free "$port" && port_free $((port + 10000)) && { echo "$port"; return; }
  done
}

declare -A port_of=()
# start_redis NAME [redis-server options]: AOF fsynced every second unless the options say otherwise (later ones win).
start_redis() {
  local name=$1 dir="$tmp/$1" port pid tries attempt
  shift
  mkdir -p "$dir"
  for attempt in 1 2 3 4 5; do
    port="$(free_port)"
    redis-server --port "$port" --bind 127.0.0.1 --protected-mode yes --daemonize no --dir "$dir" \
      --logfile "$dir/redis.log" --save '' --appendonly yes --appendfsync everysec "$@" &
    pid=$!
    redis_pids+=("$pid")
    tries=0
    until redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; do
      kill -0 "$pid" 2>/dev/null || break # lost the port to another process: try another
      ((++tries > 100)) && die "$name does not answer on $port (see $dir/redis.log)"
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      port_of[$name]=$port
      return 0
    fi
    echo "  $name: port $port taken (attempt $attempt)" >&2
  done
  die "$name did not start (see $dir/redis.log)"
}
stop_redis() { # every server started so far
  local pid
  for pid in "${redis_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${redis_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  redis_pids=()
}

# What appendfsync always pays per event-loop turn on this disk: fdatasync (Redis's call) after a small append.
fsync_probe="$(python3 - "$tmp" <<'PY'
import os, statistics, sys, time
path = os.path.join(sys.argv[1], "fsync-probe")
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
times = []
for _ in range(500):
    os.write(fd, b"x" * 200)
    started = time.perf_counter()
    os.fdatasync(fd)
    times.append((time.perf_counter() - started) * 1000)
os.close(fd)
os.unlink(path)
times.sort()
print(f"{statistics.median(times):.2f} ms median, {times[494]:.2f} ms p99")
PY
)"

failed=0
durability_md="" cluster_md="" coupons_md=""

if wants durability; then
  log "durability: Redis servers (local: everysec, fsync: always, replica: primary + replica)"
  start_redis local
  start_redis fsync --appendfsync always
  start_redis primary
  start_redis replica --replicaof 127.0.0.1 "${port_of[primary]}"
  tries=0
  until [[ "$(redis-cli -p "${port_of[replica]}" role 2>/dev/null | sed -n 4p)" == connected ]]; do
    ((++tries > 100)) && die "the replica did not sync with its primary (see $tmp/replica/redis.log)"
    sleep 0.1
  done
  log "durability: $runs runs of $buyers buyers per variant, rotated"
  rc=0
  durability_md="$("${tool[@]}" durability --postgres "$postgres" --local "127.0.0.1:${port_of[local]}" \
    --fsync "127.0.0.1:${port_of[fsync]}" --replica "127.0.0.1:${port_of[primary]}" \
    --buyers "$buyers" --concurrency "$concurrency" --runs "$runs")" || rc=$?
  ((rc == 0)) || { echo "  durability: exit $rc (an invariant failed, or see above)" >&2; failed=1; }
  stop_redis
fi

if wants cluster; then
  log "cluster: 3 nodes, 3 primaries without replicas"
  nodes=()
  for i in 1 2 3; do
    # The default node timeout (15 s): on two busy cores a short one can mark a slow node as failed mid-run.
    start_redis "node-$i" --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 15000
    nodes+=("127.0.0.1:${port_of[node-$i]}")
  done
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >"$tmp/cluster-create.log" 2>&1 ||
    { tail -20 "$tmp/cluster-create.log" >&2; die "redis-cli --cluster create failed"; }
  for i in 1 2 3; do
    tries=0
    until redis-cli -p "${port_of[node-$i]}" cluster info 2>/dev/null | grep -q '^cluster_state:ok'; do
      ((++tries > 300)) && die "the cluster did not reach cluster_state:ok (node-$i)"
      sleep 0.1
    done
  done
  log "cluster: $runs runs per layout, $deals deals, $buyers buyers per run"
  rc=0
  cluster_md="$("${tool[@]}" cluster --postgres "$postgres" --nodes "$(IFS=,; echo "${nodes[*]}")" --deals "$deals" \
    --buyers "$buyers" --concurrency "$concurrency" --runs "$runs" --ceiling-requests "$ceiling")" || rc=$?
  ((rc == 0)) || { echo "  cluster: exit $rc (an invariant failed, or see above)" >&2; failed=1; }
  stop_redis
fi

if wants coupons; then
  log "coupons: one Redis (AOF everysec), one orders process; $runs runs of $buyers claimers"
  start_redis coupons
  rc=0
  coupons_md="$("${tool[@]}" coupons --postgres "$postgres" --redis "127.0.0.1:${port_of[coupons]}" --claimers "$buyers" \
    --concurrency "$concurrency" --runs "$runs" --ceiling-requests "$ceiling")" || rc=$?
  ((rc == 0)) || { echo "  coupons: exit $rc (an invariant failed, or see above)" >&2; failed=1; }
  stop_redis
fi

# --- the Markdown ------------------------------------------------------------------------------------------------------
read -r load1 load5 load15 _ </proc/loadavg
options="--runs $runs"
[[ $only != "durability,cluster" ]] && options+=" --only $only"
[[ $buyers != 30000 ]] && options+=" --buyers $buyers"
[[ $deals != 3 ]] && options+=" --deals $deals"
[[ $concurrency != 64 ]] && options+=" --concurrency $concurrency"
[[ $ceiling != 100000 ]] && options+=" --ceiling-requests $ceiling"
markdown="_Generated by \`load/redis-bench.sh $options\` on $(date -u '+%Y-%m-%d %H:%M') UTC, commit \
$(git rev-parse --short=7 HEAD 2>/dev/null || echo unknown), $(nproc) cores, load average $load1 $load5 $load15 at the end; \
the Redis servers' AOFs on $disk, where an fdatasync after a 200-byte append takes $fsync_probe._"
[[ -n $durability_md ]] && markdown+=$'\n\n**Durability.** '"$durability_md"
[[ -n $cluster_md ]] && markdown+=$'\n\n**Several deals at once, 1 vs 3 cluster primaries.** '"$cluster_md"
[[ -n $coupons_md ]] && markdown+=$'\n\n**Coupon claims.** '"$coupons_md"

if ((print)); then
  printf '%s\n' "$markdown"
else
  section=load/redis-bench.sh
  [[ $only == coupons ]] && section="load/redis-bench.sh --only coupons"
  python3 load/generated-section.py "$ROOT/docs/benchmarks.md" "$section" "$markdown"
  log "docs/benchmarks.md updated"
fi
exit "$failed"
