#!/usr/bin/env bash
# Offline self-test of the pre-scaling Job's script (charts/flashdeal/files/prescale.sh) against a fake kubectl
# (fake-kubectl-prescale): the patches it sends, the wait for Ready pods with its report lines, the deadline's exit 3
# (the Job's podFailurePolicy fails the Job on it), kubectl errors (exit 1, retried), usage errors (exit 2), and — given
# a rendering of the chart — the exact arguments of every rendered pre-scaling CronJob. Run by charts/validate.sh.
#   prescale-selftest.sh [RENDERED.yaml ...]
# shellcheck disable=SC2016  # the single-quoted bash -c programs expand their own arguments
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
script="$root/charts/flashdeal/files/prescale.sh"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=charts/validation/selftest/lib.sh
source "$here/lib.sh"
fake() { fake_cluster "$1" fake-kubectl-prescale; } # case-name → a fresh fake cluster directory
ready() { # dir deployment counts...
  local dir="$1" name="$2"
  shift 2
  printf '%s\n' "$@" > "$dir/ready-$name"
}
run() { # dir args... → exit code in $rc, output in $dir/out, $dir/err
  local dir="$1"
  shift
  set +e
  PATH="$dir/bin:$PATH" FAKE_KUBECTL_DIR="$dir" bash "$script" "$@" >"$dir/out" 2>"$dir/err"
  rc=$?
  set -e
}

echo "prescale.sh"
# 1. up: an HPA target and a Deployment target become Ready over a few polls; each is reported with its time.
c="$(fake up)"
ready "$c" flashdeal-orders 6 20 39 40
ready "$c" flashdeal-catalog "" 3 10
run "$c" up --ready-within 60 --interval 0.1 \
  --target orders --deployment flashdeal-orders --hpa flashdeal-orders --min 40 --max 60 \
  --target catalog --deployment flashdeal-catalog --min 10
expect "up: exit 0 once every target is Ready" test "$rc" = 0
expect "up: patches the HPA's minReplicas and maxReplicas" \
  grep -qxF 'patch horizontalpodautoscaler flashdeal-orders --type=merge --patch={"spec":{"minReplicas":40,"maxReplicas":60}}' "$c/kubectl.log"
expect "up: scales a Deployment without HPA" grep -qxF 'scale deployment flashdeal-catalog --replicas=10' "$c/kubectl.log"
expect "up: prints 'orders: 40/40 Ready at <UTC>' and 'catalog: 10/10 Ready at <UTC>'" bash -c '
  grep -qE "^orders: 40/40 Ready at [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$" "$1" &&
  grep -qE "^catalog: 10/10 Ready at [0-9-]{10}T[0-9:]{8}Z$" "$1" && grep -q "^pre-scaling: every target Ready at" "$1"' _ "$c/out"
expect "up: waits for Ready pods (39 of 40 is not enough: four polls of orders)" test "$(cat "$c/polls-flashdeal-orders")" = 4
expect "up: stops polling a target once it is Ready" test "$(cat "$c/polls-flashdeal-catalog")" = 3

# 2. up: a target that never gets all its pods Ready fails the Job with exit 3, naming what is missing.
c="$(fake late)"
ready "$c" flashdeal-orders 40
ready "$c" flashdeal-catalog 5 7
run "$c" up --ready-within 1 --interval 0.2 \
  --target orders --deployment flashdeal-orders --hpa flashdeal-orders --min 40 --max 60 \
  --target catalog --deployment flashdeal-catalog --hpa flashdeal-catalog --min 10 --max 20
expect "late: exit 3 when a target is not Ready by the deadline" test "$rc" = 3
expect "late: names the target and its Ready count at the deadline" bash -c '
  grep -qE "^catalog: 7/10 Ready at .*deadline of 1 s passed" "$1" && grep -q "^pre-scaling: FAILED, 1 target" "$1"' _ "$c/err"
expect "late: the Ready target is still reported" grep -q "^orders: 40/40 Ready at" "$c/out"

# 3. down: restores, never waits.
c="$(fake down)"
run "$c" down --target orders --deployment flashdeal-orders --hpa flashdeal-orders --min 6 --max 60
expect "down: exit 0, HPA restored, no status polls" bash -c '
  test "$1" = 0 && grep -qF "\"minReplicas\":6,\"maxReplicas\":60" "$2" && ! grep -q "get deployment" "$2"' _ "$rc" "$c/kubectl.log"

# 4. Kong in its own namespace; a kubectl error is exit 1 (the Job retries it) before any waiting.
c="$(fake kong)"
ready "$c" kong-gateway 8
run "$c" up --interval 0.1 --target kong --namespace kong --deployment kong-gateway --hpa kong-gateway --min 8 --max 12
expect "kong: -n kong on the patch and the status reads" bash -c '
  test "$1" = 0 && grep -q "^-n kong patch horizontalpodautoscaler kong-gateway" "$2" && grep -q "^-n kong get deployment kong-gateway" "$2"' _ "$rc" "$c/kubectl.log"
c="$(fake forbidden)"
touch "$c/fail-patch"
run "$c" up --target orders --deployment flashdeal-orders --hpa flashdeal-orders --min 40 --max 60
expect "forbidden: kubectl's error exits 1 without waiting" bash -c '
  test "$1" = 1 && ! grep -q "get deployment" "$2"' _ "$rc" "$c/kubectl.log"

# 5. Usage errors exit 2 (the Job fails at once: retrying cannot fix its arguments).
c="$(fake usage)"
run "$c" sideways --target orders --deployment x --min 1
expect "usage: an unknown phase exits 2" test "$rc" = 2
run "$c" up --target orders --deployment x --hpa x --min 4
expect "usage: --hpa without --max exits 2" test "$rc" = 2
run "$c" up
expect "usage: no target exits 2" test "$rc" = 2

# 6. The rendered CronJobs: the chart's own arguments run against the fake (every target Ready at once).
for rendered in "$@"; do
  while IFS=$'\t' read -r name argv; do
    c="$(fake "rendered-$name")"
    read -r -a args <<<"$argv"
    for ((i = 0; i < ${#args[@]}; i++)); do
      if [[ "${args[i]}" == --min ]]; then
        for ((j = i; j >= 0; j--)); do [[ "${args[j]}" == --deployment ]] && break; done
        ready "$c" "${args[j + 1]}" "${args[i + 1]}"
      fi
    done
    run "$c" "${args[@]}" --interval 0.1
    expect "$(basename "$rendered"): CronJob $name's arguments run (exit 0)" test "$rc" = 0
  done < <(node --input-type=module - "$rendered" <<'JS'
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
const yaml = createRequire(`${process.cwd()}/charts/validation/package.json`)('js-yaml');
for (const d of yaml.loadAll(readFileSync(process.argv[2], 'utf8'))) {
  if (d?.kind !== 'CronJob' || d.metadata.labels?.['app.kubernetes.io/component'] !== 'prescaler') continue;
  const c = d.spec.jobTemplate.spec.template.spec.containers[0];
  if (c.args.some((a) => /\s/.test(a))) throw new Error(`${d.metadata.name}: an argument has a space`);
  console.log(`${d.metadata.name}\t${c.args.join(' ')}`);
}
JS
  )
done

((fails == 0)) || { echo "prescale-selftest.sh: $fails check(s) failed" >&2; exit 1; }
echo "prescale-selftest.sh: all pre-scaling script self-tests passed"
