#!/usr/bin/env bash
# End-to-end Redis failover: `./flashdeal up --detach --redis sentinel` (a Redis primary, its replica, three Sentinels;
# the services connect through the Sentinels), a deal spike through the edge with the load tool and its invariants,
# then the primary killed with SIGKILL: Sentinel promotes the replica, every service becomes ready again on its own (no
# restart), `status` names the new primary, and a second spike on a new deal passes the same invariants. Then
# `./flashdeal down` must leave nothing running.
#
# The primary dies between the spikes: with the default durability (the script's answer, AOF every second) an order
# acknowledged in the last moments before a crash may not have reached the replica, so a kill mid-spike is not an
# invariant this topology alone can keep.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
source tests/e2e/lib.sh

mesh_setup redis-sentinel
base="$(pick_ports 4)" || { echo "e2e redis-sentinel: no free ports for the replica and the Sentinels"; exit 1; }
export FLASHDEAL_REDIS_REPLICA_PORT=$base FLASHDEAL_REDIS_SENTINEL_PORT=$((base + 1))
PORTS+=("$base" $((base + 1)) $((base + 2)) $((base + 3)))
export FLASHDEAL_ORDERS_REPLICAS=1 FLASHDEAL_LOCAL_LOAD=1 FLASHDEAL_PASSWORD_ITERATIONS=1000 FLASHDEAL_EDGE_RATE_LIMITS=off \
  FLASHDEAL_PROMETHEUS=off
PRIMARY=$FLASHDEAL_REDIS_PORT REPLICA=$FLASHDEAL_REDIS_REPLICA_PORT

echo "e2e redis-sentinel: local mesh in $FLASHDEAL_DATA on ports ${PORTS[*]}"
if timeout 150 ./flashdeal up --detach --redis sentinel >"$DATA/up.out" 2>&1; then
  pass "flashdeal up --detach --redis sentinel"
else
  fail "flashdeal up --detach --redis sentinel"; tail -n 40 "$DATA/up.out"
  echo "e2e redis-sentinel: $passed passed, $failed failed"; exit 1
fi
mesh_snapshot_pids

./flashdeal status >"$DATA/status.out" 2>&1 || true
check "status: redis is the primary" grep -Eq "^redis +[0-9]+ +yes +PONG +$PRIMARY +primary$" "$DATA/status.out"
check "status: redis-replica replicates it" grep -Eq "^redis-replica .* replica of 127.0.0.1:$PRIMARY, link connected$" "$DATA/status.out"
check "status: three Sentinels, each naming the primary" \
  test "$(grep -Ec "^sentinel-[123] .* primary 127.0.0.1:$PRIMARY, 3 Sentinels$" "$DATA/status.out")" = 3
check "mesh.env: the services' Redis is the Sentinels and the service name" \
  grep -Eq "^FLASHDEAL_REDIS=127.0.0.1:$FLASHDEAL_REDIS_SENTINEL_PORT,.*,serviceName=flashdeal$" "$FLASHDEAL_DATA/mesh.env"

spike() { # label user-prefix
  local out="$DATA/$1"
  if timeout 150 ./flashdeal load spike --transport grpc --users 300 --stock 100 --per-user-limit 1 --opens-in 3s \
    --stages "spike:4s:32:hold" --mode closed --user-prefix "$2" --timeout 60s --quiet --out "$out" >"$out.log" 2>&1; then
    pass "$1: deal spike through the edge, 8 invariants counted in PostgreSQL and Redis (through the Sentinels)"
  else
    fail "$1: deal spike (log below)"; tail -n 40 "$out.log"
  fi
}
spike "before the failover" b

# kill -9 the primary; time the promotion and each service's readiness.
started=$(date +%s%N)
kill -KILL "$(cat "$FLASHDEAL_DATA/run/redis.pid")"
promoted=""
for _ in $(seq 300); do
  if [[ "$(redis-cli -p "$FLASHDEAL_REDIS_SENTINEL_PORT" sentinel get-master-addr-by-name flashdeal 2>/dev/null | tail -1)" == "$REPLICA" ]]; then
    promoted=$(ms_since "$started"); break
  fi
  sleep 0.1
done
[[ -n $promoted ]] && pass "Sentinel promoted the replica ${promoted} ms after the primary died" || fail "no promotion within 30 s"
check_services_ready_after "$started"
./flashdeal status >"$DATA/status-after.out" 2>&1 || true
check "status: the old primary is down" grep -Eq "^redis +[0-9]+ +no +down" "$DATA/status-after.out"
check "status: redis-replica is the primary now" grep -Eq "^redis-replica .* primary$" "$DATA/status-after.out"
check "status: the Sentinels name the new primary" \
  test "$(grep -Ec "^sentinel-[123] .* primary 127.0.0.1:$REPLICA, 3 Sentinels$" "$DATA/status-after.out")" = 3
check_services_not_restarted

spike "after the failover" a

check_reconcile "the promoted primary" 2

check_down_leaves_nothing
echo "e2e redis-sentinel: $passed passed, $failed failed"
((failed == 0))
