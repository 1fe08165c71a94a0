#!/usr/bin/env bash
# Offline validation of FlashDeal's Kubernetes delivery (no cluster needed), what CI runs:
#   - helm lint --strict and helm template of charts/flashdeal over every value set, on the oldest and newest
#     supported Kubernetes; NOTES.txt renders; the chart packages
#   - every rendered object checked by charts/validation (schemas with types, enums and required fields, unknown
#     fields, cross-object references, Kong CRDs and annotations against our own schemas)
#   - values.schema.json and the template guards reject known-bad value sets; the manifest checks reject known-bad
#     manifests (both self-tests: a check that stopped failing is caught)
#   - the Kong edge (validation/edge.mjs): limits keyed like the local edge's, gRPC refusals as RESOURCE_EXHAUSTED,
#     hour-long unbuffered streams, Kong's Redis without clear passwords, upstream policies, one certificate owner
#   - redis.external: the connection string of each topology, the password only from its Secret, Orders__* on orders only;
#     REST compression on every service; shutdown: preStop ≥ 10 s and a grace period covering preStop + drain
#   - k8s/base matches the chart (k8s/render.sh), `kubectl kustomize` renders each overlay and the output is checked
#   - skaffold.yaml (every profile), the service Dockerfiles, shellcheck on the delivery scripts
#   - signing keys: the chart generates a fresh P-256 key when none is supplied; no private key is committed
#   - images under image.registry, the PriorityClass created or declared external, NetworkPolicies allowing exactly
#     the peer matrix of charts/validation/hygiene.mjs (each shown to fail with its protection removed)
#   - checksum annotations: Secret changes roll every service's pods, signing-key changes do not restart auth
#   - load/hpa-stress.sh and k8s/overlays/dev/signing-key.sh against a fake kubectl and load tool (validation/selftest)
#   - monitoring: the Prometheus rules (`promtool check rules`, `promtool test rules` on their unit tests), every
#     Grafana dashboard query (as a recording rule through promtool), dashboard JSON and uids; the rendered
#     PrometheusRule and dashboard ConfigMaps carry the files verbatim. promtool is Debian's prometheus package
#     (installed with apt as root); without it this part is SKIPPED, or fails under FLASHDEAL_REQUIRE_SMOKE=1 (CI)
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

# redis.external and the orders settings: each topology's connection string (values-production.yaml: Sentinel and TLS;
# ci/redis-cluster-values.yaml: Cluster, ACL user, timeouts; one server rendered here), the password only through the
# env var the string expands, the single string from the Secret as before, Orders__* on the orders Deployment alone.
# What the chart must refuse is in validation/fixtures/invalid-values (redis-*, orders-*).
check_redis() {
  step "redis.external: connection string per topology, password from its Secret, Orders__* on orders only"
  "$bin/helm" template flashdeal "$chart" --namespace flashdeal --kube-version 1.32.0 -f - \
    > "$work/render-redis-single-1.32.0.yaml" <<'YAML' || die "helm template failed for a single external Redis"
redis:
  enabled: false
  external: {enabled: true, endpoints: [redis.internal:6380], tls: {enabled: true, sslHost: redis.internal}}
YAML
  node --input-type=module - "$work" <<'JS' || die "rendered manifest checks failed (redis.external, REST compression, shutdown: see above)"
import { readFileSync, readdirSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { createRequire } from 'node:module';
const yaml = createRequire(`${process.cwd()}/charts/validation/package.json`)('js-yaml');
const [work] = process.argv.slice(2);
const check = (ok, message) => { if (!ok) throw new Error(message); };
const load = (file) => yaml.loadAll(readFileSync(`${work}/${file}`, 'utf8')).filter(Boolean);
const podSpec = (d) => (d.kind === 'CronJob' ? d.spec.jobTemplate.spec.template.spec : d.spec?.template?.spec);
const containers = (docs) => docs.filter((d) => podSpec(d)?.containers)
  .flatMap((d) => podSpec(d).containers.map((c) => ({ d, c, where: `${d.kind} ${d.metadata.name}/${c.name}` })));
const component = (d) => d.spec.template.metadata.labels['app.kubernetes.io/component'];
const isService = ({ d }) => d.kind === 'Deployment' && ['auth', 'catalog', 'orders'].includes(component(d));
const isOrders = ({ d }) => d.kind === 'Deployment' && component(d) === 'orders';
const envOf = (c, name) => (c.env ?? []).find((e) => e.name === name);
const placeholder = 'password=$(FLASHDEAL_REDIS_PASSWORD)';
const local = { Orders__Durability: 'Local', Orders__DurableReplicas: '1', Orders__ReplicaWaitTimeout: '00:00:00.500' };
const cases = [
  { file: 'render-values-production-1.32.0.yaml', password: { name: 'flashdeal-redis', key: 'password' },
    redis: 'redis-sentinel-0.redis.internal:26379,redis-sentinel-1.redis.internal:26379,redis-sentinel-2.redis.internal:26379,'
      + `serviceName=flashdeal,${placeholder},ssl=true,sslHost=redis.internal`,
    orders: { ...local, Orders__Durability: 'Replica' } },
  { file: 'render-redis-cluster-values-1.32.0.yaml', password: { name: 'ci-redis-credentials', key: 'redis-password' },
    redis: 'redis-0.redis-cluster:6379,redis-1.redis-cluster:6379,redis-2.redis-cluster:6379,'
      + `user=flashdeal,${placeholder},connectTimeout=5000,syncTimeout=1500`,
    orders: { Orders__Durability: 'Replica', Orders__DurableReplicas: '2', Orders__ReplicaWaitTimeout: '00:01:01.500' } },
  { file: 'render-redis-single-1.32.0.yaml', redis: 'redis.internal:6380,ssl=true,sslHost=redis.internal', orders: local },
  // The single connection string, from the chart's Secret or an existing one (key connections.redisKey), as before.
  { file: 'render-defaults-1.32.0.yaml', secret: { name: 'flashdeal-connections', key: 'redis' }, orders: local },
  { file: 'render-minimal-values-1.32.0.yaml', secret: { name: 'shared-connections', key: 'cache' }, orders: local },
];
for (const t of cases) {
  const docs = load(t.file);
  const services = containers(docs).filter(isService);
  check(services.some(isOrders), `${t.file}: no orders Deployment`);
  for (const { c, where } of services) {
    const at = `${t.file} ${where}`;
    const redis = envOf(c, 'ConnectionStrings__Redis');
    const password = envOf(c, 'FLASHDEAL_REDIS_PASSWORD');
    if (t.secret) {
      check(isDeepStrictEqual(redis?.valueFrom, { secretKeyRef: t.secret }) && redis.value === undefined,
        `${at}: ConnectionStrings__Redis is ${JSON.stringify(redis)}, not the Secret's ${JSON.stringify(t.secret)}`);
      check(!password, `${at}: FLASHDEAL_REDIS_PASSWORD without redis.external`);
    } else {
      check(redis?.value === t.redis && !redis.valueFrom, `${at}: ConnectionStrings__Redis is ${JSON.stringify(redis)}, not "${t.redis}"`);
      check(t.password ? isDeepStrictEqual(password, { name: 'FLASHDEAL_REDIS_PASSWORD', valueFrom: { secretKeyRef: t.password } }) : !password,
        `${at}: FLASHDEAL_REDIS_PASSWORD is ${JSON.stringify(password)}, expected a secretKeyRef to ${JSON.stringify(t.password)}`);
      // The kubelet expands $(VAR) only from variables declared before it.
      const names = c.env.map((e) => e.name);
      check(!t.password || names.indexOf('FLASHDEAL_REDIS_PASSWORD') < names.indexOf('ConnectionStrings__Redis'),
        `${at}: FLASHDEAL_REDIS_PASSWORD comes after ConnectionStrings__Redis`);
    }
  }
  if (!t.secret) {
    // The chart's connections Secret (if any) has no Redis key: the Secret's string is not read beside redis.external.
    for (const s of docs.filter((d) => d.kind === 'Secret')) {
      check(!Object.keys({ ...s.data, ...s.stringData }).includes('redis'), `${t.file}: Secret ${s.metadata.name} has a redis key`);
    }
    // The password reaches a container only as the placeholder, and its Secret is named by the secretKeyRefs alone.
    for (const { c, where } of containers(docs)) {
      for (const e of c.env ?? []) {
        check(!/password=/i.test((e.value ?? '').split(placeholder).join('')), `${t.file} ${where}: ${e.name} has a password in it`);
      }
    }
    if (t.password) {
      const named = readFileSync(`${work}/${t.file}`, 'utf8').split(`name: ${t.password.name}\n`).length - 1;
      const refs = containers(docs).filter(({ c }) => envOf(c, 'FLASHDEAL_REDIS_PASSWORD')).length;
      check(named === refs, `${t.file}: Secret ${t.password.name} named ${named} times, by ${refs} secretKeyRefs`);
    }
  }
  for (const { c, where } of containers(docs).filter(isOrders)) {
    const settings = Object.fromEntries(c.env.filter((e) => e.name.startsWith('Orders__')).map((e) => [e.name, e.value]));
    check(isDeepStrictEqual(settings, t.orders), `${t.file} ${where}: ${JSON.stringify(settings)}, expected ${JSON.stringify(t.orders)}`);
  }
}
// Shutdown in every rendering: preStop long enough for the Kong Ingress Controller's endpoint sync and DNS caches
// (≥ 10 s), and a grace period that covers preStop, the drain and a margin.
for (const file of readdirSync(work).filter((f) => /^render-.*\.yaml$/.test(f))) {
  for (const { d, c, where } of containers(load(file)).filter(isService)) {
    const sleep = c.lifecycle?.preStop?.sleep?.seconds;
    const drain = Number(/^00:(\d\d):(\d\d)$/.exec(envOf(c, 'Service__ShutdownTimeout')?.value ?? '')?.slice(1)
      .reduce((m, s) => m * 60 + Number(s), 0));
    check(sleep >= 10, `${file} ${where}: preStop sleep ${sleep} s, expected at least 10`);
    check(podSpec(d).terminationGracePeriodSeconds >= sleep + drain + 5,
      `${file} ${where}: terminationGracePeriodSeconds ${podSpec(d).terminationGracePeriodSeconds} < preStop ${sleep} + drain ${drain} + 5`);
  }
}
// restCompression reaches every service container: the defaults (on, Fastest) and ci/minimal-values.yaml (off, Optimal).
for (const [file, expected] of [['render-defaults-1.32.0.yaml', ['true', 'Fastest']],
  ['render-minimal-values-1.32.0.yaml', ['false', 'Optimal']]]) {
  for (const { c, where } of containers(load(file)).filter(isService)) {
    const got = ['Service__RestResponseCompression', 'Service__RestCompressionLevel'].map((n) => envOf(c, n)?.value);
    check(isDeepStrictEqual(got, expected), `${file} ${where}: REST compression ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`);
  }
}
// In every rendering: Orders__* on the orders Deployment only (not its peers, the migration Jobs or the CronJobs).
for (const file of readdirSync(work).filter((f) => /^render-.*\.yaml$/.test(f))) {
  for (const item of containers(load(file)).filter((i) => !isOrders(i))) {
    const stray = (item.c.env ?? []).filter((e) => e.name.startsWith('Orders__')).map((e) => e.name);
    check(stray.length === 0, `${file} ${item.where}: ${stray.join(', ')} outside the orders Deployment`);
  }
}
// The signing-key publication wait reaches auth alone, as jwt.signingKeys.publishBeforeSigningSeconds says (defaults
// 420 s; ci/hygiene-values.yaml 3725 s), as a TimeSpan the service parses.
for (const [file, expected] of [['render-defaults-1.32.0.yaml', '00:07:00'], ['render-hygiene-values-1.32.0.yaml', '01:02:05']]) {
  const all = containers(load(file));
  const auth = all.filter((i) => isService(i) && component(i.d) === 'auth');
  check(auth.length === 1, `${file}: ${auth.length} auth containers`);
  for (const { c, where } of auth) {
    const got = envOf(c, 'Auth__SigningKeys__PublishBeforeSigning')?.value;
    check(got === expected, `${file} ${where}: Auth__SigningKeys__PublishBeforeSigning ${got}, expected ${expected}`);
  }
  for (const { c, where } of all.filter((i) => !(isService(i) && component(i.d) === 'auth'))) {
    check(!envOf(c, 'Auth__SigningKeys__PublishBeforeSigning'), `${file} ${where}: Auth__SigningKeys__PublishBeforeSigning outside auth`);
  }
}
console.log(`redis.external: ${cases.length} renderings (sentinel, cluster, one server, the Secret's string twice) as expected`);
JS
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

# Secret changes roll the pods: every service's pod template carries checksum/connections from the Secret the chart
# writes (stable across renders, changed with the connection string), none from the signing-key Secret (auth reloads
# its keys while running: two renders with different generated keys give identical pod templates), and with an
# existing Secret the checksum comes from `lookup` (nothing under `helm template`; the helper is run on stand-in
# objects in a copy of the chart: same data in any key order → same checksum, changed data → another, none → empty).
check_pod_checksums() {
  step "checksum annotations: Secret changes roll the pods, key changes do not restart auth"
  local base="$work/render-defaults-1.32.0.yaml" again="$work/checksum-again.yaml" changed="$work/checksum-changed.yaml"
  local existing="$work/checksum-existing.yaml" copy="$work/checksum-chart" lookup="$work/checksum-lookup.yaml"
  "$bin/helm" template flashdeal "$chart" --kube-version 1.32.0 > "$again"
  "$bin/helm" template flashdeal "$chart" --kube-version 1.32.0 --set postgresql.password=rotated-password > "$changed"
  "$bin/helm" template flashdeal "$chart" --kube-version 1.32.0 --set connections.existingSecret=managed-connections > "$existing"
  cp -r "$chart" "$copy"
  cat > "$copy/templates/zz-checksum.yaml" <<'TPL'
{{- $a := dict "data" (dict "postgres" "SG9zdD1h" "redis" "cmVkaXM=") }}
{{- $b := dict "data" (dict "redis" "cmVkaXM=" "postgres" "SG9zdD1h") }}
{{- $c := dict "data" (dict "postgres" "SG9zdD1i" "redis" "cmVkaXM=") }}
checksums: {{ list (include "flashdeal.secretDataChecksum" $a) (include "flashdeal.secretDataChecksum" $b) (include "flashdeal.secretDataChecksum" $c) (include "flashdeal.secretDataChecksum" (dict)) | toJson }}
TPL
  "$bin/helm" template flashdeal "$copy" --kube-version 1.32.0 --show-only templates/zz-checksum.yaml > "$lookup"
  node --input-type=module - "$base" "$again" "$changed" "$existing" "$lookup" <<'JS' || die "checksum annotation check failed"
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
const yaml = createRequire(`${process.cwd()}/charts/validation/package.json`)('js-yaml');
const services = ['auth', 'catalog', 'orders'];
const annotations = (file) => Object.fromEntries(yaml.loadAll(readFileSync(file, 'utf8'))
  .filter((d) => d?.kind === 'Deployment' && services.includes(d.metadata.labels?.['app.kubernetes.io/component']))
  .map((d) => [d.metadata.labels['app.kubernetes.io/component'], d.spec.template.metadata.annotations ?? {}]));
const [base, again, changed, existing, lookup] = process.argv.slice(2).map((f, i) => (i < 4 ? annotations(f) : yaml.load(readFileSync(f, 'utf8'))));
const fail = (message) => { throw new Error(message); };
for (const name of services) {
  const sum = base[name]?.['checksum/connections'];
  if (!/^[0-9a-f]{16}$/.test(sum ?? '')) fail(`${name}: no checksum/connections on its pod template`);
  if (JSON.stringify(again[name]) !== JSON.stringify(base[name])) {
    fail(`${name}: pod-template annotations differ between two renders of the same values (a fresh signing key must not roll pods): ${JSON.stringify(base[name])} vs ${JSON.stringify(again[name])}`);
  }
  if (changed[name]?.['checksum/connections'] === sum) fail(`${name}: checksum/connections unchanged when the connection string changed`);
  const unexpected = Object.keys(base[name]).filter((k) => k.startsWith('checksum/') && !['checksum/connections', 'checksum/redis-password'].includes(k));
  if (unexpected.length) fail(`${name}: unexpected checksum annotations ${unexpected} (the signing-key Secret must not roll auth)`);
  if (existing[name]?.['checksum/connections'] !== undefined) fail(`${name}: checksum/connections under helm template with an existing Secret (lookup sees nothing there)`);
}
const [a, b, c, none] = lookup.checksums;
if (!/^[0-9a-f]{16}$/.test(a) || a !== b) fail(`lookup checksum not stable for the same data: ${a} ${b}`);
if (c === a) fail('lookup checksum unchanged when the Secret data changed');
if (none !== '') fail(`lookup checksum of an unseen Secret should be empty, got ${none}`);
console.log('checksum annotations: on every service, stable, changed with the connections, none for the signing keys');
JS
}

check_scripts() {
  local scripts=(charts/validate.sh charts/tools.sh k8s/render.sh k8s/overlays/dev/signing-key.sh
    charts/validation/capacity.sh charts/validation/selftest/prescale-selftest.sh
    charts/validation/selftest/fake-kubectl-prescale charts/flashdeal/files/prescale.sh
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

# promtool from Debian's prometheus package (as root with apt, like shellcheck). Where the package starts its server
# (systemd), that unit is stopped again: ./flashdeal up runs its own Prometheus on the same default port.
install_promtool() {
  command -v promtool >/dev/null && return 0
  [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null || return 0
  step "installing promtool (apt: prometheus)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; } \
    || echo "validate.sh: apt-get install prometheus failed" >&2
  if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
    systemctl stop prometheus.service >/dev/null 2>&1 || true
  fi
}

# The monitoring the chart ships (templates/prometheusrule.yaml, dashboards.yaml from files/): the rule files and their
# unit tests, the dashboards' JSON and queries, and that the rendering carries both unchanged.
check_observability() {
  local files="$chart/files" rendered="$work/render-observability-values-1.32.0.yaml"
  local rules=("$files/prometheus/flashdeal-rules.yaml" "$files/prometheus/flashdeal-kubernetes-rules.yaml")
  step "monitoring: rendered PrometheusRule and dashboards, dashboard JSON and queries, every alert unit-tested"
  # The dashboards are written by scripts/dashboards.py: the committed JSON must be what it writes.
  mkdir -p "$work/dashboards"
  python3 scripts/dashboards.py "$work/dashboards" || die "scripts/dashboards.py failed"
  diff -r -q "$work/dashboards" "$files/dashboards" >/dev/null ||
    die "charts/flashdeal/files/dashboards differs from what scripts/dashboards.py writes: run it and commit"
  node --input-type=module - "$rendered" "$files" <<'JS' || die "the rendered monitoring objects differ from charts/flashdeal/files"
import { readFileSync, readdirSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { createRequire } from 'node:module';
const yaml = createRequire(`${process.cwd()}/charts/validation/package.json`)('js-yaml');
const [rendered, files] = process.argv.slice(2);
const docs = yaml.loadAll(readFileSync(rendered, 'utf8')).filter(Boolean);
const ruleFiles = ['flashdeal-rules.yaml', 'flashdeal-kubernetes-rules.yaml'];
const groups = ruleFiles.flatMap((f) => yaml.load(readFileSync(`${files}/prometheus/${f}`, 'utf8')).groups);
const rule = docs.find((d) => d.kind === 'PrometheusRule');
// Verbatim: no template ran over the files, so {{ $labels.instance }} and {{ $value }} reach Prometheus as written.
if (!isDeepStrictEqual(rule?.spec?.groups, groups)) {
  throw new Error(`PrometheusRule ${rule?.metadata?.name}: spec.groups differ from ${ruleFiles.join(', ')}`);
}
const dashboards = readdirSync(`${files}/dashboards`).filter((f) => f.endsWith('.json'));
for (const file of dashboards) {
  const map = docs.find((d) => d.kind === 'ConfigMap' && d.data?.[file] !== undefined);
  if (!map) throw new Error(`no ConfigMap carries ${file}`);
  if (!isDeepStrictEqual(JSON.parse(map.data[file]), JSON.parse(readFileSync(`${files}/dashboards/${file}`, 'utf8')))) {
    throw new Error(`ConfigMap ${map.metadata.name}: ${file} differs from the file`);
  }
}
// Every alert has a unit test in which it fires.
const tests = yaml.load(readFileSync(`${files}/prometheus/tests.yaml`, 'utf8')).tests;
const fired = new Set(tests.flatMap((t) => (t.alert_rule_test ?? []).filter((a) => a.exp_alerts?.length).map((a) => a.alertname)));
const untested = groups.flatMap((g) => g.rules).filter((r) => r.alert && !fired.has(r.alert)).map((r) => r.alert);
if (untested.length) throw new Error(`alerts without a test in tests.yaml that makes them fire: ${untested.join(', ')}`);
const alerts = groups.flatMap((g) => g.rules).filter((r) => r.alert).length;
console.log(`monitoring: PrometheusRule = the rule files (${groups.length} groups, ${alerts} alerts, each fired by a test), ${dashboards.length} dashboard ConfigMaps = the files`);
JS
  node "$validation/validate.mjs" dashboards --rules="$work/dashboard-queries.yaml" "$files"/dashboards/*.json
  # Self-test: a broken dashboard beside the real ones is rejected for each reason its "__expect" lists (and below,
  # promtool rejects its query that is no PromQL, "__promtool_expect").
  local fixture output expected
  for fixture in "$validation"/fixtures/invalid-dashboards/*.json; do
    if output="$(node "$validation/validate.mjs" dashboards --rules="$work/fixture-queries.yaml" "$files"/dashboards/*.json \
      "$fixture" 2>&1)"; then
      die "$fixture: the dashboard check accepted it"
    fi
    while read -r expected; do
      grep -qF -- "$expected" <<<"$output" || die "$fixture: expected \"$expected\", got: $output"
    done < <(node -e 'for (const e of JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).__expect) console.log(e)' "$fixture")
  done

  install_promtool
  if ! command -v promtool >/dev/null; then
    if [[ "${FLASHDEAL_REQUIRE_SMOKE:-0}" == 1 ]]; then
      die "promtool is REQUIRED (FLASHDEAL_REQUIRE_SMOKE=1) but not installed (Debian/Ubuntu: apt-get install prometheus)"
    fi
    echo "validate.sh: SKIPPED promtool checks of the rules, their unit tests and the dashboard queries: promtool is not installed, and installing it needs root and apt-get (Debian/Ubuntu: sudo apt-get install --no-install-recommends prometheus)" >&2
    return 0
  fi
  step "promtool $(promtool --version 2>&1 | sed -n '1s/^promtool, version \([^ ]*\).*/\1/p'): check rules, test rules, dashboard queries"
  promtool check rules "${rules[@]}" || die "promtool rejects the rule files"
  promtool test rules "$files/prometheus/tests.yaml" || die "the rules' unit tests fail ($files/prometheus/tests.yaml)"
  promtool check rules "$work/dashboard-queries.yaml" >"$work/dashboard-queries.log" 2>&1 \
    || { cat "$work/dashboard-queries.log" >&2; die "a dashboard query is not valid PromQL"; }
  echo "dashboard queries: $(grep -c 'expr:' "$work/dashboard-queries.yaml") expressions parse"
  for fixture in "$validation"/fixtures/invalid-dashboards/*.json; do
    node "$validation/validate.mjs" dashboards --rules="$work/fixture-queries.yaml" "$fixture" >/dev/null 2>&1 || true
    expected="$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).__promtool_expect)' "$fixture")"
    if output="$(promtool check rules "$work/fixture-queries.yaml" 2>&1)" || ! grep -qF -- "$expected" <<<"$output"; then
      die "$fixture: expected promtool to reject the query with \"$expected\", got: $output"
    fi
  done
}

# Images under image.registry, the PriorityClass and the NetworkPolicies' peer matrix in every rendering of the chart
# and the overlays (charts/validation/hygiene.mjs); then that each protection fails when it is removed.
check_hygiene() {
  step "images under image.registry, PriorityClass created or external, NetworkPolicies = the peer matrix"
  local set name kube pairs=()
  while read -r set; do
    name="$(basename "${set%.yaml}")"
    [[ "$set" == "-" ]] && name="defaults"
    for kube in "${kube_versions[@]}"; do pairs+=("$work/render-$name-$kube.yaml=$set"); done
  done < <(value_sets)
  pairs+=("$work/render-redis-single-1.32.0.yaml=$work/redis-single-values.yaml")
  printf 'redis: {enabled: false, external: {enabled: true, endpoints: [redis.internal:6380], tls: {enabled: true, sslHost: redis.internal}}}\n' \
    > "$work/redis-single-values.yaml"
  local overlay
  for overlay in "$work"/overlay-*.yaml; do pairs+=("$overlay=k8s/base/values.yaml"); done
  node "$validation/hygiene.mjs" "${pairs[@]}"
  hygiene_self_test
}

# Each protection removed in a copy of the chart must make check_hygiene's checks fail for that reason
# (template|text|replacement|expected problem[|value set, default values-production.yaml; - for the defaults]).
hygiene_self_test() {
  local copy="$work/hygiene-chart" out="$work/hygiene-broken.yaml" t file from to expected values output
  local -a args
  local -a cases=(
    "networkpolicy.yaml|- key: app.kubernetes.io/component|- key: app.kubernetes.io/no-such-label|selected by no default-deny"
    "networkpolicy.yaml|- {protocol: TCP, port: {{ \$ports.grpc }}}|- {protocol: TCP, port: {{ \$ports.grpc }}}\n        - {protocol: TCP, port: 9090}|kong TCP/9090"
    "networkpolicy.yaml|{{- if \$scraped }}|{{- if false }}|lacks what the peer matrix allows: prometheus TCP/8080"
    "_helpers.tpl|kubernetes.io/metadata.name: {{ . }}|kubernetes.io/metadata.name: {{ . }}-x|allows more than the peer matrix"
    "_helpers.tpl|{{- range .cidrs }}|{{- range list }}|allows more than the peer matrix: any address TCP/5432"
    "networkpolicy.yaml|{{- range \$np.egress.redis.ports }}|{{- range list }}|lacks what the peer matrix allows: Redis TCP/6379"
    "_helpers.tpl|{{- with .root.Values.image.registry }}|{{- with \"\" }}|is not under image.registry ghcr.io/acme"
    "priorityclass.yaml|{{- if and \$name \$pc.create }}|{{- if false }}|priorityClassName flashdeal-critical is neither created"
    "_helpers.tpl|{{- \$reference := \$repository }}|{{- \$reference := printf \"docker.io/%s\" \$repository }}|as before (no image.registry)|-"
  )
  for t in "${cases[@]}"; do
    IFS='|' read -r file from to expected values <<<"$t"
    values="${values:-$chart/values-production.yaml}"
    args=()
    [[ "$values" != "-" ]] && args=(-f "$values")
    rm -rf "$copy" && cp -r "$chart" "$copy"
    FROM="$from" TO="$(printf '%b' "$to")" perl -0pi -e 's/\Q$ENV{FROM}\E/$ENV{TO}/ or die "no match\n"' "$copy/templates/$file" \
      || die "hygiene self-test: \"$from\" is not in templates/$file any more: update the case"
    "$bin/helm" template flashdeal "$copy" --namespace flashdeal --kube-version 1.32.0 "${args[@]}" > "$out" 2>/dev/null \
      || die "hygiene self-test: the chart with \"$to\" in $file does not render"
    if output="$(node "$validation/hygiene.mjs" "$out=$values" 2>&1)"; then
      die "hygiene self-test: the checks accept $file with \"$from\" → \"$to\""
    fi
    grep -qF -- "$expected" <<<"$output" || die "hygiene self-test: $file with \"$to\": expected \"$expected\", got: $output"
  done
  echo "hygiene self-test: ${#cases[@]} removed protections each caught"
}

# The Kong edge in every rendering and overlay (validation/edge.mjs: limits keyed as documented, gRPC refusals,
# hour-long unbuffered streams, Redis without clear passwords, upstream policies, one certificate owner, TLS on every
# Ingress), then the same check against broken renderings (fixtures/invalid-edge) so a check that stopped failing
# is caught.
check_edge() {
  step "Kong edge: limits per caller/address/PlaceOrder, streams, Redis, upstream policies, one certificate owner"
  node "$validation/edge.mjs" "$work"/render-*.yaml "$work"/overlay-*.yaml || die "the rendered Kong edge is wrong (see above)"
  node "$validation/edge-selftest.mjs" "$work" "$validation"/fixtures/invalid-edge/*.yaml || die "edge.mjs accepted a broken rendering"
  # The pre-function's Lua, run against a fake Kong PDK: Debian's lua5.1 (Kong runs LuaJIT, Lua 5.1's language).
  if ! command -v lua5.1 >/dev/null && [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends lua5.1 >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends lua5.1 >/dev/null; } \
      || echo "validate.sh: apt-get install lua5.1 failed" >&2
  fi
  if ! command -v lua5.1 >/dev/null; then
    [[ "${FLASHDEAL_REQUIRE_SMOKE:-0}" == 1 ]] && die "lua5.1 is REQUIRED (FLASHDEAL_REQUIRE_SMOKE=1) for the Kong pre-function test"
    echo "validate.sh: SKIPPED the Kong pre-function's Lua test: lua5.1 is not installed (Debian/Ubuntu: apt-get install lua5.1)" >&2
    return 0
  fi
  node --input-type=module - "$work" <<'JS' || die "cannot extract the caller plugin's code"
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
const yaml = createRequire(`${process.cwd()}/charts/validation/package.json`)('js-yaml');
const [work] = process.argv.slice(2);
const plugin = yaml.loadAll(readFileSync(`${work}/render-defaults-1.32.0.yaml`, 'utf8'))
  .find((d) => d?.kind === 'KongPlugin' && d.plugin === 'pre-function');
writeFileSync(`${work}/caller-access.lua`, plugin.config.access.join('\n'));
writeFileSync(`${work}/caller-header-filter.lua`, plugin.config.header_filter.join('\n'));
writeFileSync(`${work}/caller-body-filter.lua`, plugin.config.body_filter.join('\n'));
JS
  lua5.1 "$validation/caller-test.lua" "$work/caller-access.lua" "$work/caller-header-filter.lua" "$work/caller-body-filter.lua" \
    || die "the Kong pre-function keys callers or answers gRPC refusals wrongly"
}

install_k8s_tools
install_validation_modules
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

lint_and_render
check_invalid_values
check_redis
check_kustomize
step "schema and reference checks of every rendering"
node "$validation/validate.mjs" manifests "$work"/render-*.yaml "$work"/overlay-*.yaml
node "$validation/validate.mjs" fixtures "$validation"/fixtures/invalid-manifests/*.yaml
check_edge
check_observability
step "skaffold.yaml and Dockerfiles"
node "$validation/validate.mjs" skaffold skaffold.yaml
node "$validation/validate.mjs" dockerfiles services/*/Dockerfile
check_signing_keys
check_hygiene
check_pod_checksums
check_scripts
step "the local edge (HAProxy and nginx, ./flashdeal up) routes and limits exactly as the Kong ingress does"
bash scripts/edge/check-routes.sh
step "self-tests of load/hpa-stress.sh and k8s/overlays/dev/signing-key.sh (fake kubectl and load tool)"
bash "$validation/selftest/selftest.sh"
bash "$validation/capacity.sh" "$work"
echo "charts/validate.sh: all Kubernetes checks passed in $(( $(date +%s) - started )) s"
