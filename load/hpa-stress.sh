#!/usr/bin/env bash
# HPA stress test for a real cluster (kind/k3d or managed): drives the load tool's spike scenario at the Kong endpoint
# while polling the release's HPAs and pods into timeline.csv, keeps polling while the load fades to record the
# scale-down, then writes report.md: per-service replica summary, the replica timeline, the HPA events and the load
# tool's own report. docs/kubernetes.md ("HPA stress test") has the step-by-step for kind/k3d and managed clusters.
#
#   load/hpa-stress.sh --rest URL --grpc URL [options] [-- load tool options]
#
# Options (defaults in brackets):
#   --rest URL            Kong proxy, REST (required), e.g. http://127.0.0.1:8000 or https://api.example.com
#   --grpc URL            Kong proxy, gRPC (required), e.g. https://127.0.0.1:8443 (TLS: HTTP/2 by ALPN) or an h2c listener
#   --transport grpc|rest which one the spike drives [grpc]
#   --stages LIST         the load tool's stages [warm-up:30s:50,spike:10s:1500:hold,sustain:240s:400,cool-down:20s:0]
#                         (an HPA needs minutes: keep the sustained stage well above a minute)
#   --namespace NS        namespace of the release [flashdeal]
#   --release NAME        Helm release (label app.kubernetes.io/instance) [flashdeal]
#   --interval SECONDS    polling period, fractions allowed [5]
#   --settle SECONDS      keep polling this long after the load to record the scale-down [360]
#   --out DIR             results [load/results/hpa-<UTC timestamp>]
#   --load-tool CMD       the load tool command line, "spike" and the options are appended [<repo>/flashdeal load]
#   --dry-run             print the plan and the commands, touch nothing
#   -- ...                everything after is passed to the load tool (--users, --stock, --admin-email,
#                         --admin-password, --postgres, --redis, --threshold, --timeout …; `./flashdeal load --help`)
#
# Exit code: the load tool's (0 thresholds and invariants passed, 1 failed, 2 usage), 1 when no sample could be
# taken; report.md is written in every case once the load started.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rest=""
grpc=""
transport="grpc"
stages="warm-up:30s:50,spike:10s:1500:hold,sustain:240s:400,cool-down:20s:0"
namespace="flashdeal"
release="flashdeal"
interval=5
settle=360
out=""
load_tool="$root/flashdeal load"
dry_run=false
extra=()

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
die() { printf 'hpa-stress.sh: %s\n' "$*" >&2; exit "${2:-1}"; }
need_value() { if (($# < 2)) || [[ -z "$2" ]]; then die "$1 needs a value" 2; fi; }

while (($# > 0)); do
  case "$1" in
    --rest|--grpc|--transport|--stages|--namespace|--release|--interval|--settle|--out|--load-tool) need_value "$@" ;;&
    --rest) rest="$2"; shift 2 ;;
    --grpc) grpc="$2"; shift 2 ;;
    --transport) transport="$2"; shift 2 ;;
    --stages) stages="$2"; shift 2 ;;
    --namespace) namespace="$2"; shift 2 ;;
    --release) release="$2"; shift 2 ;;
    --interval) interval="$2"; shift 2 ;;
    --settle) settle="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --load-tool) load_tool="$2"; shift 2 ;;
    --dry-run) dry_run=true; shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) usage ;;
    *) echo "hpa-stress.sh: unknown option $1 (load tool options go after --)" >&2; usage ;;
  esac
done
[[ -n "$rest" && -n "$grpc" ]] || die "--rest and --grpc (the Kong proxy URLs) are required" 2
[[ "$rest" =~ ^https?:// ]] || die "--rest must be an http:// or https:// URL" 2
[[ "$grpc" =~ ^https?:// ]] || die "--grpc must be an http:// or https:// URL" 2
[[ "$transport" == grpc || "$transport" == rest ]] || die "--transport must be grpc or rest" 2
[[ "$interval" =~ ^[0-9]+(\.[0-9]+)?$ && ! "$interval" =~ ^0+(\.0+)?$ ]] || die "--interval must be a positive number of seconds" 2
[[ "$settle" =~ ^[0-9]+$ ]] || die "--settle must be a whole number of seconds" 2
[[ -n "$out" ]] || out="$root/load/results/hpa-$(date -u +%Y%m%dT%H%M%SZ)"
selector="app.kubernetes.io/instance=$release"

# Seconds of load the stages ask for ("name:duration:target[:hold]", durations like 500ms, 30s, 4m, 1h).
stage_seconds() {
  local total_ms=0 stage duration number
  IFS=',' read -r -a stage_list <<<"$stages"
  for stage in "${stage_list[@]}"; do
    [[ "$stage" =~ ^[^:,]+:([0-9]+)(ms|s|m|h):[0-9]+(:hold)?$ ]] || die "--stages: '$stage' is not name:duration:target[:hold] (e.g. sustain:240s:400)" 2
    number="${BASH_REMATCH[1]}"
    case "${BASH_REMATCH[2]}" in
      ms) duration=$((number)) ;;
      s) duration=$((number * 1000)) ;;
      m) duration=$((number * 60000)) ;;
      h) duration=$((number * 3600000)) ;;
    esac
    total_ms=$((total_ms + duration))
  done
  echo $(( (total_ms + 999) / 1000 ))
}
load_seconds="$(stage_seconds)"

read -r -a load_argv <<<"$load_tool"
load_argv+=(spike --transport "$transport" --rest "$rest" --grpc "$grpc" --stages "$stages" --out "$out/load")
# The load tool stops at its --timeout: give it the stages plus two minutes for set-up and drain, unless told otherwise.
if [[ " ${extra[*]} " != *" --timeout "* && " ${extra[*]} " != *" --timeout="* ]]; then
  load_argv+=(--timeout "$((load_seconds + 120))s")
fi
load_argv+=("${extra[@]}")

# HPAs: "component|min|max|current|desired|cpu now|cpu target" per line; pods: "component|phase|ready|deleting".
hpa_jsonpath='{range .items[*]}{.metadata.labels.app\.kubernetes\.io/component}{"|"}{.spec.minReplicas}{"|"}{.spec.maxReplicas}{"|"}{.status.currentReplicas}{"|"}{.status.desiredReplicas}{"|"}{.status.currentMetrics[?(@.type=="Resource")].resource.current.averageUtilization}{"|"}{.spec.metrics[?(@.type=="Resource")].resource.target.averageUtilization}{"\n"}{end}'
pod_jsonpath='{range .items[*]}{.metadata.labels.app\.kubernetes\.io/component}{"|"}{.status.phase}{"|"}{.status.conditions[?(@.type=="Ready")].status}{"|"}{.metadata.deletionTimestamp}{"\n"}{end}'
event_jsonpath='{range .items[*]}{.lastTimestamp}{"|"}{.involvedObject.name}{"|"}{.reason}{"|"}{.message}{"\n"}{end}'

if $dry_run; then
  cat <<EOF
namespace $namespace, release $release (selector $selector), polling every ${interval} s
about $((load_seconds + settle)) s: ${load_seconds} s of load stages, then ${settle} s of settling
load:    ${load_argv[*]}
poll:    kubectl -n $namespace get hpa -l $selector -o jsonpath=…   (min, max, current, desired, CPU per HPA)
         kubectl -n $namespace get pods -l $selector -o jsonpath=…  (pods, ready, pending, terminating per service)
         → $out/timeline.csv
after:   kubectl -n $namespace get events (HorizontalPodAutoscaler) → report.md; describe hpa → hpa-describe.txt
report:  $out/report.md (summary, replica timeline, HPA events, the load tool's report.md from $out/load)
EOF
  exit 0
fi

command -v kubectl >/dev/null || die "kubectl is required"
# (Outputs captured before testing them: `kubectl … | grep -q` can fail under pipefail when grep exits first.)
hpa_names="$(kubectl -n "$namespace" get hpa -l "$selector" -o name 2>/dev/null || true)"
[[ -n "$hpa_names" ]] || die "no HPA with label $selector in namespace $namespace (is the release installed with autoscaling on?)"
metrics_api="$(kubectl get apiservice v1beta1.metrics.k8s.io -o jsonpath='{.status.conditions[?(@.type=="Available")].status}' 2>/dev/null || true)"
[[ "$metrics_api" == True ]] || die "metrics.k8s.io is not available: install metrics-server (see docs/kubernetes.md)"

mkdir -p "$out"
timeline="$out/timeline.csv"
echo "utc,elapsed_s,phase,service,hpa_min,hpa_max,hpa_current,hpa_desired,cpu_pct,cpu_target_pct,pods,pods_ready,pods_pending,pods_terminating" > "$timeline"
phase_file="$out/.phase"
echo before > "$phase_file"
started=$(date +%s)
started_utc="$(date -u +%Y-%m-%dT%H:%M:%SZ)"

# One poll: a CSV row per service that has an HPA, its pods counted by the component label.
sample() {
  local now elapsed phase hpas pods
  now="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  elapsed=$(( $(date +%s) - started ))
  phase="$(cat "$phase_file")"
  hpas="$(kubectl -n "$namespace" get hpa -l "$selector" -o jsonpath="$hpa_jsonpath" 2>/dev/null)" || return 0
  pods="$(kubectl -n "$namespace" get pods -l "$selector" -o jsonpath="$pod_jsonpath" 2>/dev/null)" || pods=""
  awk -F'|' -v now="$now" -v elapsed="$elapsed" -v phase="$phase" -v pods="$pods" '
    BEGIN {
      n = split(pods, lines, "\n")
      for (i = 1; i <= n; i++) {
        if (split(lines[i], f, "|") < 2) continue
        total[f[1]]++
        if (f[4] != "") terminating[f[1]]++
        else if (f[3] == "True") ready[f[1]]++
        else if (f[2] == "Pending") pending[f[1]]++
      }
    }
    NF >= 5 && $1 != "" {
      printf "%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%d,%d,%d,%d\n", now, elapsed, phase, $1, $2, $3, $4 + 0, $5 + 0, $6, $7,
        total[$1], ready[$1], pending[$1], terminating[$1]
    }' <<<"$hpas" >> "$timeline"
}

# The sampler stops between polls (a poll killed halfway would leave half a CSV row behind).
stop_file="$out/.stop"
rm -f "$stop_file"
sampler() {
  while [[ ! -e $stop_file ]]; do
    sample
    sleep "$interval"
  done
}

sampler &
sampler_pid=$!
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  kill "$sampler_pid" 2>/dev/null || true
  wait "$sampler_pid" 2>/dev/null || true
  rm -f "$phase_file" "$stop_file"
}
trap cleanup EXIT
trap 'echo "hpa-stress.sh: interrupted" >&2; exit 130' INT TERM

printf '%s\n' "${load_argv[*]}" > "$out/load.cmd"
echo "hpa-stress.sh: polling HPAs and pods every ${interval} s into $timeline" >&2
sleep "$interval"
echo load > "$phase_file"
load_start=$(( $(date +%s) - started ))
echo "hpa-stress.sh: load: ${load_argv[*]}" >&2
set +e
"${load_argv[@]}" 2>&1 | tee "$out/load.log"
load_rc=${PIPESTATUS[0]}
set -e
load_end=$(( $(date +%s) - started ))
echo settle > "$phase_file"
echo "hpa-stress.sh: load finished (exit $load_rc) after $((load_end - load_start)) s; polling ${settle} s more for the scale-down" >&2
sleep "$settle"
touch "$stop_file"
wait "$sampler_pid" 2>/dev/null || true
sample

kubectl -n "$namespace" describe hpa -l "$selector" > "$out/hpa-describe.txt" 2>&1 || true
kubectl -n "$namespace" get events --sort-by=.lastTimestamp > "$out/events.txt" 2>&1 || true
hpa_events="$(kubectl -n "$namespace" get events --field-selector involvedObject.kind=HorizontalPodAutoscaler \
  -o jsonpath="$event_jsonpath" 2>/dev/null | awk -F'|' -v since="$started_utc" '$1 >= since' | sort || true)"

samples=$(( $(wc -l < "$timeline") - 1 ))

{
  echo "# HPA stress test $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "- Kong: REST \`$rest\`, gRPC \`$grpc\`; the spike scenario over **$transport**, stages \`$stages\`"
  echo "- namespace \`$namespace\`, release \`$release\`; HPAs and pods polled every ${interval} s ($samples rows in \`timeline.csv\`)"
  echo "- load from ${load_start} s to ${load_end} s, then ${settle} s of settling; load tool exit code **$load_rc** ($( ((load_rc == 0)) && echo "thresholds and invariants passed" || echo "see below and \`load.log\`"))"
  echo "- command: \`$(cat "$out/load.cmd")\`"
  echo
  echo "## Replicas per service"
  echo
  echo "Times are seconds after the load started. \"first scale-up\": desired replicas above the count at load start."
  echo
  echo "| service | HPA min–max | replicas at load start | peak desired | peak ready pods | first scale-up | peak reached | max pending pods | peak CPU % (target) | replicas at end |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  awk -F, -v load="$load_start" '
    NR == 1 || NF != 14 { next }
    {
      s = $4
      if (!(s in seen)) { seen[s] = 1; order[++n] = s; base[s] = $7 }
      if ($3 == "before" || ($3 == "load" && !(s in loaded))) { base[s] = $7; if ($3 == "load") loaded[s] = 1 }
      range[s] = $5 "–" $6
      if ($8 > peak[s]) { peak[s] = $8; peakt[s] = $2 - load }
      if ($12 > ready[s]) ready[s] = $12
      if ($13 > pending[s]) pending[s] = $13
      if ($3 != "before" && !(s in up) && $8 > base[s]) up[s] = $2 - load
      if ($9 != "" && $9 + 0 > cpu[s]) cpu[s] = $9 + 0
      target[s] = $10
      last[s] = $7
    }
    END {
      for (i = 1; i <= n; i++) {
        s = order[i]
        printf "| %s | %s | %s | %s | %s | %s | %s | %d | %s (%s) | %s |\n", s, range[s], base[s], peak[s], ready[s] + 0,
          (s in up) ? up[s] " s" : "none", (s in up) ? peakt[s] " s" : "–", pending[s], cpu[s] + 0, target[s], last[s]
      }
    }' "$timeline"
  echo
  echo "## Replica timeline"
  echo
  echo "Each cell: current/desired replicas, ready pods, CPU %. Only polls where something changed (all in \`timeline.csv\`)."
  echo
  awk -F, -v load="$load_start" '
    NR == 1 || NF != 14 { next }
    {
      key = $2 SUBSEP $3
      if (!(key in rowseen)) { rowseen[key] = 1; rows[++r] = key; utc[key] = $1 }
      if (!($4 in svcseen)) { svcseen[$4] = 1; svc[++n] = $4 }
      cell[key, $4] = $7 "/" $8 ", " $12 " ready" ($9 != "" ? ", " $9 "%" : "")
      state[key, $4] = $7 "/" $8 "/" $12
    }
    END {
      # Columns by service name: polls of one round may reach the file in any order.
      for (i = 2; i <= n; i++) { v = svc[i]; for (j = i - 1; j >= 1 && svc[j] > v; j--) svc[j + 1] = svc[j]; svc[j + 1] = v }
      printf "| t (s) | UTC | phase |"
      for (j = 1; j <= n; j++) printf " %s |", svc[j]
      printf "\n|---|---|---|"
      for (j = 1; j <= n; j++) printf "---|"
      printf "\n"
      prev = ""
      for (i = 1; i <= r; i++) {
        key = rows[i]
        split(key, kp, SUBSEP)
        sig = kp[2]
        for (j = 1; j <= n; j++) sig = sig "|" state[key, svc[j]]
        if (sig == prev && i != r) continue
        prev = sig
        printf "| %d | %s | %s |", kp[1] - load, substr(utc[key], 12, 8), kp[2]
        for (j = 1; j <= n; j++) printf " %s |", ((key, svc[j]) in cell) ? cell[key, svc[j]] : "–"
        printf "\n"
      }
    }' "$timeline"
  echo
  echo "## HPA events"
  echo
  if [[ -n "$hpa_events" ]]; then
    echo "| time (UTC) | HPA | reason | message |"
    echo "|---|---|---|---|"
    awk -F'|' '{ m = $4; for (i = 5; i <= NF; i++) m = m "|" $i; gsub(/\|/, "\\|", m); printf "| %s | %s | %s | %s |\n", substr($1, 12, 8), $2, $3, m }' <<<"$hpa_events"
  else
    echo "No HorizontalPodAutoscaler events since $started_utc (none scaled, or the events expired: see \`events.txt\`)."
  fi
  echo
  echo "Conditions at the end: \`hpa-describe.txt\`; every event of the namespace: \`events.txt\`."
  echo
  echo "## Load tool report"
  echo
  if [[ -s "$out/load/report.md" ]]; then
    # Two heading levels down, so the load report nests under this section.
    sed -E 's/^(#+) /##\1 /' "$out/load/report.md"
    echo
    echo "Also in \`load/\`: report.json, chart.svg."
  else
    echo "The load tool wrote no report.md (exit code $load_rc). Last lines of \`load.log\`:"
    echo
    echo '```'
    tail -n 20 "$out/load.log"
    echo '```'
  fi
} > "$out/report.md"

echo "hpa-stress.sh: $out/report.md ($samples timeline rows)" >&2
((samples > 0)) || die "no HPA sample was recorded (kubectl failing?)"
exit "$load_rc"
