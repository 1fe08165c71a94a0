#!/usr/bin/env bash
# The pre-scaling Jobs of charts/flashdeal (templates/prescale.yaml mounts this file from a ConfigMap; registry.k8s.io/kubectl
# has bash). "up" raises each target's HPA floor (or scales its Deployment) and then waits until the Deployment has that
# many Ready pods, printing "orders: 40/40 Ready at <UTC>"; it exits 3, failing the Job at once (the Job's
# podFailurePolicy; alert FlashDealPreScaleFailed), when a target is not Ready within --ready-within seconds. A kubectl
# error exits with kubectl's code (1), which the Job retries. "down" restores the chart's values and does not wait.
#
#   prescale.sh up|down [--ready-within SECONDS] [--interval SECONDS] TARGET...
#   TARGET: --target LABEL --deployment NAME [--hpa NAME] --min N [--max N] [--namespace NS]
#     with --hpa: patch minReplicas N and maxReplicas (--max), wait for N Ready pods of the Deployment;
#     without:    kubectl scale the Deployment to N, wait for N Ready pods.
#     No --namespace: the Job's own (kubectl's in-cluster default), so a kustomize namespace change needs no patch.
# Self-tested offline with a fake kubectl: charts/validation/selftest/prescale-selftest.sh.
set -euo pipefail

die() { printf 'prescale: %s\n' "$*" >&2; exit 2; }
(($# > 0)) || die "usage: prescale.sh up|down [--ready-within S] [--interval S] TARGET..."
phase="$1"
shift
[[ "$phase" == up || "$phase" == down ]] || die "the phase is up or down, not '$phase'"
ready_within=900
interval=10
labels=() deployments=() hpas=() mins=() maxes=() namespaces=()
while (($# > 0)); do
  (($# >= 2)) || die "$1 needs a value"
  case "$1" in
    --ready-within) ready_within="$2" ;;
    --interval) interval="$2" ;;
    --target) labels+=("$2") deployments+=("") hpas+=("") mins+=("") maxes+=("") namespaces+=("") ;;
    --deployment|--hpa|--min|--max|--namespace)
      ((${#labels[@]} > 0)) || die "$1 before the first --target"
      i=$((${#labels[@]} - 1))
      case "$1" in
        --deployment) deployments[i]="$2" ;;
        --hpa) hpas[i]="$2" ;;
        --min) mins[i]="$2" ;;
        --max) maxes[i]="$2" ;;
        --namespace) namespaces[i]="$2" ;;
      esac ;;
    *) die "unknown argument $1" ;;
  esac
  shift 2
done
((${#labels[@]} > 0)) || die "no --target"
[[ "$ready_within" =~ ^[0-9]+$ && "$interval" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--ready-within and --interval are seconds"
for i in "${!labels[@]}"; do
  [[ -n "${deployments[i]}" && "${mins[i]}" =~ ^[0-9]+$ ]] || die "target ${labels[i]} needs --deployment and a numeric --min"
  [[ -z "${hpas[i]}" || "${maxes[i]}" =~ ^[0-9]+$ ]] || die "target ${labels[i]} has --hpa without a numeric --max"
done

now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
kube() { # namespace args...
  local ns="$1"
  shift
  if [[ -n "$ns" ]]; then kubectl -n "$ns" "$@"; else kubectl "$@"; fi
}

for i in "${!labels[@]}"; do
  if [[ -n "${hpas[i]}" ]]; then
    kube "${namespaces[i]}" patch horizontalpodautoscaler "${hpas[i]}" --type=merge \
      "--patch={\"spec\":{\"minReplicas\":${mins[i]},\"maxReplicas\":${maxes[i]}}}" >/dev/null
    echo "${labels[i]}: HPA ${hpas[i]} minReplicas ${mins[i]}, maxReplicas ${maxes[i]} at $(now)"
  else
    kube "${namespaces[i]}" scale deployment "${deployments[i]}" "--replicas=${mins[i]}" >/dev/null
    echo "${labels[i]}: Deployment ${deployments[i]} scaled to ${mins[i]} at $(now)"
  fi
done
[[ "$phase" == up ]] || exit 0

# Ready pods, not desired ones: a pod that cannot be scheduled (nodes full) or does not pass readiness would carry no
# traffic at the opening. Polled (get, not watch) so a dropped watch cannot end the wait early.
deadline=$(( $(date +%s) + ready_within ))
declare -A done_at=()
last_ready=()
while :; do
  pending=0
  for i in "${!labels[@]}"; do
    [[ -n "${done_at[$i]:-}" ]] && continue
    ready="$(kube "${namespaces[i]}" get deployment "${deployments[i]}" -o 'jsonpath={.status.readyReplicas}' 2>/dev/null)" || ready=""
    ready="${ready:-0}"
    if ((ready >= mins[i])); then
      done_at[$i]="$(now)"
      echo "${labels[i]}: ${ready}/${mins[i]} Ready at ${done_at[$i]}"
    else
      pending=$((pending + 1))
      last_ready[i]="$ready"
    fi
  done
  ((pending == 0)) && { echo "pre-scaling: every target Ready at $(now)"; exit 0; }
  if (($(date +%s) >= deadline)); then
    for i in "${!labels[@]}"; do
      [[ -n "${done_at[$i]:-}" ]] || echo "${labels[i]}: ${last_ready[i]:-0}/${mins[i]} Ready at $(now), deadline of ${ready_within} s passed" >&2
    done
    echo "pre-scaling: FAILED, $pending target(s) not Ready in time (pending pods? kubectl describe pods; node capacity)" >&2
    exit 3
  fi
  sleep "$interval"
done
