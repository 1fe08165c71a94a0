# shellcheck shell=bash
# Shared by the end-to-end scripts in tests/e2e/: check bookkeeping and free loopback ports. Source it.

passed=0 failed=0
pass() { passed=$((passed + 1)); echo "  ok    $*"; }
fail() { failed=$((failed + 1)); echo "  FAIL  $*"; }
check() { local what=$1; shift; if "$@" >/dev/null 2>&1; then pass "$what"; else fail "$what"; fi; }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && ! ss -ltnH "sport = :$1" 2>/dev/null | grep -q .; }

# A block of $1 consecutive free ports in 20000-29999 (prints its first port).
pick_ports() {
  local count=$1 base i
  for _ in $(seq 1 50); do
    base=$((20000 + RANDOM % (10000 - count)))
    for ((i = 0; i < count; i++)); do port_free $((base + i)) || continue 2; done
    echo "$base"; return 0
  done
  return 1
}

# A fresh mesh for one e2e script: a temporary folder ($DATA, deleted on exit after `flashdeal down`), FLASHDEAL_DATA in
# it, and every port not already set in the environment taken from FLASHDEAL_E2E_PORT_BASE or a free block of 17
# (pg, redis, auth grpc/rest, catalog grpc/rest, orders grpc ×2, orders rest ×2, edge rest, edge grpc, edge status,
# Prometheus, nginx/redis/postgres exporters); PORTS lists them.
mesh_setup() { # name (for the temporary folder and messages)
  DATA="$(mktemp -d "/tmp/flashdeal-$1.XXXXXX")"
  chmod 755 "$DATA"
  local base="${FLASHDEAL_E2E_PORT_BASE:-}"
  [[ -n $base ]] || base="$(pick_ports 17)" || { echo "e2e $1: no free ports"; exit 1; }
  export FLASHDEAL_DATA="$DATA/data"
  : "${FLASHDEAL_PG_PORT:=$base}" "${FLASHDEAL_REDIS_PORT:=$((base + 1))}"
  : "${FLASHDEAL_AUTH_GRPC_PORT:=$((base + 2))}" "${FLASHDEAL_AUTH_REST_PORT:=$((base + 3))}"
  : "${FLASHDEAL_CATALOG_GRPC_PORT:=$((base + 4))}" "${FLASHDEAL_CATALOG_REST_PORT:=$((base + 5))}"
  : "${FLASHDEAL_ORDERS_GRPC_PORT:=$((base + 6))}" "${FLASHDEAL_ORDERS_REST_PORT:=$((base + 8))}"
  : "${FLASHDEAL_EDGE_REST_PORT:=$((base + 10))}" "${FLASHDEAL_EDGE_GRPC_PORT:=$((base + 11))}"
  : "${FLASHDEAL_EDGE_STATUS_PORT:=$((base + 12))}" "${FLASHDEAL_PROMETHEUS_PORT:=$((base + 13))}"
  : "${FLASHDEAL_NGINX_EXPORTER_PORT:=$((base + 14))}" "${FLASHDEAL_REDIS_EXPORTER_PORT:=$((base + 15))}"
  : "${FLASHDEAL_PG_EXPORTER_PORT:=$((base + 16))}"
  export FLASHDEAL_PG_PORT FLASHDEAL_REDIS_PORT FLASHDEAL_AUTH_GRPC_PORT FLASHDEAL_AUTH_REST_PORT FLASHDEAL_CATALOG_GRPC_PORT \
    FLASHDEAL_CATALOG_REST_PORT FLASHDEAL_ORDERS_GRPC_PORT FLASHDEAL_ORDERS_REST_PORT FLASHDEAL_EDGE_REST_PORT FLASHDEAL_EDGE_GRPC_PORT \
    FLASHDEAL_EDGE_STATUS_PORT FLASHDEAL_PROMETHEUS_PORT FLASHDEAL_NGINX_EXPORTER_PORT FLASHDEAL_REDIS_EXPORTER_PORT \
    FLASHDEAL_PG_EXPORTER_PORT
  unset FLASHDEAL_POSTGRES FLASHDEAL_REDIS
  PORTS=("$FLASHDEAL_PG_PORT" "$FLASHDEAL_REDIS_PORT" "$FLASHDEAL_AUTH_GRPC_PORT" "$FLASHDEAL_AUTH_REST_PORT"
    "$FLASHDEAL_CATALOG_GRPC_PORT" "$FLASHDEAL_CATALOG_REST_PORT" "$FLASHDEAL_ORDERS_GRPC_PORT" $((FLASHDEAL_ORDERS_GRPC_PORT + 1))
    "$FLASHDEAL_ORDERS_REST_PORT" $((FLASHDEAL_ORDERS_REST_PORT + 1)) "$FLASHDEAL_EDGE_REST_PORT" "$FLASHDEAL_EDGE_GRPC_PORT"
    "$FLASHDEAL_EDGE_STATUS_PORT" "$FLASHDEAL_PROMETHEUS_PORT" "$FLASHDEAL_NGINX_EXPORTER_PORT" "$FLASHDEAL_REDIS_EXPORTER_PORT"
    "$FLASHDEAL_PG_EXPORTER_PORT")
  trap mesh_cleanup EXIT
  trap 'exit 143' TERM INT
}
mesh_cleanup() {
  timeout 60 ./flashdeal down >/dev/null 2>&1 || true
  rm -rf "$DATA"
}

# MESH_PIDS: every process the mesh started (pid files) and their children (nginx workers, PostgreSQL backends).
mesh_snapshot_pids() {
  local f pid
  MESH_PIDS=()
  for f in "$FLASHDEAL_DATA"/run/*.pid; do MESH_PIDS+=("$(cat "$f")"); done
  for pid in "${MESH_PIDS[@]}"; do mapfile -t -O "${#MESH_PIDS[@]}" MESH_PIDS < <(ps -o pid= --ppid "$pid" | tr -d ' '); done
}

# `flashdeal down`, then: none of MESH_PIDS alive, every port in PORTS free, no process naming the data folder.
check_down_leaves_nothing() {
  local left=() pid port
  if timeout 90 ./flashdeal down >"$DATA/down.out" 2>&1; then pass "flashdeal down"; else fail "flashdeal down"; cat "$DATA/down.out"; fi
  for pid in "${MESH_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && left+=("pid $pid"); done
  for port in "${PORTS[@]}"; do port_free "$port" || left+=("port $port"); done
  while read -r pid; do left+=("pid $pid ($(tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null | cut -c1-60))"); done < <(pgrep -f "$FLASHDEAL_DATA" || true)
  ((${#left[@]} == 0)) && pass "nothing left running: ${#MESH_PIDS[@]} processes gone (incl. the edge's workers), ports free" ||
    fail "left running: ${left[*]}"
}

# --- Redis failover scripts (redis-sentinel.sh, redis-cluster.sh) ----------------------------------------------------
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); } # milliseconds since a `date +%s%N` reading

# Each service answers /readyz 200 again within 30 s of the crash at $1 (`date +%s%N`); the time goes into the check.
check_services_ready_after() {
  local crashed=$1 name port_var ready
  for name in auth catalog orders; do
    port_var="FLASHDEAL_${name^^}_REST_PORT" ready=""
    for _ in $(seq 300); do
      [[ "$(curl -s -m 1 -o /dev/null -w '%{http_code}' "http://127.0.0.1:${!port_var}/readyz")" == 200 ]] &&
        { ready=$(ms_since "$crashed"); break; }
      sleep 0.1
    done
    [[ -n $ready ]] && pass "$name ready ${ready} ms after the crash" || fail "$name not ready within 30 s"
  done
}

# The services run in the processes mesh_snapshot_pids saw: nothing was restarted.
check_services_not_restarted() {
  local name pid
  for name in auth catalog orders-1; do
    pid="$(cat "$FLASHDEAL_DATA/run/$name.pid")"
    check "$name: the same process as before the failover" grep -qx "$pid" <(printf '%s\n' "${MESH_PIDS[@]}")
  done
}

# The orders service's `reconcile` over every deal (after a failover): exit 0, and at least $2 deals seen without drift.
check_reconcile() { # label min-deals
  local deals
  sleep 1 # the last spike's stream entries reach PostgreSQL
  if ConnectionStrings__Postgres="$(sed -n 's/^FLASHDEAL_POSTGRES=//p' "$FLASHDEAL_DATA/mesh.env")" \
    ConnectionStrings__Redis="$(sed -n 's/^FLASHDEAL_REDIS=//p' "$FLASHDEAL_DATA/mesh.env")" \
    timeout 60 dotnet services/Orders/FlashDeal.Orders/bin/Release/net10.0/FlashDeal.Orders.dll reconcile \
    >"$DATA/reconcile.out" 2>&1; then
    pass "reconcile over $1: exit 0, $(grep -Ec ' (ok|pending)$' "$DATA/reconcile.out") deals without drift"
  else
    fail "reconcile over $1 (output below)"; tail -n 20 "$DATA/reconcile.out"
  fi
  deals="$(grep -Ec ' (ok|pending)$' "$DATA/reconcile.out" || true)"
  check "reconcile saw every spike's deal ($2 or more)" test "$deals" -ge "$2"
}
