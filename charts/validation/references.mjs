// Cross-object checks a schema cannot make: do selectors, ports, names and hook orderings agree across one rendering?
// Objects that are not in the rendering (existing Secrets, Kong's own Services) are assumed to exist.

const workloadKinds = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

const matches = (selector, labels) =>
  selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

// A full label selector (matchLabels and matchExpressions), as ServiceMonitors and PodMonitors use.
function selects(selector, labels) {
  if (!selector || (!selector.matchLabels && !selector.matchExpressions)) return false;
  const has = (k) => labels !== undefined && Object.hasOwn(labels, k);
  return Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels?.[k] === v)
    && (selector.matchExpressions ?? []).every(({ key, operator, values }) => {
      switch (operator) {
        case 'In': return has(key) && values.includes(labels[key]);
        case 'NotIn': return !has(key) || !values.includes(labels[key]);
        case 'Exists': return has(key);
        case 'DoesNotExist': return !has(key);
        default: return false;
      }
    });
}

function podSpecOf(doc) {
  if (workloadKinds.has(doc.kind) || doc.kind === 'Job') return doc.spec?.template?.spec;
  if (doc.kind === 'CronJob') return doc.spec?.jobTemplate?.spec?.template?.spec;
  if (doc.kind === 'Pod') return doc.spec;
  return undefined;
}

const hookPhases = (doc) => (doc.metadata?.annotations?.['helm.sh/hook'] ?? '').split(',').filter(Boolean);
const hookWeight = (doc) => Number(doc.metadata?.annotations?.['helm.sh/hook-weight'] ?? 0);

export function checkReferences(objects, report) {
  const byKind = (kind) => objects.filter((o) => o.doc.kind === kind);
  const find = (kind, name) => objects.find((o) => o.doc.kind === kind && o.doc.metadata?.name === name);

  const seen = new Map();
  for (const { doc, where } of objects) {
    const key = `${doc.apiVersion}/${doc.kind}/${doc.metadata?.namespace ?? ''}/${doc.metadata?.name}`;
    if (seen.has(key)) report(where, `duplicate of ${seen.get(key)}`);
    seen.set(key, where);
  }

  const workloads = objects.filter((o) => workloadKinds.has(o.doc.kind));
  for (const { doc, where } of workloads) {
    const selector = doc.spec?.selector?.matchLabels;
    if (!matches(selector, doc.spec?.template?.metadata?.labels)) report(where, 'selector does not match the pod template labels');
  }

  for (const { doc, where } of objects) {
    const spec = podSpecOf(doc);
    if (!spec) continue;
    for (const container of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
      checkContainer(doc, spec, container, `${where} container ${container.name}`, find, report);
    }
  }

  for (const { doc, where } of byKind('Service')) {
    const upstreamPolicy = doc.metadata?.annotations?.['konghq.com/upstream-policy'];
    if (upstreamPolicy && !find('KongUpstreamPolicy', upstreamPolicy)) {
      report(where, `konghq.com/upstream-policy names "${upstreamPolicy}", which is not rendered`);
    }
    const selector = doc.spec?.selector;
    if (!selector) continue;
    const targets = workloads.filter((w) => matches(selector, w.doc.spec?.template?.metadata?.labels));
    if (targets.length === 0) {
      report(where, 'selector matches no workload');
      continue;
    }
    for (const port of doc.spec?.ports ?? []) {
      if (typeof port.targetPort !== 'string') continue;
      for (const t of targets) {
        const names = t.doc.spec.template.spec.containers.flatMap((c) => (c.ports ?? []).map((p) => p.name));
        if (!names.includes(port.targetPort)) report(where, `targetPort "${port.targetPort}" is no container port of ${t.doc.metadata.name}`);
      }
    }
  }

  for (const { doc, where } of byKind('HorizontalPodAutoscaler')) {
    const ref = doc.spec?.scaleTargetRef;
    if (!find(ref?.kind, ref?.name)) report(where, `scaleTargetRef ${ref?.kind}/${ref?.name} is not rendered`);
    if (doc.spec?.minReplicas > doc.spec?.maxReplicas) report(where, 'minReplicas is above maxReplicas');
  }

  for (const { doc, where } of byKind('PodDisruptionBudget')) {
    if (!workloads.some((w) => matches(doc.spec?.selector?.matchLabels, w.doc.spec?.template?.metadata?.labels))) {
      report(where, 'selector matches no workload');
    }
  }

  for (const { doc, where } of byKind('Ingress')) {
    const plugins = doc.metadata?.annotations?.['konghq.com/plugins'];
    for (const plugin of plugins ? plugins.split(',').map((p) => p.trim()) : []) {
      if (!find('KongPlugin', plugin)) report(where, `konghq.com/plugins names "${plugin}", which is not rendered`);
    }
    for (const rule of doc.spec?.rules ?? []) {
      for (const path of rule.http?.paths ?? []) {
        const backend = path.backend?.service;
        const service = find('Service', backend?.name);
        if (!service) {
          report(where, `path ${path.path} → Service ${backend?.name}, which is not rendered`);
          continue;
        }
        const ports = service.doc.spec?.ports ?? [];
        const ok = backend.port?.name ? ports.some((p) => p.name === backend.port.name) : ports.some((p) => p.port === backend.port?.number);
        if (!ok) report(where, `path ${path.path} → port ${JSON.stringify(backend.port)} which Service ${backend.name} lacks`);
      }
    }
  }

  // Prometheus Operator: a monitor must find its targets in the rendering, on a port of the name it scrapes.
  for (const { doc, where } of byKind('ServiceMonitor')) {
    const services = byKind('Service').filter((s) => selects(doc.spec?.selector, s.doc.metadata?.labels));
    if (services.length === 0) {
      report(where, 'selector matches no Service');
      continue;
    }
    for (const endpoint of doc.spec?.endpoints ?? []) {
      if (!services.some((s) => (s.doc.spec?.ports ?? []).some((p) => p.name === endpoint.port))) {
        report(where, `endpoint port "${endpoint.port}" is no port of the Services it selects (${services.map((s) => s.doc.metadata.name).join(', ')})`);
      }
    }
  }

  for (const { doc, where } of byKind('PodMonitor')) {
    const targets = workloads.filter((w) => selects(doc.spec?.selector, w.doc.spec?.template?.metadata?.labels));
    if (targets.length === 0) {
      report(where, 'selector matches no workload');
      continue;
    }
    for (const endpoint of doc.spec?.podMetricsEndpoints ?? []) {
      for (const t of targets) {
        const names = t.doc.spec.template.spec.containers.flatMap((c) => (c.ports ?? []).map((p) => p.name));
        if (!names.includes(endpoint.port)) report(where, `port "${endpoint.port}" is no container port of ${t.doc.metadata.name}`);
      }
    }
  }

  // The operator writes one rule file per PrometheusRule: group names must be unique within it.
  for (const { doc, where } of byKind('PrometheusRule')) {
    const names = (doc.spec?.groups ?? []).map((g) => g.name);
    for (const name of new Set(names.filter((n, i) => names.indexOf(n) !== i))) report(where, `rule group "${name}" is defined twice`);
  }

  for (const { doc, where } of byKind('Role')) {
    // A Role placed in another namespace (the pre-scaler's in Kong's) names objects the release does not render.
    if (doc.metadata?.namespace) continue;
    for (const rule of doc.rules ?? []) {
      const kind = { horizontalpodautoscalers: 'HorizontalPodAutoscaler', deployments: 'Deployment' };
      for (const resource of rule.resources ?? []) {
        if (!kind[resource]) continue;
        for (const name of rule.resourceNames ?? []) {
          if (!find(kind[resource], name)) report(where, `grants ${resource} "${name}", which is not rendered`);
        }
      }
    }
  }

  for (const { doc, where } of byKind('RoleBinding')) {
    if (doc.roleRef?.kind === 'Role' && !find('Role', doc.roleRef.name)) report(where, `roleRef Role/${doc.roleRef.name} is not rendered`);
  }
}

function checkContainer(owner, spec, container, where, find, report) {
  const portNames = new Set((container.ports ?? []).map((p) => p.name));
  const portNumbers = new Set((container.ports ?? []).map((p) => p.containerPort));
  for (const kind of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
    const probe = container[kind];
    if (!probe) continue;
    const port = probe.grpc?.port ?? probe.httpGet?.port ?? probe.tcpSocket?.port;
    if (port === undefined) continue;
    if (typeof port === 'string' ? !portNames.has(port) : !portNumbers.has(port)) {
      report(where, `${kind} probes port ${port}, which the container does not declare`);
    }
  }

  const defined = new Set();
  for (const env of container.env ?? []) {
    if (defined.has(env.name)) report(where, `environment variable ${env.name} is set twice`);
    for (const [, ref] of (env.value ?? '').matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)) {
      if (!defined.has(ref)) report(where, `${env.name} refers to $(${ref}) before it is defined`);
    }
    defined.add(env.name);
    const secretRef = env.valueFrom?.secretKeyRef;
    if (secretRef) checkSecretKey(owner, secretRef.name, secretRef.key, where, find, report);
  }

  const volumes = new Map((spec.volumes ?? []).map((v) => [v.name, v]));
  for (const mount of container.volumeMounts ?? []) {
    if (!volumes.has(mount.name)) report(where, `mounts volume "${mount.name}", which the pod does not define`);
  }
  for (const volume of spec.volumes ?? []) {
    if (volume.secret) checkSecretKey(owner, volume.secret.secretName, undefined, where, find, report);
  }
}

// A rendered Secret must hold the key asked for; a pre-install hook can only use Secrets that exist before it runs.
function checkSecretKey(owner, name, key, where, find, report) {
  const secret = find('Secret', name);
  if (!secret) return;
  const keys = new Set([...Object.keys(secret.doc.data ?? {}), ...Object.keys(secret.doc.stringData ?? {})]);
  if (key !== undefined && !keys.has(key)) report(where, `Secret ${name} has no key "${key}"`);
  const phases = hookPhases(owner);
  if (phases.length > 0) {
    const secretPhases = hookPhases(secret.doc);
    const available = phases.every((p) => secretPhases.includes(p)) && hookWeight(secret.doc) < hookWeight(owner);
    const releaseObjectReady = !phases.includes('pre-install');
    if (!available && !(secretPhases.length === 0 && releaseObjectReady)) {
      report(where, `hook (${phases.join(',')}) uses Secret ${name}, which does not exist yet when the hook runs`);
    }
  }
}
