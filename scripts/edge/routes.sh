#!/usr/bin/env bash
# The edge's routes, read from the Helm chart's values (the list Kong's Ingress is rendered from), one per line:
#   <service> rest <path prefix>        e.g. "auth rest /v1/auth"
#   <service> grpc <package.Service>    e.g. "orders grpc flashdeal.orders.v1.OrderService"
# Reads `services.<name>.{enabled,restPrefixes,grpcServices}` of charts/flashdeal/values.yaml (or the file given as $1);
# both flow lists ([a, b]) and block lists (- a) are understood. The nginx config of `./flashdeal up` is generated from
# this output, and scripts/edge/check-routes.sh compares that config with the rendered Kong Ingress.
set -euo pipefail
values="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/charts/flashdeal/values.yaml}"
[[ -r $values ]] || { echo "routes.sh: cannot read $values" >&2; exit 1; }

awk '
  function trim(s) { gsub(/^[ \t"'\'']+|[ \t"'\'']+$/, "", s); return s }
  function emit(kind, item) { item = trim(item); if (item != "") { routes[++n] = svc " " kind " " item; owner[n] = svc } }
  function flow(kind, text,   parts, i, count) {
    sub(/^[^[]*\[/, "", text); sub(/\].*$/, "", text)
    count = split(text, parts, ",")
    for (i = 1; i <= count; i++) emit(kind, parts[i])
  }
  /^[^ #]/ { in_services = ($0 ~ /^services:/); svc = ""; list = ""; next }
  !in_services || /^[ \t]*(#.*)?$/ { next }
  /^  [A-Za-z0-9_-]+:[ \t]*$/ { svc = $1; sub(/:$/, "", svc); enabled[svc] = 1; list = ""; next }
  svc == "" { next }
  /^    [A-Za-z]/ {
    list = ""
    if ($1 == "enabled:") enabled[svc] = ($2 == "true")
    else if ($1 == "restPrefixes:") { if ($0 ~ /\[/) flow("rest", $0); else list = "rest" }
    else if ($1 == "grpcServices:") { if ($0 ~ /\[/) flow("grpc", $0); else list = "grpc" }
    next
  }
  list != "" && /^      *- / { line = $0; sub(/^ *- /, "", line); sub(/[ \t]+#.*$/, "", line); emit(list, line); next }
  END { for (i = 1; i <= n; i++) if (enabled[owner[i]]) print routes[i] }
' "$values"
