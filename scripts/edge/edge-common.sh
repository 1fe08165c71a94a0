# Sourced by the edge's config generators (nginx-conf.sh, haproxy-conf.sh): the FLASHDEAL_EDGE_* knobs with their
# defaults and checks, and the error bodies both edges send (google.rpc.Status with one ErrorInfo, domain edge.flashdeal).
# shellcheck shell=bash
# shellcheck disable=SC2034  # the knobs are read by the scripts that source this file
rest_port="${FLASHDEAL_EDGE_REST_PORT:-8080}" grpc_port="${FLASHDEAL_EDGE_GRPC_PORT:-50050}"
# The edge's own counters on a loopback listener of their own (nginx: stub_status for prometheus-nginx-exporter;
# HAProxy: its Prometheus /metrics); 0 = none.
status_port="${FLASHDEAL_EDGE_STATUS_PORT:-0}"
limits="${FLASHDEAL_EDGE_RATE_LIMITS:-on}"
# The limits' defaults are the chart's (kong.rateLimit.limits, read by limits.sh): the local edge and Kong apply one
# policy. The knobs below override them for this machine only.
declare -A chart_rate chart_burst
while read -r class per_second burst; do
  chart_rate[$class]="${per_second}r/s" chart_burst[$class]="$burst"
done < <(bash "${here:?}/limits.sh")
for class in caller auth order; do
  [[ -n ${chart_rate[$class]:-} ]] || { echo "$(basename "$0"): no kong.rateLimit.limits.$class in the chart values" >&2; exit 1; }
done
auth_rate="${FLASHDEAL_EDGE_AUTH_RATE:-${chart_rate[auth]}}" auth_burst="${FLASHDEAL_EDGE_AUTH_BURST:-${chart_burst[auth]}}"
order_rate="${FLASHDEAL_EDGE_ORDER_RATE:-${chart_rate[order]}}" order_burst="${FLASHDEAL_EDGE_ORDER_BURST:-${chart_burst[order]}}"
user_rate="${FLASHDEAL_EDGE_USER_RATE:-${chart_rate[caller]}}" user_burst="${FLASHDEAL_EDGE_USER_BURST:-${chart_burst[caller]}}"
retry_after="${FLASHDEAL_EDGE_RETRY_AFTER:-1}" max_body="${FLASHDEAL_EDGE_MAX_BODY:-64k}"
connect_timeout="${FLASHDEAL_EDGE_CONNECT_TIMEOUT:-2s}" read_timeout="${FLASHDEAL_EDGE_READ_TIMEOUT:-60s}"
stream_timeout="${FLASHDEAL_EDGE_STREAM_TIMEOUT:-3600s}"
fail_timeout="${FLASHDEAL_EDGE_FAIL_TIMEOUT:-5s}"

die() { echo "$(basename "$0"): $*" >&2; exit 1; }
[[ $status_port =~ ^[0-9]+$ ]] || die "FLASHDEAL_EDGE_STATUS_PORT must be a port number (got '$status_port')"
[[ $limits == on || $limits == off ]] || die "FLASHDEAL_EDGE_RATE_LIMITS must be on or off (got '$limits')"
for rate in "$auth_rate" "$order_rate" "$user_rate"; do
  [[ $rate =~ ^[0-9]+r/[sm]$ ]] || die "a rate looks like 10r/s or 600r/m (got '$rate')"
done
for burst in "$auth_burst" "$order_burst" "$user_burst" "$retry_after"; do
  [[ $burst =~ ^[0-9]+$ ]] || die "bursts and FLASHDEAL_EDGE_RETRY_AFTER are whole numbers (got '$burst')"
done

# A google.rpc.Status as JSON (REST bodies) and as protobuf (gRPC grpc-status-details-bin), with one ErrorInfo.
status_json() { # code message reason
  printf '{"code":%d,"message":"%s","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"%s","domain":"edge.flashdeal"}]}' "$1" "$2" "$3"
}
pb_field() { # field-number bytes: a length-delimited protobuf field (every length here is below 128)
  local LC_ALL=C
  printf "\\x$(printf %02x $(($1 << 3 | 2)))\\x$(printf %02x ${#2})%s" "$2"
}
status_bin() { # code message reason → base64 of google.rpc.Status
  local LC_ALL=C info any
  info="$(pb_field 1 "$3")$(pb_field 2 edge.flashdeal)"
  any="$(pb_field 1 type.googleapis.com/google.rpc.ErrorInfo)$(pb_field 2 "$info")"
  { printf "\\x08\\x$(printf %02x "$1")"; pb_field 2 "$2"; pb_field 3 "$any"; } | base64 -w0 | tr -d =
}

limited_msg="rate limit reached at the edge; retry after $retry_after s"
too_large_msg="request body larger than $max_body"
headers_msg="request headers larger than 96k"
unavailable_msg="no healthy upstream for this route"

size_bytes() { # 64k, 1m, 512 → bytes
  [[ $1 =~ ^([0-9]+)([kKmM]?)$ ]] || die "a size looks like 512, 64k or 1m (got '$1')"
  case ${BASH_REMATCH[2]} in k|K) echo $((BASH_REMATCH[1] * 1024)) ;; m|M) echo $((BASH_REMATCH[1] * 1048576)) ;; *) echo "${BASH_REMATCH[1]}" ;; esac
}

# The chart's routes ("<service> rest|grpc <prefix or package.Service>") and the services they name, each once, in order.
mapfile -t routes < <(bash "$here/routes.sh")
((${#routes[@]} > 0)) || die "no routes found in the chart values"
mapfile -t route_services < <(for route in "${routes[@]}"; do echo "${route%% *}"; done | awk '!seen[$0]++')
