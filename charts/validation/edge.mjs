#!/usr/bin/env node
// The Kong edge as rendered, in every rendering given (chart value sets, kustomize overlays): what docs/kubernetes.md
// ("Kong", "Kong rate limits", "Streams through Kong") promises.
//   node edge.mjs FILE...
//   - limits keyed as documented: general and stream Ingresses count per caller, auth per client address, PlaceOrder
//     per caller, each class on an Ingress (so Kong routes and plugin instances) of its own, with fixed windows that
//     are a whole (rate, burst) pair; the caller key is written by the pre-function on every Ingress that counts by it
//   - gRPC refusals: the pre-function that makes Kong's 429 an HTTP 200 with grpc-status 8 is on every gRPC Ingress
//     that has a limit; no methods on gRPC routes (Kong refuses them); REST auth/order routes are POST only
//   - streams: WatchDeal (gRPC and REST :watch) routes to Services with read/write timeouts of an hour or more, the
//     REST route unbuffered; the other routes keep their short timeouts
//   - Redis: no redis policy without a host, no cluster policy, sync_rate only with redis, the password only through
//     configPatches from a Secret (never in a plugin's config)
//   - upstreams: every Service an Ingress routes to names a rendered KongUpstreamPolicy with least connections and
//     passive plus active health checks
//   - trusted proxies: no service believes X-Forwarded-For from an IPv4 network wider than /14 (the private ranges at
//     large hold the nodes and load balancers, whose hops a client could have written)
//   - one certificate owner: for each TLS Secret at most one Ingress carries cert-manager.io/* annotations
//   - with TLS on (a host set), every Ingress serves it (kustomize prod: its patches cover every Ingress)
// Exit code 1 and one line per problem.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import yaml from 'js-yaml';

const CALLER_HEADER = 'X-FlashDeal-Caller';
const STREAM_TIMEOUT_MS = 3600000;
const problems = [];

function checkRendering(file) {
  const docs = yaml.loadAll(readFileSync(file, 'utf8')).filter(Boolean);
  const at = (d) => `${basename(file)} ${d.kind}/${d.metadata?.name}`;
  const fail = (d, message) => problems.push(`${d ? at(d) : basename(file)}: ${message}`);
  const ingresses = docs.filter((d) => d.kind === 'Ingress');
  if (ingresses.length === 0) return;
  const plugins = new Map(docs.filter((d) => d.kind === 'KongPlugin').map((p) => [p.metadata.name, p]));
  const services = new Map(docs.filter((d) => d.kind === 'Service').map((s) => [s.metadata.name, s]));
  const policies = new Map(docs.filter((d) => d.kind === 'KongUpstreamPolicy').map((p) => [p.metadata.name, p]));
  const annotation = (d, key) => d.metadata?.annotations?.[key];
  const pluginsOf = (ing) => (annotation(ing, 'konghq.com/plugins') ?? '').split(',').filter(Boolean).map((n) => plugins.get(n)).filter(Boolean);
  const classOf = (ing) => ing.metadata?.labels?.['flashdeal.dev/route-class'];
  const isGrpc = (ing) => /grpc/.test(annotation(ing, 'konghq.com/protocols') ?? '');
  const paths = (ing) => (ing.spec?.rules ?? []).flatMap((r) => r.http?.paths ?? []);
  const backends = (ing) => paths(ing).map((p) => services.get(p.backend?.service?.name)).filter(Boolean);

  // --- rate-limiting plugins on their own --------------------------------------------------------------------------
  for (const p of plugins.values()) {
    if (p.plugin !== 'rate-limiting') continue;
    const c = p.config ?? {};
    if (c.policy === 'cluster') fail(p, 'policy cluster: Kong under the Ingress Controller runs DB-less and has none');
    if (c.policy === 'redis' && !c.redis?.host) fail(p, 'policy redis without a Redis host');
    if (c.policy !== 'redis' && (c.redis || (c.sync_rate !== undefined && c.sync_rate !== -1))) {
      fail(p, `redis settings or sync_rate ${c.sync_rate} without the redis policy`);
    }
    if (c.redis && 'password' in c.redis) fail(p, 'a Redis password in the plugin config (only configPatches from a Secret)');
    if (JSON.stringify(c).match(/password/i)) fail(p, 'a password field in the rendered config');
    for (const patch of p.configPatches ?? []) {
      if (!patch.valueFrom?.secretKeyRef?.name || patch.value !== undefined) fail(p, `configPatch ${patch.path} not from a Secret`);
    }
    // Fixed windows from nginx's (rate, burst): second = rate + burst, minute = 60 × rate + burst.
    const rate = (c.minute - c.second) / 59;
    if (!Number.isInteger(rate) || rate < 1 || c.second - rate < 0) {
      fail(p, `second ${c.second} / minute ${c.minute} are not (rate + burst, 60 × rate + burst) of a whole rate and burst`);
    }
  }

  // --- each Ingress: its class, its limit and its key --------------------------------------------------------------
  const limitPlugin = (ing) => pluginsOf(ing).filter((p) => p.plugin === 'rate-limiting');
  const callerPlugin = (ing) => pluginsOf(ing).find((p) => p.plugin === 'pre-function');
  const anyLimit = ingresses.some((i) => limitPlugin(i).length > 0);
  for (const ing of ingresses) {
    const cls = classOf(ing);
    if (!['general', 'auth', 'order', 'stream'].includes(cls)) {
      fail(ing, `route class label "${cls}" is not general, auth, order or stream`);
      continue;
    }
    const methods = annotation(ing, 'konghq.com/methods');
    if (isGrpc(ing) && methods) fail(ing, 'konghq.com/methods on a gRPC Ingress (Kong rejects methods on grpc routes)');
    if (['auth', 'order'].includes(cls)) {
      if (!isGrpc(ing) && methods !== 'POST') fail(ing, `REST ${cls} route without konghq.com/methods: POST`);
      for (const p of paths(ing)) if (!/^\/~.*\$$/.test(p.path)) fail(ing, `${cls} path ${p.path} is not an exact /~…$ regex`);
    }
    const limits = limitPlugin(ing);
    if (!anyLimit) continue;
    if (limits.length !== 1) {
      fail(ing, `${limits.length} rate-limiting plugins (exactly one per Kong route: Kong runs one instance per name)`);
      continue;
    }
    const [limit] = limits;
    const expected = { general: 'caller', stream: 'caller', auth: 'auth', order: 'order' }[cls];
    if (limit.metadata.labels?.['flashdeal.dev/limit-class'] !== expected) {
      fail(ing, `counts by ${limit.metadata.name}, not the ${expected} limit`);
    }
    const c = limit.config;
    if (cls === 'auth' && c.limit_by !== 'ip') fail(ing, `auth limit keyed by ${c.limit_by}, not the client address (ip)`);
    const caller = callerPlugin(ing);
    if (cls !== 'auth' && c.limit_by === 'header' && c.header_name === CALLER_HEADER) {
      const access = (caller?.config?.access ?? []).join('\n');
      if (!access.includes(`set_header("${CALLER_HEADER}"`) || !access.includes('"token:"') || !access.includes('"address:"')) {
        fail(ing, `counts by ${CALLER_HEADER}, but no pre-function on it writes token:/address: into that header`);
      }
    }
    if (isGrpc(ing)) {
      const filter = (caller?.config?.header_filter ?? []).join('\n');
      if (!/get_status\(\) == 429/.test(filter) || !/set_status\(200\)/.test(filter)) {
        fail(ing, 'gRPC route with a limit but no header_filter turning Kong\'s 429 into 200 + grpc-status 8');
      }
    } else {
      const body = (caller?.config?.body_filter ?? []).join('\n');
      if (!/set_raw_body/.test(body) || !body.includes('"reason":"RATE_LIMITED"') || !/get_source\(\) == "exit"/.test(body)) {
        fail(ing, 'REST route with a limit but no body_filter giving Kong\'s own 429 the local edge\'s RATE_LIMITED Status');
      }
    }
  }
  // The caller, auth and order limits all exist when limits are on, and share their store settings.
  if (anyLimit) {
    const classes = new Set(ingresses.flatMap((i) => limitPlugin(i).map((p) => p.metadata.labels?.['flashdeal.dev/limit-class'])));
    for (const cls of ['caller', 'auth', 'order']) if (!classes.has(cls)) fail(null, `no Ingress counts by the ${cls} limit`);
    const keyOf = (cls) => [...plugins.values()].find((p) => p.metadata.labels?.['flashdeal.dev/limit-class'] === cls)?.config;
    if (keyOf('order') && keyOf('caller') && (keyOf('order').limit_by !== keyOf('caller').limit_by || keyOf('order').header_name !== keyOf('caller').header_name)) {
      fail(null, 'the order limit is keyed differently from the caller limit (both are per caller)');
    }
  }

  // --- streams -------------------------------------------------------------------------------------------------------
  const streams = ingresses.filter((i) => classOf(i) === 'stream');
  const grpcWatch = '/flashdeal.catalog.v1.CatalogService/WatchDeal';
  const restWatch = '/v1/deals/42:watch';
  const kongMatches = (path, target) => (path.startsWith('/~') ? new RegExp(`^${path.slice(2)}`).test(target) : target.startsWith(path));
  const routedBy = (target, grpc) => ingresses.filter((i) => isGrpc(i) === grpc && paths(i).some((p) => kongMatches(p.path, target)));
  for (const [target, grpc] of [[grpcWatch, true], [restWatch, false]]) {
    // Kong prefers a regex route over a prefix route: the stream route must be a regex one (or the only match).
    const matching = routedBy(target, grpc);
    const stream = matching.filter((i) => classOf(i) === 'stream');
    if (stream.length !== 1) {
      fail(null, `${target} matches ${stream.length} stream Ingresses (${matching.map((i) => i.metadata.name).join(', ') || 'none'})`);
      continue;
    }
    if (!paths(stream[0]).some((p) => p.path.startsWith('/~') && kongMatches(p.path, target))) {
      fail(stream[0], `${target} is routed by a prefix, which the general route's prefix could outrank`);
    }
  }
  if (routedBy('/v1/deals/42', false).some((i) => classOf(i) === 'stream')) fail(null, 'GET /v1/deals/42 (not a stream) matches a stream route');
  for (const ing of streams) {
    if (!isGrpc(ing) && annotation(ing, 'konghq.com/response-buffering') !== 'false') {
      fail(ing, 'REST stream route without konghq.com/response-buffering: "false" (NDJSON would be buffered)');
    }
    for (const svc of backends(ing)) {
      for (const key of ['konghq.com/read-timeout', 'konghq.com/write-timeout']) {
        if (!(Number(annotation(svc, key)) >= STREAM_TIMEOUT_MS)) fail(svc, `${key} ${annotation(svc, key)} < ${STREAM_TIMEOUT_MS} ms on a stream route's Service`);
      }
    }
  }
  for (const ing of ingresses.filter((i) => classOf(i) !== 'stream')) {
    for (const svc of backends(ing)) {
      if (Number(annotation(svc, 'konghq.com/read-timeout')) >= STREAM_TIMEOUT_MS) {
        fail(svc, 'an hour-long read timeout on a Service of non-stream routes (unary calls would hold Kong for an hour)');
      }
    }
  }

  // --- upstream policies ---------------------------------------------------------------------------------------------
  for (const svc of new Set(ingresses.flatMap(backends))) {
    const name = annotation(svc, 'konghq.com/upstream-policy');
    const policy = policies.get(name);
    if (!policy) {
      fail(svc, `routed by Kong without a rendered KongUpstreamPolicy (konghq.com/upstream-policy: ${name})`);
      continue;
    }
    const h = policy.spec?.healthchecks ?? {};
    if (policy.spec?.algorithm !== 'least-connections') fail(policy, `algorithm ${policy.spec?.algorithm}, not least-connections`);
    if (!h.passive?.unhealthy?.tcpFailures || !h.passive?.unhealthy?.timeouts) fail(policy, 'no passive checks on failures and timeouts');
    if (!(h.active?.unhealthy?.interval > 0) || !(h.active?.healthy?.successes > 0)) {
      fail(policy, 'no active probes of unhealthy targets: passive checks alone never bring a pod back');
    }
    const grpcService = annotation(svc, 'konghq.com/protocol') === 'grpc';
    if ((h.passive?.type === 'grpc') !== grpcService) fail(policy, `passive type ${h.passive?.type} on a ${grpcService ? 'gRPC' : 'REST'} Service ${svc.metadata.name}`);
  }

  // --- trusted proxies: Kong's pods, never the private ranges at large (an IPv4 network wider than /14) ---------------
  for (const d of docs.filter((x) => x.kind === 'Deployment')) {
    for (const c of d.spec?.template?.spec?.containers ?? []) {
      for (const e of (c.env ?? []).filter((v) => /^RateLimits__TrustedProxies__\d+$/.test(v.name))) {
        const bits = /^[0-9.]+\/(\d+)$/.exec(e.value ?? '')?.[1];
        if (bits !== undefined && Number(bits) < 14) fail(d, `${e.name}=${e.value}: wider than Kong's pod network (node and balancer hops would be believed)`);
      }
    }
  }

  // --- TLS: one cert-manager owner per Secret; a TLS edge serves TLS on every Ingress --------------------------------
  const bySecret = new Map();
  for (const ing of ingresses) {
    const managed = Object.keys(ing.metadata?.annotations ?? {}).some((k) => k.startsWith('cert-manager.io/'));
    for (const tls of ing.spec?.tls ?? []) {
      if (!bySecret.has(tls.secretName)) bySecret.set(tls.secretName, []);
      if (managed) bySecret.get(tls.secretName).push(ing.metadata.name);
    }
    if (managed && !(ing.spec?.tls ?? []).length) fail(ing, 'cert-manager annotations without a TLS Secret');
  }
  for (const [secret, owners] of bySecret) {
    if (owners.length > 1) fail(null, `TLS Secret ${secret} is requested from cert-manager by ${owners.length} Ingresses (${owners.join(', ')}): one owner`);
  }
  const tlsOn = ingresses.filter((i) => (i.spec?.tls ?? []).length);
  if (tlsOn.length) {
    for (const ing of ingresses) {
      const wanted = isGrpc(ing) ? 'grpcs' : 'https';
      if (!(ing.spec?.tls ?? []).length) fail(ing, 'no TLS while the other Ingresses serve it');
      if (annotation(ing, 'konghq.com/protocols') !== wanted) fail(ing, `protocols ${annotation(ing, 'konghq.com/protocols')} with TLS on, expected ${wanted}`);
    }
    const hosts = new Set(ingresses.flatMap((i) => (i.spec?.rules ?? []).map((r) => r.host ?? '')));
    if (hosts.size !== 1) fail(null, `Ingresses disagree on the host: ${[...hosts].join(', ')}`);
  }
}

const files = process.argv.slice(2);
for (const file of files) checkRendering(file);
if (problems.length) {
  for (const p of problems) console.error(p);
  process.exit(1);
}
console.log(`edge: ${files.length} renderings: limits per caller/address/PlaceOrder on their own routes, gRPC refusals as RESOURCE_EXHAUSTED, hour-long unbuffered streams, Redis without clear passwords, upstream policies, one certificate owner`);
