#!/usr/bin/env bash
# The edge's rate limits, read from the Helm chart's values (the numbers Kong's plugins are rendered from), one per line:
#   <class> <per second> <burst>        e.g. "caller 50 100"
# Classes: caller (every call, per caller), auth (sign-up/log-in/refresh, per address), order (PlaceOrder, per caller).
# Reads `kong.rateLimit.limits.<class>.{perSecond,burst}` of charts/flashdeal/values.yaml (or the file given as $1),
# written as flow maps ({perSecond: 5, burst: 10}) or block maps. scripts/edge/edge-common.sh takes its defaults from
# this output, so the local edge and Kong apply one policy; scripts/edge/check-routes.sh compares the results.
set -euo pipefail
values="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/charts/flashdeal/values.yaml}"
[[ -r $values ]] || { echo "limits.sh: cannot read $values" >&2; exit 1; }

awk '
  function indent(s) { match(s, /^ */); return RLENGTH }
  function field(text, key,   m) {
    if (match(text, key ":[ \t]*[0-9]+")) { m = substr(text, RSTART, RLENGTH); sub(/^[^:]*:[ \t]*/, "", m); return m }
    return ""
  }
  /^[ \t]*(#.*)?$/ { next }
  {
    n = indent($0)
    if (n == 0) { in_kong = ($0 ~ /^kong:/); in_rl = in_limits = 0; next }
    if (!in_kong) next
    if (n == 2) { in_rl = ($0 ~ /^  rateLimit:/); in_limits = 0; next }
    if (!in_rl) next
    if (n == 4) { in_limits = ($0 ~ /^    limits:/); next }
    if (!in_limits) next
    if (n == 6) {
      class = $1; sub(/:$/, "", class); order[++count] = class
      rate[class] = field($0, "perSecond"); burst[class] = field($0, "burst")
      next
    }
    if (n == 8) {
      if (field($0, "perSecond") != "") rate[class] = field($0, "perSecond")
      if (field($0, "burst") != "") burst[class] = field($0, "burst")
    }
  }
  END {
    for (i = 1; i <= count; i++) {
      c = order[i]
      if (rate[c] == "" || burst[c] == "") { print "limits.sh: kong.rateLimit.limits." c " needs perSecond and burst" > "/dev/stderr"; exit 1 }
      print c, rate[c], burst[c]
    }
  }
' "$values"
