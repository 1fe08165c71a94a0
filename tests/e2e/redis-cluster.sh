#!/usr/bin/env bash
# End-to-end Redis Cluster: `./flashdeal up --detach --redis cluster` (six nodes: three primaries with a replica each;
# the services get every node's address and follow the slot map), three deal spikes through the edge with the load
# tool — each deal's keys under one hash tag, the deals spread over the primaries, every invariant counted in PostgreSQL
# and Redis, no CROSSSLOT in any log — then the primary holding the first deal killed with SIGKILL: the cluster
# promotes its replica, the services follow with no restart, `status` shows the new primary, and another spike passes
# the same invariants. Then `./flashdeal down` must leave nothing running.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
source tests/e2e/lib.sh

mesh_setup redis-cluster
# Six node ports and their cluster bus ports (+10000), all free, the bus below 32768: above it lies the kernel's range
# for outgoing connections, whose local ports a busy machine may hold at the moment a node binds.
base=""
for _ in $(seq 50); do
  candidate=$((20000 + RANDOM % 2700))
  for ((i = 0; i < 6; i++)); do port_free $((candidate + i)) && port_free $((candidate + 10000 + i)) || continue 2; done
  base=$candidate; break
done
[[ -n $base ]] || { echo "e2e redis-cluster: no free ports for six nodes and their bus"; exit 1; }
export FLASHDEAL_REDIS_CLUSTER_PORT=$base
for ((i = 0; i < 6; i++)); do PORTS+=($((base + i)) $((base + 10000 + i))); done
export FLASHDEAL_ORDERS_REPLICAS=1 FLASHDEAL_LOCAL_LOAD=1 FLASHDEAL_PASSWORD_ITERATIONS=1000 FLASHDEAL_EDGE_RATE_LIMITS=off \
  FLASHDEAL_PROMETHEUS=off

echo "e2e redis-cluster: local mesh in $FLASHDEAL_DATA on ports ${PORTS[*]}"
if timeout 150 ./flashdeal up --detach --redis cluster >"$DATA/up.out" 2>&1; then
  pass "flashdeal up --detach --redis cluster"
else
  fail "flashdeal up --detach --redis cluster"; tail -n 40 "$DATA/up.out"
  echo "e2e redis-cluster: $passed passed, $failed failed"; exit 1
fi
mesh_snapshot_pids

./flashdeal status >"$DATA/status.out" 2>&1 || true
check "status: three primaries, each with slots, cluster ok" \
  test "$(grep -Ec '^redis-[1-6] .* primary, slots [0-9].*, cluster ok$' "$DATA/status.out")" = 3
check "status: three replicas, cluster ok" test "$(grep -Ec '^redis-[1-6] .* replica of 127.0.0.1:[0-9]+, cluster ok$' "$DATA/status.out")" = 3
check "mesh.env: the services' Redis is every node" \
  grep -Eq "^FLASHDEAL_REDIS=127.0.0.1:$base,(127.0.0.1:[0-9]+,){4}127.0.0.1:$((base + 5))$" "$FLASHDEAL_DATA/mesh.env"

spike() { # label user-prefix; prints the deal id
  local out="$DATA/$1"
  if timeout 150 ./flashdeal load spike --transport grpc --users 300 --stock 100 --per-user-limit 1 --opens-in 3s \
    --stages "spike:3s:32:hold" --mode closed --user-prefix "$2" --timeout 60s --quiet --out "$out" >"$out.log" 2>&1; then
    pass "$1: deal spike through the edge, 8 invariants counted in PostgreSQL and Redis (Cluster)" >&2
  else
    fail "$1: deal spike (log below)" >&2; tail -n 40 "$out.log" >&2
  fi
  sed -n 's/.*deal_id=\([0-9a-f-]*\).*/\1/p' "$out.log" | head -1
}
# The primary that answers for a deal's stock key (the others answer MOVED).
owner_of() {
  local port
  for ((port = base; port < base + 6; port++)); do
    [[ "$(redis-cli -p "$port" exists "{deal:$1}:stock" 2>/dev/null)" == 1 ]] && { echo "$port"; return 0; }
  done
  return 1
}

deals=() owners=()
for n in 1 2 3; do
  deal="$(spike "deal $n" "c$n")"
  deals+=("$deal") owners+=("$(owner_of "$deal" || echo none)")
done
echo "  deals on primaries: ${owners[*]}"
check "each deal's keys live on one primary" test "${#owners[@]}" = 3 -a "${owners[0]}" != none -a "${owners[1]}" != none \
  -a "${owners[2]}" != none
check "no CROSSSLOT, MOVED or ASK error reached any service log" \
  bash -c "! grep -Eq 'CROSSSLOT|MOVED|ASK ' '$FLASHDEAL_DATA'/logs/{auth,catalog,orders-1}.log"

# kill -9 the primary holding the first deal; time its replica's promotion and the services' readiness.
victim=${owners[0]}
victim_name="redis-$((victim - base + 1))"
replica="$(redis-cli -p "$victim" cluster nodes | awk -v id="$(redis-cli -p "$victim" cluster myid)" '$4 == id { sub(/@.*/, "", $2); sub(/.*:/, "", $2); print $2 }')"
started=$(date +%s%N)
kill -KILL "$(cat "$FLASHDEAL_DATA/run/$victim_name.pid")"
promoted=""
for _ in $(seq 300); do
  if redis-cli -p "$replica" role 2>/dev/null | head -1 | grep -qx master &&
    redis-cli -p "$replica" cluster info 2>/dev/null | grep -q '^cluster_state:ok'; then
    promoted=$(ms_since "$started"); break
  fi
  sleep 0.1
done
[[ -n $promoted ]] && pass "the cluster promoted $victim's replica ($replica) ${promoted} ms after the primary died" ||
  fail "no promotion of $victim's replica within 30 s"
check_services_ready_after "$started"
check "the first deal's stock is on the promoted replica" test "$(owner_of "${deals[0]}" || true)" = "$replica"
./flashdeal status >"$DATA/status-after.out" 2>&1 || true
check "status: the killed node is down" grep -Eq "^$victim_name +[0-9]+ +no +down" "$DATA/status-after.out"
check "status: its replica is a primary now" grep -Eq "^redis-$((replica - base + 1)) .* primary, slots [0-9]" "$DATA/status-after.out"
check_services_not_restarted

spike "after the failover" a >/dev/null

check_reconcile "every shard" 4

check_down_leaves_nothing
echo "e2e redis-cluster: $passed passed, $failed failed"
((failed == 0))
