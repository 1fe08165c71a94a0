#!/usr/bin/env node
// Checks of what every rendering does about images, priority and the network (charts/validate.sh, check_hygiene):
//   - images: with image.registry set, every container image (Deployments, Jobs, CronJobs, init containers) starts
//     with it; without it, each image is the reference the chart rendered before image.registry covered them all
//   - priority: a pod's priorityClassName is a PriorityClass the rendering creates or the values declare external
//     (priorityClass.external); the service Deployments carry it, the Jobs, CronJobs and dev databases do not
//   - network: every pod of the release is selected by a default-deny policy (ingress and egress), and what the
//     policies allow each pod is exactly the peer matrix below: a widened rule (a port, a peer, "any") or a dropped one
//     is reported as extra or missing
// Usage: node hygiene.mjs RENDERING=VALUES[,VALUES…] …   (VALUES after the chart's values.yaml, as `helm -f`; "-" none)
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const yaml = createRequire(import.meta.url)('js-yaml');
const chartValues = yaml.load(readFileSync(join(here, '../flashdeal/values.yaml'), 'utf8'));
const appVersion = /^appVersion:\s*"?([^"\s]+)"?/m.exec(readFileSync(join(here, '../flashdeal/Chart.yaml'), 'utf8'))[1];

const SERVICES = ['auth', 'catalog', 'orders'];

// The peer matrix, mirrored in docs/kubernetes.md ("Network policies"): which pods may be reached by / may reach which
// peer, on which ports, and when. Pods and peers named like a component are the release's own pods; the others are
// networkPolicy.<peer> (egress.<peer>) of the values; PostgreSQL and Redis are the in-cluster dev database when the
// services use it, else networkPolicy.egress.postgres / .redis.
const MATRIX = [
  // direction  pods                   peer              ports          only when
  ['ingress', SERVICES, 'kong', 'routes', (f) => f.kong],
  ['ingress', ['auth'], 'catalog', 'rest', (f) => f.jwksInternal],
  ['ingress', ['auth'], 'orders', 'rest', (f) => f.jwksInternal],
  ['ingress', SERVICES, 'prometheus', 'rest', (f) => f.scraped],
  ['egress', SERVICES, 'dns', 'dns'],
  ['egress', SERVICES, 'PostgreSQL', 'postgres'],
  ['egress', SERVICES, 'Redis', 'redis'],
  ['egress', SERVICES, 'otlpCollector', 'otlp', (f) => f.otlp],
  ['egress', ['catalog', 'orders'], 'auth', 'rest', (f) => f.jwksInternal],
  ['egress', ['catalog', 'orders'], 'jwks', 'jwks', (f) => f.jwksExternal],
  ['egress', ['migrations'], 'dns', 'dns'],
  ['egress', ['migrations'], 'PostgreSQL', 'postgres'],
  ['egress', ['prescaler'], 'kubeApiServer', 'kubeApiServer'],
  ['ingress', ['postgresql'], [...SERVICES, 'migrations'], 'postgresPod'],
  ['ingress', ['redis'], SERVICES, 'redisPod'],
];

// What the chart rendered before image.registry covered every image: without a registry, images stay these.
const IMAGES_BEFORE = {
  service: (v, name) => `${v.services[name].image.repository}:${v.services[name].image.tag || v.image.tag || appVersion}`,
  prescaler: () => 'registry.k8s.io/kubectl:v1.32.0',
  postgresql: () => 'docker.io/library/postgres:17-alpine',
  redis: () => 'docker.io/library/redis:7-alpine',
};

const problems = [];
const check = (ok, message) => { if (!ok) problems.push(message); };

const isMap = (x) => x !== null && typeof x === 'object' && !Array.isArray(x);
const merge = (base, over) => {
  if (!isMap(base) || !isMap(over)) return over === undefined ? base : over;
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = v === null ? undefined : merge(base[k], v);
  return out;
};
const canonical = (x) => (Array.isArray(x) ? `[${x.map(canonical).join(',')}]`
  : isMap(x) ? `{${Object.keys(x).sort().map((k) => `${JSON.stringify(k)}:${canonical(x[k])}`).join(',')}}`
    : JSON.stringify(x));

const podSpec = (d) => (d.kind === 'CronJob' ? d.spec?.jobTemplate?.spec?.template?.spec
  : d.kind === 'Pod' ? d.spec : d.spec?.template?.spec);
const podLabels = (d) => (d.kind === 'CronJob' ? d.spec.jobTemplate.spec.template.metadata?.labels
  : d.kind === 'Pod' ? d.metadata.labels : d.spec.template.metadata?.labels) ?? {};
const component = (d) => podLabels(d)['app.kubernetes.io/component'];

function selects(selector, labels) {
  if (!selector) return false;
  const has = (k) => Object.hasOwn(labels, k);
  return Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v)
    && (selector.matchExpressions ?? []).every(({ key, operator, values }) => ({
      In: () => has(key) && values.includes(labels[key]),
      NotIn: () => !has(key) || !values.includes(labels[key]),
      Exists: () => has(key),
      DoesNotExist: () => !has(key),
    })[operator]?.() ?? false);
}

function checkRendering(file, values) {
  const name = basename(file);
  const docs = yaml.loadAll(readFileSync(file, 'utf8')).filter(Boolean);
  // The release's pods (the chart's name label); an overlay may add pods of its own, e.g. the dev overlay's Redis for
  // Kong's counters (k8s/kong/ratelimit-redis), which belong to Kong's side and are no FlashDeal peer.
  const pods = docs.filter((d) => podSpec(d) && podLabels(d)?.['app.kubernetes.io/name'] === 'flashdeal');
  const containers = pods.flatMap((d) => [...(podSpec(d).initContainers ?? []), ...podSpec(d).containers]
    .map((c) => ({ d, c, where: `${name} ${d.kind} ${d.metadata.name}/${c.name}` })));
  const kustomized = docs.some((d) => d.metadata?.labels?.['app.kubernetes.io/managed-by'] === 'kustomize');

  // Images. A kustomize overlay renames images with its own `images:` list: where it moves the services to a registry
  // (k8s/overlays/prod), every other image must come from there too.
  const registry = kustomized
    ? /^(.+)\/flashdeal\/[a-z]+(:|@|$)/.exec(containers.find(({ d }) => SERVICES.includes(component(d)))?.c.image ?? '')?.[1] ?? ''
    : (values.image.registry ?? '').replace(/\/$/, '');
  for (const { d, c, where } of kustomized && !registry ? [] : containers) {
    if (registry) {
      check(c.image.startsWith(`${registry}/`), `${where}: image ${c.image} is not under ${kustomized ? "the services' registry" : 'image.registry'} ${registry}`);
      continue;
    }
    const kind = SERVICES.includes(component(d)) || component(d) === 'migrations' ? 'service' : component(d);
    const service = component(d) === 'migrations' ? podLabels(d)['flashdeal.dev/service'] : component(d);
    const expected = IMAGES_BEFORE[kind]?.(values, service);
    check(expected !== undefined, `${where}: an image (${c.image}) the image check does not know: add it to IMAGES_BEFORE`);
    check(!expected || c.image === expected, `${where}: image ${c.image}, expected ${expected} as before (no image.registry)`);
  }

  // Priority.
  const classes = new Set(docs.filter((d) => d.kind === 'PriorityClass').map((d) => d.metadata.name));
  for (const d of pods) {
    const where = `${name} ${d.kind} ${d.metadata.name}`;
    const used = podSpec(d).priorityClassName;
    if (used) {
      check(classes.has(used) || (values.priorityClass?.external && values.priorityClassName === used),
        `${where}: priorityClassName ${used} is neither created by the rendering nor declared external (priorityClass.external)`);
    }
    const service = d.kind === 'Deployment' && SERVICES.includes(component(d));
    check(service ? used === (values.priorityClassName || undefined) : !used,
      `${where}: priorityClassName ${used}, expected ${service ? values.priorityClassName || 'none' : 'none (services only)'}`);
  }
  for (const c of classes) {
    check(c === values.priorityClassName && values.priorityClass.create, `${name}: PriorityClass ${c} rendered, but priorityClassName is "${values.priorityClassName}" (priorityClass.create ${values.priorityClass.create})`);
  }

  if (values.networkPolicy.enabled) checkNetwork(name, docs, pods, values);
  else check(!docs.some((d) => d.kind === 'NetworkPolicy'), `${name}: NetworkPolicies rendered with networkPolicy.enabled false`);
}

function checkNetwork(name, docs, pods, v) {
  const policies = docs.filter((d) => d.kind === 'NetworkPolicy');
  const np = v.networkPolicy;
  const byComponent = new Map();
  for (const d of pods) {
    const c = component(d);
    if (!byComponent.has(c)) byComponent.set(c, podLabels(d));
  }
  // The release's own pods as a peer: the selector labels (name, instance, component) of the rendered pods.
  const podPeer = (c) => {
    const labels = byComponent.get(c);
    return labels && { podSelector: { matchLabels: Object.fromEntries(['app.kubernetes.io/name', 'app.kubernetes.io/instance',
      'app.kubernetes.io/component'].map((k) => [k, labels[k]])) } };
  };
  const valuePeers = (p) => [...(p.cidrs ?? []).map((cidr) => ({ ipBlock: { cidr } })),
    ...(p.namespace || Object.keys(p.podLabels ?? {}).length ? [{
      podSelector: Object.keys(p.podLabels ?? {}).length ? { matchLabels: p.podLabels } : {},
      ...(p.namespace ? { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': p.namespace } } } : {}),
    }] : [])];
  const urlPort = (u) => { const url = new URL(u); return Number(url.port || (url.protocol === 'https:' ? 443 : 80)); };
  const tcp = (...ports) => ports.map((p) => `TCP/${p}`);
  const services = SERVICES.filter((s) => byComponent.has(s));
  const usesRedis = v.redis.external?.enabled;
  const features = {
    kong: v.kong.enabled,
    scraped: v.metrics.serviceMonitor.enabled || v.metrics.podMonitor.enabled,
    otlp: !!v.telemetry.otlpEndpoint,
    jwksInternal: !v.jwt.jwksUrl && byComponent.has('auth'),
    jwksExternal: !!v.jwt.jwksUrl,
    postgresPod: v.postgresql.enabled && !v.connections.postgres,
    redisPod: v.redis.enabled && !v.connections.redis && !usesRedis,
  };
  // Named peers → NetworkPolicyPeer lists ([] = any address), port sets → "PROTO/port" lists.
  const peer = (p) => {
    if (byComponent.has(p) || [...SERVICES, 'migrations', 'postgresql', 'redis'].includes(p)) return podPeer(p) ? [podPeer(p)] : undefined;
    if (p === 'PostgreSQL') return features.postgresPod ? [podPeer('postgresql')] : valuePeers(np.egress.postgres);
    if (p === 'Redis') return features.redisPod ? [podPeer('redis')] : valuePeers(np.egress.redis);
    return valuePeers(np[p] ?? np.egress[p]);
  };
  const ports = (set, pod) => ({
    routes: () => [...(v.services[pod].grpcServices.length ? tcp(v.ports.grpc) : []), ...(v.services[pod].restPrefixes.length ? tcp(v.ports.rest) : [])],
    rest: () => tcp(v.ports.rest),
    dns: () => np.dns.ports.flatMap((p) => [`UDP/${p}`, `TCP/${p}`]),
    postgres: () => (features.postgresPod ? tcp(5432) : tcp(...np.egress.postgres.ports)),
    redis: () => (features.redisPod ? tcp(6379) : tcp(...new Set([...np.egress.redis.ports,
      ...(usesRedis ? v.redis.external.endpoints.map((e) => Number(/(\d+)$/.exec(e)[1])) : [])]))),
    otlp: () => tcp(urlPort(v.telemetry.otlpEndpoint)),
    jwks: () => tcp(urlPort(v.jwt.jwksUrl)),
    kubeApiServer: () => tcp(...np.egress.kubeApiServer.ports),
    postgresPod: () => tcp(5432),
    redisPod: () => tcp(6379),
  })[set]();
  // An edge is "<canonical peer> <PROTO/port>"; the report names the peers the matrix knows.
  const names = new Map([[canonical('any'), 'any address']]);
  const edge = (peerObject, port) => `${canonical(peerObject)} ${port}`;
  const readable = (e) => { const at = e.lastIndexOf(' '); const p = e.slice(0, at); return `${names.get(p) ?? p} ${e.slice(at + 1)}`; };

  const expected = new Map(); // "component direction" → Set of edges
  for (const [direction, podsOf, peers, portSet, when] of MATRIX) {
    if (when && !when(features)) continue;
    for (const pod of podsOf.filter((p) => byComponent.has(p))) {
      for (const p of [peers].flat()) {
        const list = peer(p);
        if (!list) continue; // a component this rendering does not run
        const key = `${pod} ${direction}`;
        if (!expected.has(key)) expected.set(key, new Set());
        for (const object of list.length ? list : ['any']) {
          if (object !== 'any') names.set(canonical(object), list.length > 1 ? `${p}[${canonical(object)}]` : p);
          for (const port of ports(portSet, pod)) expected.get(key).add(edge(object, port));
        }
      }
    }
  }

  for (const [c, labels] of byComponent) {
    // The dev overlay adds the chart's databases rendered apart (k8s/overlays/dev/databases.yaml): not this release's.
    if (['postgresql', 'redis'].includes(c) && !v[c].enabled) continue;
    const selecting = policies.filter((p) => selects(p.spec.podSelector, labels));
    const types = (p) => p.spec.policyTypes ?? ['Ingress', ...(p.spec.egress ? ['Egress'] : [])];
    const deny = selecting.filter((p) => types(p).includes('Ingress') && types(p).includes('Egress') && !p.spec.ingress?.length && !p.spec.egress?.length);
    check(deny.length > 0, `${name}: the ${c} pods are selected by no default-deny NetworkPolicy (ingress and egress)`);
    for (const direction of ['ingress', 'egress']) {
      const got = new Set();
      for (const p of selecting) {
        for (const rule of p.spec[direction] ?? []) {
          const peers = rule[direction === 'ingress' ? 'from' : 'to'];
          for (const object of peers?.length ? peers : ['any']) {
            for (const port of rule.ports?.length ? rule.ports : [{ protocol: 'all', port: 'ports' }]) {
              got.add(edge(object, `${port.protocol ?? 'TCP'}/${port.port ?? 'all'}${port.endPort ? `-${port.endPort}` : ''}`));
            }
          }
        }
      }
      const want = expected.get(`${c} ${direction}`) ?? new Set();
      const extra = [...got].filter((e) => !want.has(e));
      const missing = [...want].filter((e) => !got.has(e));
      check(extra.length === 0, `${name}: ${c} ${direction} allows more than the peer matrix: ${extra.map(readable).join('; ')}`);
      check(missing.length === 0, `${name}: ${c} ${direction} lacks what the peer matrix allows: ${missing.map(readable).join('; ')}`);
    }
  }
}

const args = process.argv.slice(2);
for (const arg of args) {
  const [file, sets] = arg.split('=');
  let values = chartValues;
  for (const set of (sets ?? '-').split(',').filter((s) => s !== '-')) values = merge(values, yaml.load(readFileSync(set, 'utf8')) ?? {});
  checkRendering(file, values);
}
if (problems.length) {
  for (const p of problems) console.error(`hygiene: ${p}`);
  process.exit(1);
}
console.log(`images, priority, NetworkPolicies: ${args.length} renderings as the chart's rules and the peer matrix say`);
