#!/usr/bin/env bash
# End-to-end test of `./flashdeal up --detach | status | down`: a whole local mesh in a temporary data folder on free
# ports (so it cannot collide with a developer's mesh), called over REST and gRPC, then stopped without leftovers.
# Set FLASHDEAL_SKIP_BUILD=1 when the Release build is fresh (./flashdeal test does).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

passed=0 failed=0
pass() { passed=$((passed + 1)); echo "  ok    $*"; }
fail() { failed=$((failed + 1)); echo "  FAIL  $*"; }
check() { local what=$1; shift; if "$@" >/dev/null 2>&1; then pass "$what"; else fail "$what"; fi; }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && ! ss -ltnH "sport = :$1" 2>/dev/null | grep -q .; }
# Six consecutive free ports from a random base in 20000-29999.
pick_ports() {
  local base i
  for _ in $(seq 1 50); do
    base=$((20000 + RANDOM % 9990))
    for ((i = 0; i < 8; i++)); do port_free $((base + i)) || continue 2; done
    echo "$base"; return 0
  done
  return 1
}

DATA="$(mktemp -d /tmp/flashdeal-e2e.XXXXXX)"
chmod 755 "$DATA"
base="$(pick_ports)" || { echo "e2e: no free ports"; exit 1; }
export FLASHDEAL_DATA="$DATA/data" FLASHDEAL_PG_PORT=$base FLASHDEAL_REDIS_PORT=$((base + 1))
export FLASHDEAL_AUTH_GRPC_PORT=$((base + 2)) FLASHDEAL_AUTH_REST_PORT=$((base + 3))
export FLASHDEAL_CATALOG_GRPC_PORT=$((base + 4)) FLASHDEAL_CATALOG_REST_PORT=$((base + 5))
export FLASHDEAL_ORDERS_GRPC_PORT=$((base + 6)) FLASHDEAL_ORDERS_REST_PORT=$((base + 7))
unset FLASHDEAL_POSTGRES FLASHDEAL_REDIS
mapfile -t PORTS < <(seq "$base" $((base + 7)))
AUTH="http://127.0.0.1:$FLASHDEAL_AUTH_REST_PORT" CATALOG="http://127.0.0.1:$FLASHDEAL_CATALOG_REST_PORT"
ORDERS="http://127.0.0.1:$FLASHDEAL_ORDERS_REST_PORT"
BUF="$ROOT/tests/interop/node/node_modules/.bin/buf"

cleanup() {
  timeout 60 ./flashdeal down >/dev/null 2>&1 || true
  rm -rf "$DATA"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

echo "e2e: local mesh in $FLASHDEAL_DATA on ports ${PORTS[*]}"
if timeout 150 ./flashdeal up --detach >"$DATA/up.out" 2>&1; then
  pass "flashdeal up --detach"
else
  fail "flashdeal up --detach"; tail -n 40 "$DATA/up.out"
  echo "e2e: $passed passed, $failed failed"; exit 1
fi
grep -q "FlashDeal is up" "$DATA/up.out" && pass "up prints the endpoints" || fail "up prints the endpoints"

check "auth /readyz" curl -fsS -m 5 "$AUTH/readyz"
check "catalog /readyz" curl -fsS -m 5 "$CATALOG/readyz"
check "orders /readyz" curl -fsS -m 5 "$ORDERS/readyz"

source "$FLASHDEAL_DATA/demo.env"
grep -q "$DEAL_ID" "$DATA/up.out" && pass "up prints the demo deal id" || fail "up prints the demo deal id"

token="$(curl -fsS -m 10 -X POST "$AUTH/v1/auth:logIn" -H 'content-type: application/json' \
  -d '{"email":"ada@flashdeal.local","password":"flashdeal-customer-demo"}' | jq -r .token.accessToken)" || token=""
[[ -n $token && $token != null ]] && pass "demo customer logs in over REST" || fail "demo customer logs in over REST"
role="$(curl -fsS -m 10 "$AUTH/v1/auth/me" -H "authorization: Bearer $token" | jq -r .user.role)" || role=""
[[ $role == ROLE_CUSTOMER ]] && pass "GetMe with the token says customer" || fail "GetMe with the token says customer (got '$role')"

deals="$(curl -fsS -m 10 "$CATALOG/v1/deals?states=DEAL_STATE_UPCOMING&states=DEAL_STATE_LIVE")" || deals="{}"
jq -e --arg id "$DEAL_ID" '.deals[] | select(.dealId == $id and .stock == 100 and .perUserLimit == 2)' <<<"$deals" >/dev/null &&
  pass "ListDeals (REST) holds the demo deal: 100 units, 2 per customer" || fail "ListDeals (REST) holds the demo deal"

deal="$("$BUF" curl --protocol grpc --http2-prior-knowledge -d "{\"dealId\":\"$DEAL_ID\"}" \
  "http://127.0.0.1:$FLASHDEAL_CATALOG_GRPC_PORT/flashdeal.catalog.v1.CatalogService/GetDeal" 2>&1)" || deal="{}"
jq -e --arg id "$DEAL_ID" '.deal.dealId == $id and .deal.remainingStock == 100' <<<"$deal" >/dev/null &&
  pass "GetDeal over gRPC (buf curl): remaining stock 100" || fail "GetDeal over gRPC (buf curl): $deal"

# The demo deal opens minutes from now: orders must refuse it by the window read from Redis, without taking stock.
placed="$(curl -sS -m 10 -X POST "$ORDERS/v1/orders" -H "authorization: Bearer $token" -H 'content-type: application/json' \
  -d "{\"dealId\":\"$DEAL_ID\",\"quantity\":1,\"idempotencyKey\":\"e2e-1\"}")" || placed="{}"
jq -e '.details[] | select(.reason == "DEAL_NOT_STARTED")' <<<"$placed" >/dev/null &&
  pass "PlaceOrder (REST) before the opening: DEAL_NOT_STARTED" || fail "PlaceOrder before the opening: $placed"
mine="$("$BUF" curl --protocol grpc --http2-prior-knowledge -H "authorization: Bearer $token" -d '{}' \
  "http://127.0.0.1:$FLASHDEAL_ORDERS_GRPC_PORT/flashdeal.orders.v1.OrderService/ListMyOrders" 2>&1)" || mine="err"
jq -e '(.orders // []) | length == 0' <<<"$mine" >/dev/null &&
  pass "ListMyOrders over gRPC (buf curl): no orders yet" || fail "ListMyOrders over gRPC: $mine"

if status="$(./flashdeal status 2>&1)"; then pass "flashdeal status exits 0"; else fail "flashdeal status exits 0"; fi
echo "$status" | sed 's/^/        /'
for name in auth catalog orders redis postgres; do
  grep -Eq "^$name +[0-9]+ +yes +(ready|PONG)" <<<"$status" && pass "status: $name alive and healthy" || fail "status: $name alive and healthy"
done
grep -q "$DEAL_ID: DEAL_STATE_UPCOMING, 100 of 100 left" <<<"$status" && pass "status: demo deal stock" || fail "status: demo deal stock"

pids=()
for f in "$FLASHDEAL_DATA"/run/*.pid; do pids+=("$(cat "$f")"); done
((${#pids[@]} == 5)) && pass "five pid files" || fail "five pid files (${#pids[@]})"
if timeout 90 ./flashdeal down >"$DATA/down.out" 2>&1; then pass "flashdeal down"; else fail "flashdeal down"; cat "$DATA/down.out"; fi
left=()
for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && left+=("pid $pid"); done
for port in "${PORTS[@]}"; do port_free "$port" || left+=("port $port"); done
((${#left[@]} == 0)) && pass "nothing left running (pids dead, ports free)" || fail "left running: ${left[*]}"
[[ -z "$(ls -A "$FLASHDEAL_DATA/run")" ]] && pass "run/ is empty" || fail "run/ is empty"

echo "e2e: $passed passed, $failed failed"
((failed == 0))
