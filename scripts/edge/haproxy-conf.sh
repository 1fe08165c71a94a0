#!/usr/bin/env bash
# Prints the HAProxy configuration of the local edge (./flashdeal up, the default edge; docs/local-mesh.md). The same
# routes, limits, headers and error bodies as scripts/edge/nginx-conf.sh (the alternative edge, FLASHDEAL_EDGE=nginx),
# from the same inputs:
#   EDGE_DIR                      the edge's folder: the error-response files live here
#   EDGE_UPSTREAM_<SERVICE>_REST  "host:port host:port ..." (e.g. EDGE_UPSTREAM_ORDERS_REST)
#   EDGE_UPSTREAM_<SERVICE>_GRPC  the same for the gRPC ports, in the same order (a replica's gRPC server is health-checked
#                                 on its REST port's /readyz)
#   FLASHDEAL_EDGE_*              listeners, rate limits, sizes, timeouts (defaults below; docs/local-mesh.md)
# Why HAProxy: it multiplexes gRPC calls over a few HTTP/2 connections to each replica, where nginx opens one upstream
# stream per connection; the services then spend half the CPU per call (docs/benchmarks.md, "The front door").
# Access log: JSON lines on stdout (the mesh writes them to edge-access.log); HAProxy's own messages on stderr.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/edge/edge-common.sh
source "$here/edge-common.sh"

: "${EDGE_DIR:?}"
threads="${FLASHDEAL_EDGE_WORKERS:-auto}"
[[ $threads == auto ]] && threads="$(nproc 2>/dev/null || echo 2)"
[[ $threads =~ ^[1-9][0-9]?$ ]] || die "FLASHDEAL_EDGE_WORKERS must be auto or a number of threads (got '$threads')"

seconds() { # an nginx-style duration (5s, 2m, 1h, 500ms) → HAProxy's (the same units)
  [[ $1 =~ ^[0-9]+(ms|s|m|h)?$ ]] || die "a duration looks like 500ms, 5s, 2m or 1h (got '$1')"
  echo "$1"
}
connect_timeout=$(seconds "$connect_timeout") read_timeout=$(seconds "$read_timeout")
stream_timeout=$(seconds "$stream_timeout") fail_timeout=$(seconds "$fail_timeout")
max_body_bytes=$(size_bytes "$max_body")

# A rate limit "N r/s" (or r/m) with a burst B, as nginx's limit_req means it (B+1 at once, then N per second on
# average), over a sliding window: at most B+1 accepted requests in any (B+1)/N seconds. Prints "window-ms limit".
window() { # rate burst
  local n=${1%r/*} unit=${1#*r/} burst=$2 per_ms
  ((n > 0)) || die "a rate must be above 0 (got '$1')"
  per_ms=1000; [[ $unit == m ]] && per_ms=60000
  echo "$(((burst + 1) * per_ms / n)) $((burst + 1))"
}
read -r user_window user_limit < <(window "$user_rate" "$user_burst")
read -r auth_window auth_limit < <(window "$auth_rate" "$auth_burst")
read -r order_window order_limit < <(window "$order_rate" "$order_burst")

# --- error responses: files HAProxy sends as they are ----------------------------------------------------------------
errors="$EDGE_DIR/errors"
mkdir -p "$errors"
rest_file() { # name status reason-phrase code message reason [extra header line]
  local body; body="$(status_json "$3" "$4" "$5")"
  printf 'HTTP/1.1 %s\r\ncontent-type: application/json\r\ncache-control: no-store\r\n%scontent-length: %d\r\n\r\n%s' \
    "$2" "${6:+$6$'\r\n'}" "${#body}" "$body" >"$errors/$1"
}
grpc_file() { # name code message reason [extra header line]: a trailers-only gRPC answer
  printf 'HTTP/1.1 200 OK\r\ncontent-type: application/grpc\r\ngrpc-status: %s\r\ngrpc-message: %s\r\ngrpc-status-details-bin: %s\r\n%scontent-length: 0\r\n\r\n' \
    "$2" "$3" "$(status_bin "$2" "$3" "$4")" "${5:+$5$'\r\n'}" >"$errors/$1"
}
rest_file rest-unavailable.http "503 Service Unavailable" 14 "$unavailable_msg" UPSTREAM_UNAVAILABLE "retry-after: $retry_after"
rest_file rest-bad-request.http "400 Bad Request" 3 "malformed request at the edge" BAD_REQUEST
rest_file rest-timeout.http "408 Request Timeout" 4 "the request was not received in time" REQUEST_TIMEOUT
rest_file rest-no-route.http "404 Not Found" 5 "no route for this path at the edge" ROUTE_NOT_FOUND
rest_file rest-limited.http "429 Too Many Requests" 8 "$limited_msg" RATE_LIMITED "retry-after: $retry_after"
rest_file rest-too-large.http "413 Payload Too Large" 3 "$too_large_msg" REQUEST_TOO_LARGE
grpc_file grpc-unavailable.http 14 "$unavailable_msg" UPSTREAM_UNAVAILABLE
grpc_file grpc-bad-request.http 13 "malformed request at the edge" BAD_REQUEST
grpc_file grpc-no-route.http 12 "unknown service or method at the edge" ROUTE_NOT_FOUND
grpc_file grpc-limited.http 8 "$limited_msg" RATE_LIMITED "retry-after: $retry_after"
grpc_file grpc-too-large.http 8 "$too_large_msg" REQUEST_TOO_LARGE

# An edge-made answer from one of those files (the status repeated so the access log records it).
reply() { # file
  local status=200
  [[ $1 == rest-* ]] && status="$(sed -n '1s/^HTTP\/1.1 \([0-9]*\).*/\1/p' "$errors/$1")"
  echo "http-request return status $status errorfile $errors/$1"
}


# JSON access log: the fields of the nginx edge's log (times in ms), one object per line; never the Authorization
# header. Text fields are JSON-escaped (json converter), then its "\/" turned back into "/".
access_log='{"time":"%[date,ltime(%Y-%m-%dT%H:%M:%S%z)]","listener":%fp,"client":"%ci","method":"%HM",'
access_log+='"uri":"%[var(txn.uri),json(utf8s),regsub(\\\\/,/,g)]","protocol":"%HV","status":%ST,"grpc_status":"%[var(txn.grpc_status)]",'
access_log+='"bytes_sent":%B,"request_time_ms":%Ta,"upstream":"%si:%sp","upstream_status":"%ST",'
access_log+='"upstream_connect_ms":%Tc,"upstream_response_ms":%Tr,"request_id":"%[var(txn.rid),json(utf8s),regsub(\\\\/,/,g)]",'
access_log+='"traceparent":"%[var(txn.traceparent)]","user_agent":"%[var(txn.ua),json(utf8s),regsub(\\\\/,/,g)]"}'

cat <<CONF
# Generated by scripts/edge/haproxy-conf.sh for ./flashdeal up — edit the script (or the chart's routes), not this file.
global
  nbthread $threads
  maxconn 8000
  # A request's headers must fit in one buffer (less the room kept for rewrites): up to 96 KiB reach the services, which
  # refuse an oversized bearer token with 401 and its reason (their own limit is 160 KiB). Larger buffers cost: from
  # 128 KiB on, the edge answered 3-4x fewer gRPC calls/s (measured: 104 KiB 11,000/s, 128 KiB 2,900-4,200/s).
  tune.bufsize 106496
  tune.maxrewrite 8192
  tune.h2.max-concurrent-streams 1000
  log stdout format raw local0 info
  hard-stop-after 30s

defaults
  mode http
  log global
  option dontlognull
  timeout connect $connect_timeout
  timeout client 75s
  timeout http-request 10s
  timeout http-keep-alive 75s
  timeout server $read_timeout
  # A replica that refused the connection, or closed it without answering: one more try, on another replica. Only a
  # request with no answer at all is sent again, and a PlaceOrder resent this way is still one order (its idempotency key).
  retries 1
  option redispatch 1
  retry-on conn-failure empty-response
  http-reuse always
  # No compression here (no "compression" line): the services compress REST answers of 1 KiB and more as the client's
  # Accept-Encoding asks (brotli or gzip) and the edge passes their bytes and headers through untouched, so edge and
  # service answer alike and nothing is compressed twice. HAProxy 2.6 from Debian has gzip only (libslz), no brotli.

# Rate limits (FLASHDEAL_EDGE_*_RATE / _BURST): per caller (the bearer token's signature, else the client address), and
# for sign-up/log-in (per address) and PlaceOrder (per caller) their own. Sliding windows of accepted requests.
backend limit_caller
  stick-table type string len 96 size 200k expire 60s store gpc_rate(1,${user_window}ms)
backend limit_auth
  stick-table type ip size 200k expire 60s store gpc_rate(1,${auth_window}ms)
backend limit_order
  stick-table type string len 96 size 200k expire 60s store gpc_rate(1,${order_window}ms)
CONF

# Rules shared by both listeners: who is calling, request ids, trace context, forwarded headers, limits, body size.
front_rules() { # kind (rest|grpc)
  local kind=$1
  cat <<CONF
  # X-Request-Id: the client's, or one made here (32 hex digits); the same id starts the W3C trace when the client
  # sent no valid traceparent (trace id = the id, the edge's span id = its first 16 digits, sampled).
  http-request set-var(txn.gen) uuid,regsub(-,,g)
  http-request set-var(txn.rid) req.fhdr(x-request-id) if { req.fhdr(x-request-id) -m len gt 0 }
  http-request set-var(txn.rid) var(txn.gen) unless { var(txn.rid) -m found }
  http-request set-header traceparent 00-%[var(txn.gen)]-%[var(txn.gen),bytes(0,16)]-01 unless { req.fhdr(traceparent) -m reg ^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}\$ }
  http-request set-var(txn.traceparent) req.fhdr(traceparent)
  http-request set-var(txn.uri) capture.req.uri
  http-request set-var(txn.ua) req.fhdr(user-agent)
  http-request set-header X-Request-Id %[var(txn.rid)]
  # The edge is the first hop: X-Forwarded-For is the address it saw.
  http-request set-header X-Forwarded-For %[src]
CONF
  [[ $kind == rest ]] && echo "  http-request set-header X-Forwarded-Proto http"
  [[ $kind == grpc ]] && echo "  http-after-response set-var(txn.grpc_status) res.fhdr(grpc-status)"
  cat <<CONF
  http-after-response set-header X-Request-Id %[var(txn.rid)]
CONF
  if [[ $limits == on ]]; then
    local refuse; refuse="$(reply "$kind-limited.http")"
    cat <<CONF
  http-request set-var(txn.caller) req.fhdr(authorization),field(3,.),concat(token:,,) if { req.fhdr(authorization) -m reg -i ^bearer\\s+[^.\\s]+\\.[^.\\s]+\\.[A-Za-z0-9_-]+\\s*\$ }
  http-request set-var(txn.caller) src,ipmask(32,64),concat(address:,,) unless { var(txn.caller) -m found }
  http-request track-sc0 var(txn.caller) table limit_caller
  acl auth_call method POST
  acl auth_path path /v1/auth:signUp /v1/auth:logIn /v1/auth:refresh /flashdeal.auth.v1.AuthService/SignUp /flashdeal.auth.v1.AuthService/LogIn /flashdeal.auth.v1.AuthService/Refresh
  acl order_path path /v1/orders /flashdeal.orders.v1.OrderService/PlaceOrder
  http-request track-sc1 src table limit_auth if auth_call auth_path
  http-request track-sc2 var(txn.caller) table limit_order if auth_call order_path
  $refuse if { sc_gpc_rate(0,0) ge $user_limit }
  $refuse if { sc_gpc_rate(0,1) ge $auth_limit }
  $refuse if { sc_gpc_rate(0,2) ge $order_limit }
  http-request sc-inc-gpc(0,0)
  http-request sc-inc-gpc(0,1) if { sc1_tracked }
  http-request sc-inc-gpc(0,2) if { sc2_tracked }
CONF
  fi
  # Whole bodies up to the limit are read before routing (a gRPC unary request or a REST body); larger → refused.
  local too_large; too_large="$(reply "$kind-too-large.http")"
  cat <<CONF
  $too_large if { req.hdr_val(content-length) gt $max_body_bytes }
  http-request wait-for-body time 5s at-least $((max_body_bytes + 1))
  $too_large if { req.body_size gt $max_body_bytes }
CONF
}

# One listener: its rules, a backend per route of its kind, and the edge's own answer for everything else.
frontend() { # kind bind-options errorfile-400 errorfile-408
  local kind=$1 route service route_kind path
  cat <<CONF
frontend $kind
  bind 127.0.0.1:$([[ $kind == rest ]] && echo "$rest_port" || echo "$grpc_port")$2
  log-format '$access_log'
CONF
  # Requests HAProxy cannot parse. Header blocks over the buffer are refused before a stream exists, and HAProxy 2.6
  # answers those with its built-in 400 page (as Kong's nginx does), not these files.
  printf '  errorfile 400 %s\n  errorfile 408 %s\n' "$errors/$3" "$errors/$4"
  front_rules "$kind"
  for route in "${routes[@]}"; do
    read -r service route_kind path <<<"$route"
    [[ $route_kind == "$kind" ]] || continue
    [[ $kind == grpc ]] && path="/$path/" # gRPC routes are /package.Service/
    printf '  use_backend %s_%s if { path_beg %s }\n' "$service" "$kind" "$path"
  done
  printf '  default_backend %s_no_route\n\nbackend %s_no_route\n  %s\n' "$kind" "$kind" "$(reply "$kind-no-route.http")"
}

echo
frontend rest "" rest-bad-request.http rest-timeout.http
# Edge-made gRPC errors are trailers-only: one HEADERS frame with END_STREAM carrying :status 200, content-type
# application/grpc, grpc-status, grpc-message and grpc-status-details-bin (google.rpc.Status with an ErrorInfo).
echo
frontend grpc " proto h2" grpc-bad-request.http grpc-unavailable.http

# Upstreams: one REST and one gRPC backend per service, least connections over the replicas. A replica is taken out
# after a refused connection (passive) or a failed /readyz (active, every second) and back in when /readyz answers.
for service in "${route_services[@]}"; do
  rest_var="EDGE_UPSTREAM_${service^^}_REST" grpc_var="EDGE_UPSTREAM_${service^^}_GRPC"
  [[ -n ${!rest_var:-} ]] || die "$rest_var is not set (the $service service's REST addresses)"
  [[ -n ${!grpc_var:-} ]] || die "$grpc_var is not set (the $service service's gRPC addresses)"
  read -r -a rest_addresses <<<"${!rest_var}"
  read -r -a grpc_addresses <<<"${!grpc_var}"
  ((${#rest_addresses[@]} == ${#grpc_addresses[@]})) || die "$rest_var and $grpc_var list different numbers of replicas"
  for kind in rest grpc; do
    # no log: replica up/down notices go to stderr (edge.log), keeping the access log JSON only.
    printf '\nbackend %s_%s\n  no log\n  balance leastconn\n  option httpchk GET /readyz\n' "$service" "$kind"
    # A replica busy with a burst (a log-in storm hashing passwords) answers /readyz late rather than never: 2 s per
    # check and 3 misses in a row before it is taken out; a refused connection takes it out at once.
    printf '  timeout check 2s\n  default-server check inter 1s fall 3 rise 1 observe layer4 error-limit 1 on-error mark-down\n'
    if [[ $kind == rest ]]; then
      # Server streams (the :watch routes) may stay open for the stream timeout; everything else for the read timeout.
      printf '  http-request set-timeout server %s if { path_end :watch }\n' "$stream_timeout"
      printf '  errorfile 502 %s\n  errorfile 503 %s\n  errorfile 504 %s\n' "$errors/rest-unavailable.http" \
        "$errors/rest-unavailable.http" "$errors/rest-unavailable.http"
    else
      # Long enough for WatchDeal's server stream; unary calls end at the client's deadline.
      printf '  timeout server %s\n' "$stream_timeout"
      printf '  errorfile 502 %s\n  errorfile 503 %s\n  errorfile 504 %s\n' "$errors/grpc-unavailable.http" \
        "$errors/grpc-unavailable.http" "$errors/grpc-unavailable.http"
    fi
    for i in "${!rest_addresses[@]}"; do
      if [[ $kind == rest ]]; then
        printf '  server %s-%d %s\n' "$service" "$((i + 1))" "${rest_addresses[$i]}"
      else
        # h2c to the replica, many calls per connection; the health check goes to its REST port over HTTP/1.1.
        printf '  server %s-%d %s proto h2 check-proto h1 port %s\n' "$service" "$((i + 1))" "${grpc_addresses[$i]}" \
          "${rest_addresses[$i]##*:}"
      fi
    done
  done
done

if [[ $status_port != 0 ]]; then
  cat <<CONF

# HAProxy's own Prometheus metrics (frontends, backends, servers), scraped by the mesh's Prometheus.
frontend metrics
  bind 127.0.0.1:$status_port
  no log
  http-request use-service prometheus-exporter if { path /metrics }
  http-request return status 404
CONF
fi
