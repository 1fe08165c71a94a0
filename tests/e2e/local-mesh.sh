#!/usr/bin/env bash
# End-to-end test of `./flashdeal up --detach | status | down`: a whole local mesh — PostgreSQL, Redis, auth, catalog,
# two orders replicas, the edge (HAProxy; FLASHDEAL_EDGE=nginx runs the same test on the nginx edge) — in a temporary
# data folder, called through the edge over REST and gRPC with independent clients (curl, buf curl, Python grpcio,
# nghttp), then stopped without leftovers.
#
# Ports: every FLASHDEAL_*_PORT already set in the environment is used as is; the others come from
# FLASHDEAL_E2E_PORT_BASE (17 consecutive ports: pg, redis, auth grpc/rest, catalog grpc/rest, orders grpc ×2,
# orders rest ×2, edge rest, edge grpc, edge status, Prometheus, three exporters), else from a random free block in 20000-29999. The data folder is always a fresh
# temporary one (FLASHDEAL_DATA is ignored: the test deletes its folder at the end).
# Set FLASHDEAL_SKIP_BUILD=1 when the Release build is fresh (./flashdeal test does).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

source tests/e2e/lib.sh

mesh_setup e2e
# Two replicas; PlaceOrder limited hard (one per 10 s per caller) so the limit is hit without a flood;
# cheap password hashes (and a check that the setting reaches auth).
export FLASHDEAL_ORDERS_REPLICAS=2 FLASHDEAL_EDGE_RATE_LIMITS=on FLASHDEAL_EDGE_ORDER_RATE=6r/m FLASHDEAL_EDGE_ORDER_BURST=0
EDGE_KIND="${FLASHDEAL_EDGE:-haproxy}" EXPORTERS="redis-exporter postgres-exporter" EDGE_CONF="$FLASHDEAL_DATA/edge/haproxy.cfg"
[[ $EDGE_KIND == nginx ]] && EXPORTERS="nginx-exporter redis-exporter postgres-exporter" EDGE_CONF="$FLASHDEAL_DATA/edge/nginx.conf"
export FLASHDEAL_PASSWORD_ITERATIONS=1000
unset FLASHDEAL_EDGE_USER_RATE FLASHDEAL_EDGE_USER_BURST
EDGE="http://127.0.0.1:$FLASHDEAL_EDGE_REST_PORT" EDGE_GRPC="http://127.0.0.1:$FLASHDEAL_EDGE_GRPC_PORT"
ORDERS_1="127.0.0.1:$FLASHDEAL_ORDERS_REST_PORT" ORDERS_2="127.0.0.1:$((FLASHDEAL_ORDERS_REST_PORT + 1))"
ACCESS_LOG="$FLASHDEAL_DATA/logs/edge-access.log"
BUF="$ROOT/tests/interop/node/node_modules/.bin/buf"
bufc() { "$BUF" curl --schema "$ROOT/protos" --protocol grpc --http2-prior-knowledge "$@"; }
PY=/usr/bin/python3

echo "e2e: local mesh in $FLASHDEAL_DATA on ports ${PORTS[*]}"
if timeout 150 ./flashdeal up --detach >"$DATA/up.out" 2>&1; then
  pass "flashdeal up --detach (2 orders replicas, edge)"
else
  fail "flashdeal up --detach"; tail -n 40 "$DATA/up.out"
  echo "e2e: $passed passed, $failed failed"; exit 1
fi
grep -q "FlashDeal is up" "$DATA/up.out" && grep -q "REST  $EDGE" "$DATA/up.out" && grep -q "gRPC  $EDGE_GRPC" "$DATA/up.out" &&
  pass "up prints the endpoints, the edge first" || fail "up prints the endpoints, the edge first"
source "$FLASHDEAL_DATA/demo.env"
grep -q "$EDGE/v1/deals/$DEAL_ID" "$DATA/up.out" && pass "up prints curl lines through the edge with the demo deal id" ||
  fail "up prints curl lines through the edge with the demo deal id"

# mesh.env: the agreed keys, mode 600, one orders URL per replica.
menv="$FLASHDEAL_DATA/mesh.env"
[[ "$(stat -c %a "$menv" 2>/dev/null)" == 600 ]] && pass "mesh.env exists with mode 600" || fail "mesh.env exists with mode 600"
missing=()
for key in EDGE_REST EDGE_GRPC AUTH_REST AUTH_GRPC CATALOG_REST CATALOG_GRPC ORDERS_REST ORDERS_GRPC POSTGRES REDIS \
  ADMIN_EMAIL ADMIN_PASSWORD ORDERS_REPLICAS; do
  grep -q "^FLASHDEAL_$key=." "$menv" || missing+=("$key")
done
((${#missing[@]} == 0)) && pass "mesh.env holds every agreed key" || fail "mesh.env lacks ${missing[*]}"
grep -qx "FLASHDEAL_ORDERS_REST=http://$ORDERS_1,http://$ORDERS_2" "$menv" && grep -qx "FLASHDEAL_EDGE_GRPC=$EDGE_GRPC" "$menv" &&
  pass "mesh.env: edge URL and both orders replicas" || fail "mesh.env: edge URL and both orders replicas"

check "the edge's routes equal the Kong ingress routes (scripts/edge/check-routes.sh)" \
  bash scripts/edge/check-routes.sh "$EDGE_CONF"

# --- REST and gRPC through the edge ---------------------------------------------------------------------------------
login() {
  curl -fsS -m 10 -X POST "$EDGE/v1/auth:logIn" -H 'content-type: application/json' \
    -d "{\"email\":\"$1\",\"password\":\"flashdeal-customer-demo\"}" | jq -r .token.accessToken
}
token="$(login ada@flashdeal.local)" || token=""
[[ -n $token && $token != null ]] && pass "log-in through the edge (REST)" || fail "log-in through the edge (REST)"
pw_hash="$("$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/psql" -h 127.0.0.1 -p "$FLASHDEAL_PG_PORT" -U app -d flashdeal \
  -Atc "select password_hash from auth.users where email = 'ada@flashdeal.local'" 2>/dev/null)" || pw_hash=""
[[ $pw_hash == 'pbkdf2-sha256$1000$'* ]] && pass "FLASHDEAL_PASSWORD_ITERATIONS reaches auth (hash with 1000 iterations)" ||
  fail "FLASHDEAL_PASSWORD_ITERATIONS reaches auth (hash starts '${pw_hash:0:20}')"

deals="$(curl -fsS -m 10 "$EDGE/v1/deals?states=DEAL_STATE_UPCOMING&states=DEAL_STATE_LIVE")" || deals="{}"
jq -e --arg id "$DEAL_ID" '.deals[] | select(.dealId == $id and .stock == 100 and .perUserLimit == 2)' <<<"$deals" >/dev/null &&
  pass "ListDeals through the edge (REST) holds the demo deal" || fail "ListDeals through the edge (REST): $deals"
deal="$(bufc -d "{\"dealId\":\"$DEAL_ID\"}" "$EDGE_GRPC/flashdeal.catalog.v1.CatalogService/GetDeal" 2>&1)" || deal="{}"
jq -e --arg id "$DEAL_ID" '.deal.dealId == $id and .deal.remainingStock == 100' <<<"$deal" >/dev/null &&
  pass "GetDeal through the edge (gRPC, buf curl)" || fail "GetDeal through the edge (gRPC): $deal"
grpc_login="$(bufc -d '{"email":"grace@flashdeal.local","password":"flashdeal-customer-demo"}' \
  "$EDGE_GRPC/flashdeal.auth.v1.AuthService/LogIn" 2>&1)" || grpc_login="{}"
grace="$(jq -r '.token.accessToken // empty' <<<"$grpc_login" 2>/dev/null)" || grace=""
[[ -n $grace ]] && pass "log-in through the edge (gRPC, buf curl)" || fail "log-in through the edge (gRPC): $grpc_login"

# Server streams pass through the edge unbuffered: the first WatchDeal snapshot arrives while the stream stays open.
watch="$(timeout 3 curl -sN "$EDGE/v1/deals/$DEAL_ID:watch" 2>/dev/null | head -n 1)" || true
jq -e --arg id "$DEAL_ID" '.snapshot.dealId == $id' <<<"$watch" >/dev/null &&
  pass "WatchDeal stream through the edge (REST :watch)" || fail "WatchDeal stream through the edge (REST :watch): $watch"
watch="$(timeout 3 "$BUF" curl --schema "$ROOT/protos" --protocol grpc --http2-prior-knowledge -d "{\"dealId\":\"$DEAL_ID\"}" \
  "$EDGE_GRPC/flashdeal.catalog.v1.CatalogService/WatchDeal" 2>/dev/null)" || true
grep -q "\"dealId\": \"$DEAL_ID\"" <<<"$watch" && pass "WatchDeal stream through the edge (gRPC, buf curl)" ||
  fail "WatchDeal stream through the edge (gRPC): $watch"

# Compression: the services compress REST answers of 1 KiB and more as Accept-Encoding asks and the edge passes their
# bytes through, so a list through the edge is byte for byte what the catalog sends itself, and decodes to its JSON.
CATALOG="http://127.0.0.1:$FLASHDEAL_CATALOG_REST_PORT"
admin="$(curl -fsS -m 10 -X POST "http://127.0.0.1:$FLASHDEAL_AUTH_REST_PORT/v1/auth:logIn" -H 'content-type: application/json' \
  -d '{"email":"admin@flashdeal.local","password":"flashdeal-admin-demo"}' | jq -r .token.accessToken)" || admin=""
for i in $(seq 1 10); do
  curl -fsS -m 10 -o /dev/null -X POST "$CATALOG/v1/products" -H "authorization: Bearer $admin" -H 'content-type: application/json' \
    -d "{\"product\":{\"name\":\"Aurora X$((200 + i)) wireless headphones\",\"category\":\"e2e-compression\",
      \"description\":\"Over-ear, active noise cancelling, 40 h battery.\",\"listPriceCents\":\"24900\",\"currency\":\"USD\"}}" || true
done
list="/v1/products?category=e2e-compression&pageSize=50"
plain="$(curl -fsS -m 10 "$CATALOG$list")" || plain=""
fetch() { # url accept-encoding name: headers in $DATA/name.headers, body as sent in $DATA/name.body
  curl -sS -m 10 -D "$DATA/$3.headers" -o "$DATA/$3.body" -H "accept-encoding: $2" "$1" || true
}
fetch "$EDGE$list" gzip edge-gzip
fetch "$CATALOG$list" gzip catalog-gzip
((${#plain} >= 1024)) && [[ "$(jq '.products | length' <<<"$plain")" == 10 ]] &&
  [[ "$(grep -ic '^content-encoding: gzip' "$DATA/edge-gzip.headers")" == 1 ]] &&
  grep -iq '^vary:.*accept-encoding' "$DATA/edge-gzip.headers" &&
  [[ "$(gzip -dc <"$DATA/edge-gzip.body")" == "$plain" ]] && cmp -s "$DATA/edge-gzip.body" "$DATA/catalog-gzip.body" &&
  pass "a ${#plain}-byte list through the edge: gzip as asked ($(stat -c %s "$DATA/edge-gzip.body") bytes), the catalog's own bytes, its JSON" ||
  fail "a list through the edge with gzip: $(tr -d '\r' <"$DATA/edge-gzip.headers" | grep -i '^content-\|^vary' | tr '\n' ' ')"
br="$(curl -sS -m 10 --compressed -D "$DATA/edge-br.headers" -H 'accept-encoding: gzip, br' "$EDGE$list")" || br=""
grep -iq '^content-encoding: br' "$DATA/edge-br.headers" && [[ $br == "$plain" ]] &&
  pass "the same list through the edge with gzip and br accepted: brotli, the same JSON" ||
  fail "the same list through the edge with gzip and br accepted: $(grep -i '^content-encoding' "$DATA/edge-br.headers")"
fetch "$EDGE/v1/deals/$DEAL_ID" "gzip, br" edge-small
small="$(curl -fsS -m 10 "$CATALOG/v1/deals/$DEAL_ID")" || small=""
no_clock='walk(if type == "object" then del(.serverTime) else . end)' # GetDeal tells the time of each answer
! grep -iq '^content-encoding' "$DATA/edge-small.headers" && ((${#small} < 1024)) &&
  [[ "$(jq -c "$no_clock" "$DATA/edge-small.body")" == "$(jq -c "$no_clock" <<<"$small")" ]] &&
  pass "a ${#small}-byte GetDeal through the edge with gzip and br accepted: not compressed" ||
  fail "a small answer through the edge: $(grep -i '^content-encoding' "$DATA/edge-small.headers")"

# Coupons, refunds and domain events through the edge (docs/coupons.md, orders.md "Refunds", events.md): a deal that
# opens in a few seconds, a one-coupon give-away for it; the coupon claimed over REST (a retry replays it), the last one
# refused over gRPC; an order with the coupon paid over gRPC and cancelled over REST (refunded, units back); then the
# order's and the coupon's events on their Redis streams, each once and in order.
jwt="$(curl -fsS -m 10 -X POST "$EDGE/v1/auth:signUp" -H 'content-type: application/json' \
  -d '{"email":"cora@flashdeal.local","password":"flashdeal-customer-demo"}' >/dev/null && login cora@flashdeal.local)" || jwt=""
opens="$(date -u -d '+4 seconds' +%Y-%m-%dT%H:%M:%SZ)"
sale="$(curl -fsS -m 10 -X POST "$CATALOG/v1/deals" -H "authorization: Bearer $admin" -H 'content-type: application/json' \
  -d "{\"deal\":{\"productId\":\"$PRODUCT_ID\",\"title\":\"e2e coupon deal\",\"dealPriceCents\":\"10000\",\"stock\":5,
    \"perUserLimit\":1,\"startTime\":\"$opens\",\"endTime\":\"$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)\"}}" | jq -r .deal.dealId)" || sale=""
campaign="$(curl -sS -m 10 -X POST "$EDGE/v1/coupon-campaigns" -H "authorization: Bearer $admin" -H 'content-type: application/json' \
  -d "{\"name\":\"e2e give-away\",\"amountOffCents\":\"2500\",\"currency\":\"USD\",\"totalQuantity\":1,\"dealId\":\"$sale\",
    \"startTime\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\",\"endTime\":\"$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)\"}" | jq -r .campaign.campaignId)" || campaign=""
claim() { curl -sS -m 10 -X POST "$EDGE/v1/coupon-campaigns/$campaign:claim" -H "authorization: Bearer $jwt" \
  -H 'content-type: application/json' -d '{"idempotencyKey":"e2e-claim"}'; }
claimed="$(claim)" || claimed="{}"
coupon="$(jq -r '.coupon.couponId // empty' <<<"$claimed")"
again="$(claim)" || again="{}"
[[ -n $jwt && -n $coupon ]] && jq -e --arg c "$coupon" '.replayed == true and .coupon.couponId == $c' <<<"$again" >/dev/null &&
  pass "ClaimCoupon through the edge (REST): coupon $coupon, the retry replays it" ||
  fail "ClaimCoupon through the edge (REST): $claimed / $again"
gone="$(bufc -H "authorization: Bearer $grace" -d "{\"campaignId\":\"$campaign\",\"idempotencyKey\":\"g-claim\"}" \
  "$EDGE_GRPC/flashdeal.coupons.v1.CouponService/ClaimCoupon" 2>&1)" || true
# buf curl prints the ErrorInfo as base64 without its padding.
reason="$(jq -r '.details[0].value // empty' <<<"$gone" 2>/dev/null)" || reason=""
while ((${#reason} % 4)); do reason+="="; done
reason="$(base64 -d <<<"$reason" 2>/dev/null | tr -c '[:print:]' ' ')" || reason=""
jq -e '.code == "failed_precondition"' <<<"$gone" >/dev/null && [[ $reason == *COUPONS_EXHAUSTED*coupons.flashdeal.dev* ]] &&
  pass "ClaimCoupon through the edge (gRPC, buf curl) after the last coupon: FAILED_PRECONDITION COUPONS_EXHAUSTED" ||
  fail "ClaimCoupon through the edge (gRPC) after the last coupon: $gone"
until [[ "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$opens" ]]; do sleep 0.2; done
bought="$(curl -sS -m 10 -X POST "$EDGE/v1/orders" -H "authorization: Bearer $jwt" -H 'content-type: application/json' \
  -d "{\"dealId\":\"$sale\",\"idempotencyKey\":\"e2e-coupon-order\",\"couponId\":\"$coupon\"}")" || bought="{}"
oid="$(jq -r '.order.orderId // empty' <<<"$bought")"
jq -e --arg c "$coupon" '.order.couponId == $c and .order.discountCents == "2500" and .order.totalCents == "7500"' \
  <<<"$bought" >/dev/null && pass "PlaceOrder with the coupon through the edge (REST): 100.00 - 25.00 = 75.00" ||
  fail "PlaceOrder with the coupon through the edge (REST): $bought"
paid="$(bufc -H "authorization: Bearer $jwt" -d "{\"orderId\":\"$oid\",\"paymentToken\":\"tok_e2e\"}" \
  "$EDGE_GRPC/flashdeal.orders.v1.OrderService/PayOrder" 2>&1)" || paid="{}"
refunded="$(curl -sS -m 10 -X POST "$EDGE/v1/orders/$oid:cancel" -H "authorization: Bearer $jwt" \
  -H 'content-type: application/json' -d '{}')" || refunded="{}"
units_left="$(curl -fsS -m 10 "$EDGE/v1/deals/$sale" | jq -r .deal.remainingStock)" || units_left=""
jq -e '.order.status == "ORDER_STATUS_PAID"' <<<"$paid" >/dev/null &&
  jq -e '.order.status == "ORDER_STATUS_REFUNDED" and (.order.refundReference | length > 0)' <<<"$refunded" >/dev/null &&
  [[ $units_left == 5 ]] && pass "PayOrder (gRPC) then CancelOrder (REST) through the edge: REFUNDED, the unit back (5 left)" ||
  fail "pay then cancel through the edge: $paid / $refunded / $units_left left"
# Event types per key, in stream order (redis-cli --json escapes the protobuf bytes).
events_of() { # stream key
  redis-cli -p "$FLASHDEAL_REDIS_PORT" --json XRANGE "$1" - + 2>/dev/null |
    jq -r --arg k "$2" '.[] | (.[1] | [range(0; length; 2) as $i | {(.[$i]): .[$i + 1]}] | add) | select(.key == $k) | .type' |
    sed 's/^flashdeal\.events\.v1\.//' | paste -sd ' '
}
for _ in $(seq 1 100); do
  [[ "$(events_of flashdeal:events:orders "$oid")" == "OrderPlaced OrderPaid OrderRefunded" &&
    "$(events_of flashdeal:events:coupons "$coupon")" == "CouponClaimed CouponRedeemed" ]] && break
  sleep 0.2
done
[[ "$(events_of flashdeal:events:orders "$oid")" == "OrderPlaced OrderPaid OrderRefunded" &&
  "$(events_of flashdeal:events:coupons "$coupon")" == "CouponClaimed CouponRedeemed" ]] &&
  pass "domain events: OrderPlaced OrderPaid OrderRefunded for the order, CouponClaimed CouponRedeemed for the coupon" ||
  fail "domain events: order [$(events_of flashdeal:events:orders "$oid")], coupon [$(events_of flashdeal:events:coupons "$coupon")]"

# The demo deal opens minutes from now: orders refuses it by the window read from Redis.
placed="$(curl -sS -m 10 -X POST "$EDGE/v1/orders" -H "authorization: Bearer $token" -H 'content-type: application/json' \
  -d "{\"dealId\":\"$DEAL_ID\",\"quantity\":1,\"idempotencyKey\":\"e2e-1\"}")" || placed="{}"
jq -e '.details[] | select(.reason == "DEAL_NOT_STARTED")' <<<"$placed" >/dev/null &&
  pass "PlaceOrder through the edge (REST) before the opening: DEAL_NOT_STARTED" || fail "PlaceOrder through the edge: $placed"
mine="$(bufc -H "authorization: Bearer $token" -d '{}' "$EDGE_GRPC/flashdeal.orders.v1.OrderService/ListMyOrders" 2>&1)" || mine="err"
jq -e '(.orders // []) | length == 0' <<<"$mine" >/dev/null &&
  pass "ListMyOrders through the edge (gRPC, buf curl)" || fail "ListMyOrders through the edge (gRPC): $mine"

# Both replicas take traffic: the access log names the upstream of each call.
for _ in $(seq 1 12); do curl -fsS -m 5 -o /dev/null "$EDGE/v1/orders" -H "authorization: Bearer $token" || true; done
for _ in 1 2 3 4; do bufc -H "authorization: Bearer $token" -d '{}' "$EDGE_GRPC/flashdeal.orders.v1.OrderService/ListMyOrders" >/dev/null 2>&1 || true; done
rest_upstreams="$(jq -r 'select(.uri | startswith("/v1/orders")) | .upstream' "$ACCESS_LOG" | sort | uniq -c | tr -s ' ' | tr '\n' ';')"
grpc_upstreams="$(jq -r 'select(.uri | startswith("/flashdeal.orders")) | .upstream' "$ACCESS_LOG" | sort | uniq -c | tr -s ' ' | tr '\n' ';')"
[[ $rest_upstreams == *" $ORDERS_1;"* && $rest_upstreams == *" $ORDERS_2;"* ]] &&
  pass "REST calls reach both orders replicas ($rest_upstreams)" || fail "REST calls reach both orders replicas ($rest_upstreams)"
[[ $grpc_upstreams == *":$FLASHDEAL_ORDERS_GRPC_PORT;"* && $grpc_upstreams == *":$((FLASHDEAL_ORDERS_GRPC_PORT + 1));"* ]] &&
  pass "gRPC calls reach both orders replicas ($grpc_upstreams)" || fail "gRPC calls reach both orders replicas ($grpc_upstreams)"
jq -se 'map(select(.uri == "/v1/orders" and .status == 200)) | length > 0 and
  all((.request_time // .request_time_ms) | type == "number") and
  all((.upstream_response_time // .upstream_response_ms) != "" and .upstream != "")' "$ACCESS_LOG" >/dev/null &&
  pass "access log: JSON lines with status, request and upstream times" ||
  fail "access log: JSON lines with status, request and upstream times"
! grep -q "$token" "$ACCESS_LOG" && pass "access log holds no token" || fail "access log holds a token"

# X-Request-Id: generated when absent, passed on when given.
headers="$(curl -sS -m 5 -D - -o /dev/null "$EDGE/v1/deals/$DEAL_ID")" || headers=""
grep -Eiq '^x-request-id: [0-9a-f]{32}' <<<"$headers" && pass "the edge generates X-Request-Id" || fail "the edge generates X-Request-Id"
headers="$(curl -sS -m 5 -D - -o /dev/null -H 'x-request-id: e2e-req-1' "$EDGE/v1/deals/$DEAL_ID")" || headers=""
grep -iq '^x-request-id: e2e-req-1' <<<"$headers" && grep -q '"request_id":"e2e-req-1"' "$ACCESS_LOG" &&
  pass "the edge keeps a client's X-Request-Id" || fail "the edge keeps a client's X-Request-Id"

# --- errors made by the edge ----------------------------------------------------------------------------------------
unknown="$(curl -sS -m 5 -w '\n%{http_code}' "$EDGE/v2/nothing")" || unknown=""
[[ ${unknown##*$'\n'} == 404 ]] && jq -e '.code == 5 and .details[0].reason == "ROUTE_NOT_FOUND"' <<<"${unknown%$'\n'*}" >/dev/null &&
  pass "unknown REST path: 404 with a google.rpc.Status body" || fail "unknown REST path: $unknown"
big="$(head -c 100000 /dev/zero | tr '\0' a)"
too_large="$(curl -sS -m 5 -o /dev/null -w '%{http_code}' -X POST "$EDGE/v1/auth:logIn" -H 'content-type: application/json' \
  --data-binary "$big")" || too_large=""
[[ $too_large == 413 ]] && pass "a body over the size limit: 413" || fail "a body over the size limit: $too_large"

# Python grpcio (an independent client): the code a trailers-only reply carries, with raw bytes (no stubs needed).
grpc_code() { # path token
  "$PY" - "$FLASHDEAL_EDGE_GRPC_PORT" "$1" "${2:-}" <<'PY' 2>&1
import sys, grpc
port, path, token = sys.argv[1], sys.argv[2], sys.argv[3]
channel = grpc.insecure_channel("127.0.0.1:" + port)
call = channel.unary_unary(path, request_serializer=lambda b: b, response_deserializer=lambda b: b)
metadata = [("authorization", "Bearer " + token)] if token else []
try:
    call(b"", timeout=5, metadata=metadata)
    print("OK")
except grpc.RpcError as e:
    print(e.code().name, e.details())
PY
}
unimplemented="$(grpc_code /grpc.health.v1.Health/Check)"
[[ $unimplemented == UNIMPLEMENTED* ]] && pass "unknown gRPC service: UNIMPLEMENTED (grpcio)" || fail "unknown gRPC service: $unimplemented"
reflection="$("$BUF" curl --protocol grpc --http2-prior-knowledge "$EDGE_GRPC/flashdeal.catalog.v1.CatalogService/ListDeals" 2>&1)" || true
grep -qi "unimplemented\|failed to find service" <<<"$reflection" && pass "server reflection is not routed (buf curl without --schema fails)" ||
  fail "server reflection is not routed: $reflection"

# --- bad input and forged tokens through the edge: a clear 4xx or gRPC status, and the next caller unaffected ----------
# Each bad REST request is followed on the same keep-alive connection (curl --next) by a good one, which must succeed.
bad_then_good() { # label content-type body-file expected-status
  local out
  out="$(curl -sS -m 10 -o /dev/null -w '%{http_code} ' -X POST "$EDGE/v1/auth:logIn" -H "content-type: $2" --data-binary @"$3" \
    --next -sS -m 10 -o /dev/null -w '%{http_code} %{num_connects}' "$EDGE/v1/deals/$DEAL_ID")" || out="curl failed"
  # The second transfer reuses the connection: 0 new connects.
  [[ $out == "$4 200 0" ]] && pass "bad input through the edge: $1 → $4, the next request on the connection → 200" ||
    fail "bad input through the edge: $1: $out (expected '$4 200 0')"
}
printf '{"email":"\xff\xfe","password":"\xc3\x28"}' >"$DATA/bad-utf8.json"
printf '{"email": "ada@flashdeal.local", "password": ' >"$DATA/truncated.json"
"$PY" -c 'print("{\"email\":" + "[" * 5000 + "]" * 5000 + "}")' >"$DATA/deep.json"
printf 'email=ada&password=x' >"$DATA/form.txt"
"$PY" -c 'import json; print(json.dumps({"email": "a" * 60000 + "@example.com", "password": "x"}))' >"$DATA/huge-field.json"
bad_then_good "invalid UTF-8 JSON" application/json "$DATA/bad-utf8.json" 400
bad_then_good "malformed JSON" application/json "$DATA/truncated.json" 400
bad_then_good "JSON nested 5000 deep" application/json "$DATA/deep.json" 400
bad_then_good "not JSON (form body)" application/x-www-form-urlencoded "$DATA/form.txt" 400
bad_then_good "a 60 KB field" application/json "$DATA/huge-field.json" 400
body="$(curl -sS -m 10 -X POST "$EDGE/v1/auth:logIn" -H 'content-type: application/json' --data-binary @"$DATA/deep.json")" || body=""
jq -e '.code == 3 and (.message | length > 0)' <<<"$body" >/dev/null && pass "bad JSON: a google.rpc.Status body (INVALID_ARGUMENT)" ||
  fail "bad JSON: a google.rpc.Status body: $body"

# gRPC: garbage protobuf bytes in a well-formed frame, then a good call on the same channel (grpcio).
garbage="$("$PY" - "$FLASHDEAL_EDGE_GRPC_PORT" "$DEAL_ID" <<'PY' 2>&1
import sys, grpc
port, deal = sys.argv[1], sys.argv[2]
channel = grpc.insecure_channel("127.0.0.1:" + port)
raw = channel.unary_unary("/flashdeal.catalog.v1.CatalogService/GetDeal", request_serializer=lambda b: b,
                          response_deserializer=lambda b: b)
try:
    raw(b"\xff\xff\xff\xff\x0f\x0a\x99garbage", timeout=10)
    print("OK?!")
except grpc.RpcError as e:
    print(e.code().name)
good = raw(b"\x0a\x24" + deal.encode(), timeout=10)
print("next call OK" if len(good) > 0 else "next call empty")
PY
)"
[[ $garbage == $'INVALID_ARGUMENT\nnext call OK' ]] &&
  pass "garbage protobuf through the edge: ${garbage%%$'\n'*}, the next call on the channel OK (grpcio)" ||
  fail "garbage protobuf through the edge (grpcio): $garbage"

# Forged tokens (tests/e2e/forge-token.py; the claim checks are reached with the mesh's real key): REST 401 with the
# reason, gRPC UNAUTHENTICATED — never a 500, a 503 or an HTML page.
key="$(ls "$FLASHDEAL_DATA"/keys/*.pem | head -1)"
for attack in alg-none hs256-with-public-key changed-claims foreign-key-same-kid jku-header-injection kid-path-traversal \
  rs256 jwe-shape expired not-yet-valid wrong-issuer wrong-audience missing-exp oversized-64k; do
  forged="$("$PY" tests/e2e/forge-token.py "$attack" "$token" "$key" 2>&1)" || { fail "forge $attack: $forged"; continue; }
  want=ACCESS_TOKEN_INVALID; [[ $attack == expired ]] && want=ACCESS_TOKEN_EXPIRED
  rest="$(curl -sS -m 10 -w '\n%{http_code}' "$EDGE/v1/orders" -H "authorization: Bearer $forged")" || rest=""
  grpc="$(grpc_code /flashdeal.orders.v1.OrderService/ListMyOrders "$forged")"
  [[ ${rest##*$'\n'} == 401 ]] && jq -e --arg r "$want" '.code == 16 and any(.details[]; .reason == $r)' <<<"${rest%$'\n'*}" >/dev/null &&
    [[ $grpc == UNAUTHENTICATED* ]] && pass "forged token through the edge ($attack): 401 $want, gRPC UNAUTHENTICATED" ||
    fail "forged token through the edge ($attack): REST ${rest##*$'\n'} ${rest%$'\n'*}, gRPC $grpc"
done

# Rate limits: PlaceOrder is limited per caller (this test: one per 10 s, no burst). ada already placed one.
statuses=() body=""
for i in 2 3 4; do
  out="$(curl -sS -m 5 -D "$DATA/limited.headers" -w '\n%{http_code}' -X POST "$EDGE/v1/orders" -H "authorization: Bearer $token" \
    -H 'content-type: application/json' -d "{\"dealId\":\"$DEAL_ID\",\"quantity\":1,\"idempotencyKey\":\"e2e-$i\"}")" || out=""
  statuses+=("${out##*$'\n'}")
  [[ ${out##*$'\n'} == 429 ]] && { body="${out%$'\n'*}"; break; }
done
[[ " ${statuses[*]} " == *" 429 "* ]] && jq -e '.code == 8 and (.details[0]["@type"] | endswith("google.rpc.ErrorInfo"))
  and .details[0].reason == "RATE_LIMITED" and .details[0].domain == "edge.flashdeal"' <<<"$body" >/dev/null &&
  grep -iq '^retry-after: [0-9]' "$DATA/limited.headers" &&
  pass "REST PlaceOrder over the limit: 429, RATE_LIMITED, Retry-After (${statuses[*]})" ||
  fail "REST PlaceOrder over the limit (${statuses[*]}): $body"
# grace has her own bucket: her first PlaceOrder (gRPC) passes the edge, the next ones are refused.
first="$(bufc -H "authorization: Bearer $grace" -d "{\"dealId\":\"$DEAL_ID\",\"quantity\":1,\"idempotencyKey\":\"g-1\"}" \
  "$EDGE_GRPC/flashdeal.orders.v1.OrderService/PlaceOrder" 2>&1)" || true
jq -e '.code == "failed_precondition"' <<<"$first" >/dev/null && pass "per caller: another user's PlaceOrder still reaches orders" ||
  fail "per caller: another user's PlaceOrder still reaches orders: $first"
limited="$(bufc -H "authorization: Bearer $grace" -d "{\"dealId\":\"$DEAL_ID\",\"quantity\":1,\"idempotencyKey\":\"g-2\"}" \
  "$EDGE_GRPC/flashdeal.orders.v1.OrderService/PlaceOrder" 2>&1)" || true
info="$(jq -r '.details[0].value // empty' <<<"$limited" 2>/dev/null | base64 -d 2>/dev/null | tr -c '[:print:]' ' ')" || info=""
jq -e '.code == "resource_exhausted" and .details[0].type == "google.rpc.ErrorInfo"' <<<"$limited" >/dev/null &&
  [[ $info == *RATE_LIMITED*edge.flashdeal* ]] && pass "gRPC PlaceOrder over the limit: RESOURCE_EXHAUSTED with ErrorInfo RATE_LIMITED (buf curl)" ||
  fail "gRPC PlaceOrder over the limit (buf curl): $limited"
exhausted="$(grpc_code /flashdeal.orders.v1.OrderService/PlaceOrder "$grace")"
[[ $exhausted == RESOURCE_EXHAUSTED* ]] && pass "gRPC PlaceOrder over the limit: RESOURCE_EXHAUSTED (grpcio)" ||
  fail "gRPC PlaceOrder over the limit (grpcio): $exhausted"
if command -v nghttp >/dev/null; then
  frames="$(printf '\0\0\0\0\0' | nghttp -v --no-content-length -H ':method: POST' -H 'content-type: application/grpc' \
    -H 'te: trailers' -H "authorization: Bearer $grace" -d - "$EDGE_GRPC/flashdeal.orders.v1.OrderService/PlaceOrder" 2>&1)" || true
  grep -q 'recv (stream_id=[0-9]*) :status: 200' <<<"$frames" && grep -q 'recv (stream_id=[0-9]*) grpc-status: 8' <<<"$frames" &&
    grep -q 'recv (stream_id=[0-9]*) content-type: application/grpc' <<<"$frames" &&
    grep -A1 'recv HEADERS frame' <<<"$frames" | grep -q 'END_STREAM' && ! grep -q 'recv DATA frame' <<<"$frames" &&
    pass "the refusal is trailers-only: one HEADERS frame, END_STREAM, :status 200, grpc-status 8 (nghttp)" ||
    fail "the refusal is trailers-only (nghttp): $(grep recv <<<"$frames" | tail -12)"
fi

# Sign-up per address (default limits: 20/s, burst 50): 90 sign-ups at once over one connection, the tail is refused.
# Last of the anonymous calls: it also drains this address's caller bucket. Two layers limit sign-up per address: auth
# itself (1/s, burst 10) refuses first, then the edge (20/s, burst 50) stops the rest before it reaches auth.
urls=()
for _ in $(seq 1 90); do urls+=("$EDGE/v1/auth:signUp"); done
out="$(curl -s -m 20 -w '\n%{http_code}\n' -H 'content-type: application/json' -d '{}' "${urls[@]}" 2>/dev/null || true)"
refused="$(grep -c '^429$' <<<"$out" || true)" served="$(grep -c '^400$' <<<"$out" || true)"
by_auth="$(grep -o '"domain": *"auth.flashdeal.dev"' <<<"$out" | wc -l)" by_edge="$(grep -o '"domain": *"edge.flashdeal"' <<<"$out" | wc -l)"
((served >= 1 && refused + served == 90 && by_auth > 0 && by_edge > 0 && by_auth + by_edge == refused)) &&
  pass "sign-up per address: $served served (400, empty body), $refused refused with 429 ($by_auth by auth, $by_edge by the edge)" ||
  fail "sign-up per address: $served served, $refused refused ($by_auth by auth, $by_edge by the edge)"

# >>> INTEGRATOR HOOK: the load tool's spike run through the edge goes here, e.g.
# >>>   ./flashdeal load spike --users 200 --stock 50 --opens-in 3s --threshold "errors<0.5%" --timeout 60s --quiet
# >>> (it reads the edge URLs, PostgreSQL, Redis and the admin from $FLASHDEAL_DATA/mesh.env). Run it with
# >>> FLASHDEAL_EDGE_ORDER_RATE / _BURST raised at `up` (this test limits PlaceOrder hard) or against a second `up`.

# --- status ---------------------------------------------------------------------------------------------------------
if status="$(./flashdeal status 2>&1)"; then pass "flashdeal status exits 0"; else fail "flashdeal status exits 0"; fi
echo "$status" | sed 's/^/        /'
for name in edge auth catalog orders-1 orders-2 redis postgres prometheus $EXPORTERS; do
  grep -Eq "^$name +[0-9]+ +yes +(ready|PONG)" <<<"$status" && pass "status: $name alive and healthy" || fail "status: $name alive and healthy"
done
grep -Eq "^prometheus .*8/8 targets up" <<<"$status" && pass "status: Prometheus's URL and 8/8 targets up" ||
  fail "status: Prometheus targets (needs Debian's prometheus and exporters: ./flashdeal up installs them as root)"
grep -Eq "^orders-1 .*stream lag [0-9]+, pending [0-9]+" <<<"$status" && grep -Eq "^orders-2 .*stream lag [0-9]+, pending [0-9]+" <<<"$status" &&
  pass "status: stream lag of each orders replica" || fail "status: stream lag of each orders replica"
grep -q "$DEAL_ID: DEAL_STATE_UPCOMING, 100 of 100 left" <<<"$status" && pass "status: demo deal stock" || fail "status: demo deal stock"

# --- one replica dies: the edge keeps serving orders ----------------------------------------------------------------
files=("$FLASHDEAL_DATA"/run/*.pid)
names="$(for f in "${files[@]}"; do basename "$f" .pid; done | sort | tr '\n' ' ')"
want="$(tr ' ' '\n' <<<"auth catalog edge orders-1 orders-2 postgres prometheus redis $EXPORTERS" | sort | tr '\n' ' ')"
[[ $names == "$want" ]] && pass "pid files: postgres, redis, auth, catalog, orders-1, orders-2, edge, prometheus, $EXPORTERS" ||
  fail "pid files: $names"
code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$FLASHDEAL_PROMETHEUS_PORT/-/ready")"
targets="$(curl -s "http://127.0.0.1:$FLASHDEAL_PROMETHEUS_PORT/api/v1/targets?state=active" |
  jq -r '[.data.activeTargets[] | select(.health == "up")] | length')"
[[ $code == 200 && $targets == 8 ]] && pass "Prometheus ready, all 8 targets up (3 services × their replicas, edge, redis, postgres, itself)" ||
  fail "Prometheus: ready $code, targets up $targets of 8"
mesh_snapshot_pids # for the leftover check after down

kill -9 "$(cat "$FLASHDEAL_DATA/run/orders-2.pid")"
sleep 0.3
codes=()
for _ in $(seq 1 8); do codes+=("$(curl -sS -m 5 -o /dev/null -w '%{http_code}' "$EDGE/v1/orders" -H "authorization: Bearer $token" || true)"); done
[[ "${codes[*]}" == "200 200 200 200 200 200 200 200" ]] && pass "orders-2 killed: REST orders calls through the edge all succeed" ||
  fail "orders-2 killed: REST orders calls through the edge: ${codes[*]}"
ok=0
for _ in 1 2 3; do bufc -H "authorization: Bearer $token" -d '{}' "$EDGE_GRPC/flashdeal.orders.v1.OrderService/ListMyOrders" >/dev/null 2>&1 && ok=$((ok + 1)); done
((ok == 3)) && pass "orders-2 killed: gRPC orders calls through the edge all succeed" || fail "orders-2 killed: gRPC calls: $ok of 3 succeed"
status="$(./flashdeal status 2>&1)" && fail "status exits non-zero with a replica down" || pass "status exits non-zero with a replica down"
grep -Eq "^orders-2 +[0-9]+ +no " <<<"$status" && pass "status: orders-2 not alive" || fail "status: orders-2 not alive: $status"

# --- down -----------------------------------------------------------------------------------------------------------
check_down_leaves_nothing
[[ -z "$(ls -A "$FLASHDEAL_DATA/run")" ]] && pass "run/ is empty" || fail "run/ is empty"

echo "e2e: $passed passed, $failed failed"
((failed == 0))
