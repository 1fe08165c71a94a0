#!/usr/bin/env bash
# Capacity checks of charts/validate.sh (issue 15, items 4 and 5; docs/kubernetes.md), run after validate.sh rendered
# every value set, k8s/render.sh's output and each overlay into WORK:
#   - k8s/overlays/prod/capacity*.yaml are what k8s/render.sh generates from values-production.yaml
#   - charts/validation/capacity.mjs: every rendering's connection budget recomputed from its objects, the docs' budget
#     table current, every custom HPA metric served by k8s/prometheus-adapter/values.yaml, and Helm's production
#     capacities equal to `kubectl kustomize k8s/overlays/prod`'s
#   - the pre-scaling Job's script against a fake kubectl, with the arguments of every rendered pre-scaling CronJob
#   charts/validation/capacity.sh WORK
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
work="${1:?usage: capacity.sh WORK (the directory validate.sh rendered into)}"
step() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

step "capacity: connection budgets, adapter rules for custom metrics, one set of production capacities"
for file in capacity.yaml capacity-patches.yaml; do
  diff -q "k8s/overlays/prod/$file" "$work/k8s/overlays/prod/$file" >/dev/null || {
    diff -u "k8s/overlays/prod/$file" "$work/k8s/overlays/prod/$file" | head -20
    echo "capacity.sh: k8s/overlays/prod/$file is stale: run k8s/render.sh and commit" >&2
    exit 1
  }
done
node charts/validation/capacity.mjs check "$work"

step "pre-scaling Job script (fake kubectl), with every rendered CronJob's arguments"
bash charts/validation/selftest/prescale-selftest.sh "$work"/render-*-1.32.0.yaml
