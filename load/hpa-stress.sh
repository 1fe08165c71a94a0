#!/usr/bin/env bash
# HPA stress test for a real cluster (kind/k3d or managed): drives load at the Kong endpoint in stages while sampling
# the HPAs and Deployments of a FlashDeal release, then writes samples.csv and report.md (docs/kubernetes.md, "HPA
# stress test", has the step-by-step for kind/k3d and managed clusters).
#
#   load/hpa-stress.sh --target http://127.0.0.1:8000 [options]
#
# Options (defaults in brackets):
#   --target URL         Kong proxy base URL (required), e.g. http://127.0.0.1:8000 or https://api.example.com
#   --namespace NS       namespace of the release [flashdeal]
#   --release NAME       Helm release (label app.kubernetes.io/instance) [flashdeal]
#   --stages LIST        comma-separated SECONDS:CONCURRENCY stages [60:8,180:64,180:256,240:0]
#                        (concurrency 0 = no load: the tail shows the scale-down)
#   --path PATH          REST path to GET [/v1/deals]
#   --grpc SERVICE/METHOD  load a unary gRPC method with an empty request instead (h2load only; needs a Kong listener
#                        that speaks HTTP/2: TLS on 443, or h2c on a listener with the http2 parameter)
#   --tool NAME          h2load | hey | command [first of h2load, hey found]
#   --command TEMPLATE   with --tool command: the load command per stage; {url} {concurrency} {seconds} are replaced
#                        (e.g. the C# load tool: 'dotnet run --project load/FlashDeal.Load -- --url {url} -c {concurrency} -d {seconds}s')
#   --interval SECONDS   sampling period [5]
#   --out DIR            results directory [load/results/hpa-<UTC timestamp>]
#   --insecure           accept Kong's self-signed certificate (TLS targets)
#   --dry-run            print the plan and the commands, touch nothing
set -euo pipefail

target=""
namespace="flashdeal"
release="flashdeal"
stages="60:8,180:64,180:256,240:0"
path="/v1/deals"
grpc_method=""
tool=""
command_template=""
interval=5
out=""
insecure=false
dry_run=false

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
die() { printf 'hpa-stress.sh: %s\n' "$*" >&2; exit 1; }

while (($# > 0)); do
  case "$1" in
    --target) target="$2"; shift 2 ;;
    --namespace) namespace="$2"; shift 2 ;;
    --release) release="$2"; shift 2 ;;
    --stages) stages="$2"; shift 2 ;;
    --path) path="$2"; shift 2 ;;
    --grpc) grpc_method="$2"; shift 2 ;;
    --tool) tool="$2"; shift 2 ;;
    --command) command_template="$2"; shift 2 ;;
    --interval) interval="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --insecure) insecure=true; shift ;;
    --dry-run) dry_run=true; shift ;;
    -h|--help) usage ;;
    *) echo "unknown option: $1" >&2; usage ;;
  esac
done
[[ -n "$target" ]] || usage
[[ "$stages" =~ ^[0-9]+:[0-9]+(,[0-9]+:[0-9]+)*$ ]] || die "--stages must look like 60:8,180:64"
[[ "$interval" =~ ^[1-9][0-9]*$ ]] || die "--interval must be a positive integer"
if [[ -z "$tool" ]]; then
  if [[ -n "$command_template" ]]; then tool="command"
  elif command -v h2load >/dev/null; then tool=h2load
  elif command -v hey >/dev/null; then tool=hey
  else die "no load tool: install h2load (nghttp2-client) or hey, or pass --tool command --command '…'"
  fi
fi
case "$tool" in
  h2load|hey) command -v "$tool" >/dev/null || $dry_run || die "$tool is not installed" ;;
  command) [[ -n "$command_template" ]] || die "--tool command needs --command" ;;
  *) die "--tool must be h2load, hey or command" ;;
esac
[[ -z "$grpc_method" || "$tool" == h2load ]] || die "--grpc needs --tool h2load"
[[ -n "$out" ]] || out="load/results/hpa-$(date -u +%Y%m%dT%H%M%SZ)"
selector="app.kubernetes.io/instance=$release"

if [[ -n "$grpc_method" ]]; then
  url="${target%/}/${grpc_method#/}"
else
  url="${target%/}$path"
fi

# One stage of load as an argument vector: concurrency and seconds are the stage's.
load_command() { # concurrency seconds
  local c="$1" s="$2"
  case "$tool" in
    h2load)
      # Concurrency = connections, one request in flight on each (what a crowd of clients looks like to Kong).
      local args=(h2load -c "$c" -m 1 -D "$s")
      # REST through Kong's plaintext listener is HTTP/1.1; TLS negotiates HTTP/2 by ALPN.
      if [[ -z "$grpc_method" && "$url" == http://* ]]; then args+=(--h1); fi
      if [[ -n "$grpc_method" ]]; then
        args+=(-d "$out/empty-grpc-request.bin" -H 'content-type: application/grpc' -H 'te: trailers')
      fi
      printf '%s\n' "${args[@]}" "$url"
      ;;
    hey)
      local args=(hey -c "$c" -z "${s}s")
      printf '%s\n' "${args[@]}" "$url"
      ;;
    command)
      local line="$command_template"
      line="${line//\{url\}/$url}"
      line="${line//\{concurrency\}/$c}"
      line="${line//\{seconds\}/$s}"
      printf '%s\n' bash -c "$line"
      ;;
  esac
}

IFS=',' read -r -a stage_list <<<"$stages"
total=0
for stage in "${stage_list[@]}"; do total=$((total + ${stage%%:*})); done

if $dry_run; then
  echo "target $url, namespace $namespace, release $release, tool $tool, sampling every ${interval}s, about ${total}s"
  i=0
  for stage in "${stage_list[@]}"; do
    i=$((i + 1))
    if [[ "${stage#*:}" == 0 ]]; then
      echo "stage $i: ${stage%%:*}s idle"
    else
      mapfile -t argv < <(load_command "${stage#*:}" "${stage%%:*}")
      echo "stage $i: ${argv[*]}"
    fi
  done
  echo "samples: kubectl -n $namespace get hpa,deploy -l $selector (every ${interval}s) → $out/samples.csv"
  exit 0
fi

command -v kubectl >/dev/null || die "kubectl is required"
kubectl -n "$namespace" get hpa -l "$selector" -o name | grep -q . \
  || die "no HPA with label $selector in namespace $namespace (is the release installed with autoscaling on?)"
kubectl get apiservice v1beta1.metrics.k8s.io -o jsonpath='{.status.conditions[?(@.type=="Available")].status}' 2>/dev/null | grep -q True \
  || die "metrics.k8s.io is not available: install metrics-server (kind/k3d: see docs/kubernetes.md)"
curl_args=(-s -o /dev/null -w '%{http_code}' --max-time 5)
$insecure && curl_args+=(-k)
if [[ -z "$grpc_method" ]]; then
  code="$(curl "${curl_args[@]}" "$url" || true)"
  [[ "$code" =~ ^[2-4][0-9][0-9]$ ]] || die "GET $url answered '$code': is the target the Kong proxy?"
fi

mkdir -p "$out"
# An empty protobuf message, gRPC-framed: flag 0, length 0.
printf '\x00\x00\x00\x00\x00' > "$out/empty-grpc-request.bin"
kubectl -n "$namespace" get hpa -l "$selector" -o yaml > "$out/hpa-before.yaml"

samples="$out/samples.csv"
echo "utc,elapsed_s,stage,concurrency,kind,name,spec_replicas,current_replicas,desired_replicas,ready_replicas,cpu_utilization_pct" > "$samples"
state="$out/.stage"
echo "0,0" > "$state"
started=$(date +%s)

sample() {
  local now elapsed stage_info
  now="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  elapsed=$(( $(date +%s) - started ))
  stage_info="$(cat "$state")"
  kubectl -n "$namespace" get hpa -l "$selector" -o jsonpath='{range .items[*]}{.metadata.name},{.spec.minReplicas},{.status.currentReplicas},{.status.desiredReplicas},,{.status.currentMetrics[?(@.type=="Resource")].resource.current.averageUtilization}{"\n"}{end}' 2>/dev/null \
    | sed "s/^/$now,$elapsed,$stage_info,hpa,/" >> "$samples" || true
  kubectl -n "$namespace" get deploy -l "$selector" -o jsonpath='{range .items[*]}{.metadata.name},{.spec.replicas},{.status.replicas},,{.status.readyReplicas},{"\n"}{end}' 2>/dev/null \
    | sed "s/^/$now,$elapsed,$stage_info,deployment,/" >> "$samples" || true
}

sampler() {
  while true; do
    sample
    sleep "$interval"
  done
}

sampler &
sampler_pid=$!
load_pid=""
cleanup() {
  if [[ -n "$load_pid" ]]; then kill "$load_pid" 2>/dev/null || true; fi
  kill "$sampler_pid" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

i=0
for stage in "${stage_list[@]}"; do
  i=$((i + 1))
  seconds="${stage%%:*}"
  concurrency="${stage#*:}"
  echo "$i,$concurrency" > "$state"
  echo "stage $i: ${seconds}s at concurrency $concurrency" >&2
  if [[ "$concurrency" == 0 ]]; then
    sleep "$seconds"
    continue
  fi
  mapfile -t argv < <(load_command "$concurrency" "$seconds")
  printf '%s\n' "${argv[*]}" > "$out/stage-$i.cmd"
  "${argv[@]}" > "$out/stage-$i.txt" 2>&1 &
  load_pid=$!
  wait "$load_pid" || echo "stage $i: load tool exited with $? (see $out/stage-$i.txt)" >&2
  load_pid=""
done
sample
kill "$sampler_pid" 2>/dev/null || true
kubectl -n "$namespace" describe hpa -l "$selector" > "$out/hpa-describe.txt" 2>&1 || true
kubectl -n "$namespace" get events --sort-by=.lastTimestamp > "$out/events.txt" 2>&1 || true

# report.md: per HPA the replica range seen, when it first grew after load began, when it peaked, how far it came down.
first_load_elapsed="$(awk -F, 'NR > 1 && $4 > 0 { print $2; exit }' "$samples")"
{
  echo "# HPA stress test $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "- target: \`$url\` (tool: $tool), namespace \`$namespace\`, release \`$release\`"
  echo "- stages (seconds:concurrency): \`$stages\`, sampled every ${interval} s; raw data: \`samples.csv\`"
  echo
  echo "| HPA | min replicas (spec) | replicas at start | peak | first scale-up after load start | peak reached | replicas at end | peak CPU % |"
  echo "|---|---|---|---|---|---|---|---|"
  awk -F, -v load="${first_load_elapsed:-0}" '
    NR > 1 && $5 == "hpa" {
      name = $6
      if (!(name in start)) { start[name] = $8; minspec[name] = $7; peak[name] = $8; peakt[name] = $2; order[++n] = name }
      if ($8 > peak[name]) { peak[name] = $8; peakt[name] = $2 }
      if (!(name in up) && $8 > start[name]) up[name] = $2 - load
      last[name] = $8
      if ($11 + 0 > cpu[name]) cpu[name] = $11 + 0
    }
    END {
      for (i = 1; i <= n; i++) {
        k = order[i]
        printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", k, minspec[k], start[k], peak[k],
          (k in up) ? up[k] " s" : "none", peakt[k] - load " s", last[k], cpu[k]
      }
    }' "$samples"
  echo
  echo "## Load per stage"
  for f in "$out"/stage-*.txt; do
    [[ -e "$f" ]] || continue
    echo
    echo "### $(basename "$f" .txt): \`$(cat "${f%.txt}.cmd")\`"
    echo
    echo '```'
    grep -E 'finished in|requests:|status codes:|Requests/sec|Total:|Slowest|Fastest|Average|99%|time for request|\[[0-9]{3}\]' "$f" | head -20 || true
    echo '```'
  done
  echo
  echo "HPA conditions and events at the end: \`hpa-describe.txt\`, \`events.txt\`."
} > "$out/report.md"
echo "hpa-stress.sh: $out/report.md and $out/samples.csv" >&2
