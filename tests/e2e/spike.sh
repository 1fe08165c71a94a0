#!/usr/bin/env bash
# End-to-end flash sale: `./flashdeal up --detach` on embedded defaults (two orders replicas behind the nginx edge),
# then the load tool drives short deal spikes through the edge — over REST and over gRPC — and checks its invariants in
# PostgreSQL and Redis; a third run hammers with a few users to show the per-user rate limits refusing calls without
# costing correctness; then `./flashdeal down` must leave nothing running.
#
# The mesh runs with FLASHDEAL_LOCAL_LOAD=1 (every simulated user comes from 127.0.0.1, so address-keyed limits are
# raised; PlaceOrder's per-user limits stay) and cheap password hashes. Ports and data folder: mesh_setup in lib.sh
# (FLASHDEAL_*_PORT already set, else FLASHDEAL_E2E_PORT_BASE, else a free block); a fresh temporary data folder. FLASHDEAL_SKIP_BUILD=1 when the Release build is fresh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
source tests/e2e/lib.sh

mesh_setup spike
export FLASHDEAL_ORDERS_REPLICAS=2 FLASHDEAL_LOCAL_LOAD=1 FLASHDEAL_PASSWORD_ITERATIONS=1000 FLASHDEAL_EDGE_RATE_LIMITS=on
unset FLASHDEAL_SERVICE_RATE_LIMITS FLASHDEAL_EDGE_ORDER_RATE FLASHDEAL_EDGE_ORDER_BURST
PY=/usr/bin/python3

echo "e2e spike: local mesh in $FLASHDEAL_DATA on ports ${PORTS[*]}"
if timeout 150 ./flashdeal up --detach >"$DATA/up.out" 2>&1; then
  pass "flashdeal up --detach (2 orders replicas, edge, FLASHDEAL_LOCAL_LOAD=1)"
else
  fail "flashdeal up --detach"; tail -n 40 "$DATA/up.out"
  echo "e2e spike: $passed passed, $failed failed"; exit 1
fi

# report <dir> <python expression over r (report.json), place (place_order over the run), outcomes (name -> count)>
report() {
  "$PY" - "$1/report.json" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
place = next((o for o in r["operations"] if o["operation"] == "place_order"), {"outcomes": []})
outcomes = {o["outcome"]: o["count"] for o in place["outcomes"]}
value = eval(sys.argv[2], {}, {"r": r, "place": place, "outcomes": outcomes})
print(value)
sys.exit(0 if value is True or (value not in (False, None) and not isinstance(value, bool)) else 1)
PY
}

# --- the deal spike over each transport -----------------------------------------------------------------------------
# 400 users (2,000 over gRPC: the metrics must not grow a series per user) logged in beforehand, a 100-unit deal (2 per
# user) opening 3 s later, 300 visits/s for 5 s through the edge.
for transport in rest grpc; do
  out="$DATA/$transport" users=400
  [[ $transport == grpc ]] && users=2000
  if timeout 150 ./flashdeal load spike --transport "$transport" --users "$users" --stock 100 --per-user-limit 2 --opens-in 3s \
    --stages "spike:5s:300:hold" --threshold "errors<1%" --threshold "place_order@spike:p99<3s" --timeout 90s \
    --quiet --out "$out" >"$out.log" 2>&1; then
    pass "$transport: load spike through the edge exits 0 (thresholds and invariants pass)"
  else
    fail "$transport: load spike exit code (log below)"; tail -n 60 "$out.log"
    continue
  fi
  [[ -f $out/report.json && -f $out/report.md && -f $out/chart.svg ]] && pass "$transport: report.json, report.md, chart.svg written" ||
    fail "$transport: report files"
  check "$transport: report metadata names the transport and the edge" report "$out" \
    "r['metadata']['transport'] == '$transport' and r['metadata']['target'].endswith(':' + ('$FLASHDEAL_EDGE_REST_PORT' if '$transport' == 'rest' else '$FLASHDEAL_EDGE_GRPC_PORT'))"
  check "$transport: 8 invariants, all passed (counted in PostgreSQL and Redis)" report "$out" \
    "len(r['invariants']) == 8 and all(i['passed'] for i in r['invariants'])"
  accepted="$(report "$out" "outcomes.get('OK', 0)" || true)"
  [[ $accepted == 100 ]] && pass "$transport: exactly the stock accepted (100)" || fail "$transport: accepted $accepted, stock 100"
  refused="$(report "$out" "outcomes.get('SOLD_OUT', 0) + outcomes.get('INSUFFICIENT_STOCK', 0)" || true)"
  ((refused > 0)) && pass "$transport: the flood after sell-out answered SOLD_OUT ($refused calls)" || fail "$transport: no SOLD_OUT answers"
done

# Both replicas took PlaceOrder calls during the spikes (the edge's access log names the upstream of each request).
log="$FLASHDEAL_DATA/logs/edge-access.log"
for port in "$FLASHDEAL_ORDERS_GRPC_PORT" $((FLASHDEAL_ORDERS_GRPC_PORT + 1)); do
  n="$(grep -c "PlaceOrder.*127.0.0.1:$port\|127.0.0.1:$port.*PlaceOrder" "$log" || true)"
  ((n > 0)) && pass "gRPC PlaceOrder reached the replica on $port ($n calls)" || fail "no gRPC PlaceOrder reached the replica on $port"
done

# The edge starts the trace of a call that brings none: its traceparent carries the request id as trace id (the access
# log records what it sent upstream; the load tool sends no traceparent).
if "$PY" - "$log" <<'PY'
import json, sys
entries = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
lines = [e for e in entries if e["uri"] == "/v1/orders" or e["uri"].endswith("/PlaceOrder")]
def started_by_edge(tp):
    parts = tp.split("-")
    return len(parts) == 4 and parts[0] == "00" and len(parts[1]) == 32 and parts[2] == parts[1][:16] and parts[3] == "01"
ok = [l for l in lines if started_by_edge(l["traceparent"])]
sys.exit(0 if lines and len(ok) == len(lines) else 1)
PY
then
  pass "the edge started a W3C trace for every order call (traceparent 00-<request id>-<its first 16 digits>-01)"
else
  fail "the edge's traceparent for PlaceOrder calls (access log $log)"
fi

# --- per-user rate limits under a spike -------------------------------------------------------------------------------
# Five users, each as fast as it can (closed loop, 10 virtual users): the edge (5/s, burst 10 per caller) and the
# orders replicas (3/s, burst 5 per user each) refuse the excess with RATE_LIMITED; the stores must still agree.
out="$DATA/hammer"
if timeout 90 ./flashdeal load spike --transport grpc --users 5 --stock 1000 --per-user-limit 1000 --opens-in 2s --mode closed \
  --stages "hammer:3s:10:hold" --poll-fraction 0 --timeout 60s --quiet --out "$out" >"$out.log" 2>&1; then
  pass "hammer: load run exits 0 (invariants pass)"
else
  fail "hammer: load run exit code (log below)"; tail -n 60 "$out.log"
fi
limited="$(report "$out" "outcomes.get('RATE_LIMITED', 0)" || true)" accepted="$(report "$out" "outcomes.get('OK', 0)" || true)"
((limited > 0 && accepted > 0)) && pass "hammer: RATE_LIMITED refusals ($limited) beside accepted orders ($accepted)" ||
  fail "hammer: RATE_LIMITED $limited, accepted $accepted"
check "hammer: invariants all passed with the refusals (a refused call takes no stock)" report "$out" \
  "len(r['invariants']) == 8 and all(i['passed'] for i in r['invariants'])"

# --- what Prometheus saw --------------------------------------------------------------------------------------------
# A refused token through the edge (the token-rejection panel has something to show), then every dashboard panel and
# alert series evaluated against the mesh's Prometheus, the accepted counters against the load tool's, cardinality.
prom="$(sed -n 's/^FLASHDEAL_PROMETHEUS_URL=//p' "$FLASHDEAL_DATA/mesh.env")"
if [[ -n $prom ]]; then
  code="$(curl -s -o /dev/null -w '%{http_code}' -H 'authorization: Bearer not.a.token' "http://127.0.0.1:$FLASHDEAL_EDGE_REST_PORT/v1/orders")"
  [[ $code == 401 ]] && pass "a forged token through the edge is 401" || fail "forged token: HTTP $code"
  if timeout 240 "$PY" tests/e2e/observability.py "$prom" "postgresql://app@127.0.0.1:$FLASHDEAL_PG_PORT/flashdeal" \
    "$DATA/rest/report.json" "$DATA/grpc/report.json" >"$DATA/observability.out" 2>&1; then
    pass "Prometheus: $(tail -n 1 "$DATA/observability.out")"
  else
    fail "Prometheus: dashboards, alerts, counters or cardinality (below)"; grep -v '^  ok' "$DATA/observability.out"
  fi
  deal="$(report "$DATA/grpc" "r['metadata']['deal_id']" || true)"
  if FLASHDEAL_SKIP_BUILD=1 timeout 60 ./flashdeal top --once >"$DATA/top.out" 2>&1 && grep -q "${deal:0:8}" "$DATA/top.out"; then
    pass "flashdeal top --once shows the spike's deal"
  else
    fail "flashdeal top --once"; cat "$DATA/top.out"
  fi
else
  fail "the mesh runs no Prometheus (mesh.env has no FLASHDEAL_PROMETHEUS_URL): install prometheus (./flashdeal up does as root)"
fi

# --- down -----------------------------------------------------------------------------------------------------------
mesh_snapshot_pids
check_down_leaves_nothing

echo "e2e spike: $passed passed, $failed failed"
((failed == 0))
