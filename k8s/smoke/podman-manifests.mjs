#!/usr/bin/env node
// Turns a `helm template` rendering into what `podman kube play` (4.3) can run on one machine, changing only what a
// single host forces and saying so:
//   - every pod shares the host's network (podman has no Services or cluster DNS), so each gets free ports of its own
//     and the addresses that named Services (connection strings, JWKS URL, peer endpoints) now name 127.0.0.1:port;
//   - Secrets become inline values and host directories (kube play of this podman reads no Secret objects), and each
//     emptyDir a fresh host directory (podman would share one named volume between pods and keep it across runs);
//   - hook Jobs (migrations) become run-once Pods, played before the services;
//   - kinds podman ignores (Service, Ingress, HPA, PDB, KongPlugin, KongUpstreamPolicy, RBAC, CronJob, NetworkPolicy,
//     PriorityClass) are left out, and so is a pod's priorityClassName: one host has no scheduler to preempt for, nor
//     policies to enforce.
// Usage: node podman-manifests.mjs RENDERED.yaml OUT_DIR   → OUT_DIR/{databases,migrations,services}.yaml, ports.json
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../charts/validation/package.json', import.meta.url));
const yaml = require('js-yaml');

const [renderedFile, outDir] = process.argv.slice(2);
if (!renderedFile || !outDir) {
  console.error('usage: podman-manifests.mjs RENDERED.yaml OUT_DIR');
  process.exit(2);
}

const freePort = () => new Promise((resolve, reject) => {
  const server = createServer();
  server.unref();
  server.on('error', reject);
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    server.close(() => resolve(port));
  });
});

const documents = yaml.loadAll(readFileSync(renderedFile, 'utf8')).filter(Boolean);
const component = (doc) => doc.metadata?.labels?.['app.kubernetes.io/component'];
const secrets = new Map(documents.filter((d) => d.kind === 'Secret').map((s) => [s.metadata.name, {
  ...Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')])),
  ...(s.stringData ?? {}),
}]));

const services = documents.filter((d) => d.kind === 'Deployment' && !['postgresql', 'redis'].includes(component(d)));
const ports = { postgresql: await freePort(), redis: await freePort(), services: {} };
for (const d of services) ports.services[component(d)] = { grpc: await freePort(), rest: await freePort() };

const fullname = services[0]?.metadata.name.replace(/-[a-z]+$/, '')
  ?? documents.find((d) => d.kind === 'Deployment')?.metadata.name.replace(/-[a-z]+$/, '');

// Service DNS names → loopback ports, for every string a container sees.
function rewriteAddresses(text) {
  let out = text
    .replace(/Host=[^;]+;Port=\d+/, `Host=127.0.0.1;Port=${ports.postgresql}`)
    .replace(new RegExp(`^${fullname}-redis:\\d+`), `127.0.0.1:${ports.redis}`);
  for (const [name, p] of Object.entries(ports.services)) {
    out = out
      .replace(new RegExp(`${fullname}-${name}-headless:\\d+`, 'g'), `127.0.0.1:${p.grpc}`)
      .replace(new RegExp(`${fullname}-${name}:\\d+`, 'g'), `127.0.0.1:${p.rest}`);
  }
  return out;
}

function secretValue(ref) {
  const value = secrets.get(ref.name)?.[ref.key];
  if (value === undefined) throw new Error(`Secret ${ref.name} key ${ref.key} is not in the rendering`);
  return value;
}

function adaptPod(spec, owner) {
  spec.hostNetwork = true;
  delete spec.topologySpreadConstraints;
  delete spec.priorityClassName;
  delete spec.serviceAccountName;
  for (const volume of spec.volumes ?? []) {
    // podman 4.3 turns an emptyDir into a named volume shared by every pod (and kept across runs): give each its own.
    if (volume.emptyDir) {
      const dir = join(outDir, 'volumes', owner.metadata.name, volume.name);
      mkdirSync(dir, { recursive: true, mode: 0o1777 });
      chmodSync(dir, 0o1777);
      volume.hostPath = { path: dir, type: 'Directory' };
      delete volume.emptyDir;
      continue;
    }
    if (!volume.secret) continue;
    const dir = join(outDir, 'secrets', volume.secret.secretName);
    mkdirSync(dir, { recursive: true });
    for (const [key, value] of Object.entries(secrets.get(volume.secret.secretName) ?? {})) writeFileSync(join(dir, key), value, { mode: 0o644 });
    volume.hostPath = { path: dir, type: 'Directory' };
    delete volume.secret;
  }
  const own = ports.services[component(owner)];
  for (const c of spec.containers) {
    c.imagePullPolicy = 'Never';
    // podman 4.3 knows neither the preStop sleep action nor gRPC probes, and turns HTTP probes into curl calls inside
    // images that have no curl: smoke.sh polls readiness from outside instead.
    delete c.lifecycle;
    delete c.startupProbe;
    delete c.livenessProbe;
    delete c.readinessProbe;
    c.env = (c.env ?? []).map((e) => {
      if (e.valueFrom?.secretKeyRef) return { name: e.name, value: rewriteAddresses(secretValue(e.valueFrom.secretKeyRef)) };
      if (own && e.name === 'Service__GrpcPort') return { name: e.name, value: String(own.grpc) };
      if (own && e.name === 'Service__RestPort') return { name: e.name, value: String(own.rest) };
      return typeof e.value === 'string' ? { ...e, value: rewriteAddresses(e.value) } : e;
    });
    // On the host's network a declared port would become a port mapping, which podman refuses there.
    delete c.ports;
    if (component(owner) === 'postgresql') {
      c.env.push({ name: 'PGPORT', value: String(ports.postgresql) });
    }
    if (component(owner) === 'redis') {
      c.command = [...c.command, '--port', String(ports.redis), '--bind', '127.0.0.1'];
    }
  }
  return spec;
}

const databases = [];
const migrations = [];
const workloads = [];
for (const doc of documents) {
  if (doc.kind === 'Deployment') {
    doc.spec.replicas = 1;
    adaptPod(doc.spec.template.spec, doc);
    (['postgresql', 'redis'].includes(component(doc)) ? databases : workloads).push(doc);
  } else if (doc.kind === 'Job') {
    const spec = adaptPod(doc.spec.template.spec, doc);
    spec.restartPolicy = 'Never';
    migrations.push({ apiVersion: 'v1', kind: 'Pod', metadata: { name: doc.metadata.name, labels: doc.spec.template.metadata?.labels }, spec });
  }
}

mkdirSync(outDir, { recursive: true });
const write = (name, docs) => writeFileSync(join(outDir, name), docs.map((d) => yaml.dump(d, { lineWidth: -1 })).join('---\n'));
write('databases.yaml', databases);
write('migrations.yaml', migrations);
write('services.yaml', workloads);
writeFileSync(join(outDir, 'ports.json'), JSON.stringify(ports, null, 2));
console.log(JSON.stringify(ports));
