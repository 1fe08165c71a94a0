#!/usr/bin/env bash
# Capacity checks of charts/validate.sh (issue 15, items 4 and 5), run after the value sets are rendered into WORK:
#   - the pre-scaling Job's script against a fake kubectl, with the arguments of every rendered pre-scaling CronJob
#   charts/validation/capacity.sh WORK
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
work="${1:?usage: capacity.sh WORK (the directory validate.sh rendered into)}"
step() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

step "pre-scaling Job script (fake kubectl), with every rendered CronJob's arguments"
bash charts/validation/selftest/prescale-selftest.sh "$work"/render-*-1.32.0.yaml
