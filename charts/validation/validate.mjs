#!/usr/bin/env node
// Offline checks of what the chart and the kustomize overlays render, of skaffold.yaml and of the Dockerfiles.
//   node validate.mjs manifests FILE...      every object: schema (types, enums, required), unknown fields, references
//   node validate.mjs skaffold FILE          skaffold.yaml against schemas/skaffold.schema.json (the fields we use)
//   node validate.mjs dockerfiles FILE...    multi-stage, base images as build arguments, non-root runtime user
//   node validate.mjs fixtures FILE...       broken manifests that the manifest checks must reject (self-test)
//   node validate.mjs dashboards --rules=OUT FILE...
//                                            Grafana dashboards: JSON, unique uids, every panel queries the
//                                            ${datasource} variable with a non-empty expr; writes each expr as a
//                                            recording rule into OUT for `promtool check rules`
// Exit code 1 and one line per problem when anything is wrong.
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import yaml from 'js-yaml';
import Ajv from 'ajv';
import { checkReferences } from './references.mjs';
import { checkSkaffold, profileConfigs } from './skaffold.mjs';

const require = createRequire(import.meta.url);
const k8s = require('@kubernetes/client-node');
const here = dirname(fileURLToPath(import.meta.url));
const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false });
const schema = (name) => ajv.compile(JSON.parse(readFileSync(join(here, 'schemas', name), 'utf8')));

// Custom resources have no published schema we can install: ours cover exactly the fields the chart uses.
const customSchemas = {
  'configuration.konghq.com/v1/KongPlugin': schema('kongplugin.schema.json'),
  'configuration.konghq.com/v1beta1/KongUpstreamPolicy': schema('kongupstreampolicy.schema.json'),
  'monitoring.coreos.com/v1/ServiceMonitor': schema('servicemonitor.schema.json'),
  'monitoring.coreos.com/v1/PodMonitor': schema('podmonitor.schema.json'),
  'monitoring.coreos.com/v1/PrometheusRule': schema('prometheusrule.schema.json'),
};
const kongAnnotations = schema('kong-annotations.schema.json');

const problems = [];
const report = (where, message) => problems.push(`${where}: ${message}`);

function loadDocuments(file) {
  const text = readFileSync(file, 'utf8');
  return yaml.loadAll(text).filter((d) => d !== null && d !== undefined);
}

async function modelClass(apiVersion, kind) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const path = group ? `kubernetes-models/${group}/${version}` : `kubernetes-models/${version}`;
  try {
    const module = await import(path);
    return module[kind];
  } catch {
    return undefined;
  }
}

// @kubernetes/client-node knows every field of every built-in type; kubernetes-models does not flag unknown ones.
function clientTypeName(apiVersion, kind) {
  const version = apiVersion.split('/').pop();
  return `${version[0].toUpperCase()}${version.slice(1)}${kind}`;
}

function unknownFields(value, typeName, path, where) {
  if (value === null || value === undefined) return;
  const array = /^Array<(.+)>$/.exec(typeName);
  if (array) {
    if (!Array.isArray(value)) return; // type errors are the schema check's job
    value.forEach((item, i) => unknownFields(item, array[1], `${path}[${i}]`, where));
    return;
  }
  if (typeName.startsWith('{ [key: string]: ')) {
    const inner = typeName.slice('{ [key: string]: '.length, -'; }'.length);
    if (typeof value === 'object') for (const [k, v] of Object.entries(value)) unknownFields(v, inner, `${path}.${k}`, where);
    return;
  }
  const type = k8s[typeName];
  if (!type || typeof type.getAttributeTypeMap !== 'function' || typeof value !== 'object') return;
  const attributes = new Map(type.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  for (const [key, child] of Object.entries(value)) {
    if (!attributes.has(key)) {
      report(where, `unknown field ${path ? `${path}.` : ''}${key}`);
      continue;
    }
    unknownFields(child, attributes.get(key), path ? `${path}.${key}` : key, where);
  }
}

function checkKongAnnotations(doc, where) {
  const annotations = doc.metadata?.annotations ?? {};
  const kong = Object.fromEntries(Object.entries(annotations).filter(([k]) => k.startsWith('konghq.com/')));
  if (Object.keys(kong).length > 0 && !kongAnnotations(kong)) {
    for (const e of kongAnnotations.errors) report(where, `Kong annotation ${e.instancePath || ''} ${e.message}`);
  }
}

// The API server's base64 decoder skips line breaks, and kustomize wraps long Secret values.
function normalized(doc) {
  if (doc.kind !== 'Secret' || !doc.data) return doc;
  const data = Object.fromEntries(Object.entries(doc.data).map(([k, v]) => [k, typeof v === 'string' ? v.replace(/[\r\n]/g, '') : v]));
  return { ...doc, data };
}

// Each file is one rendering (a chart value set, an overlay): references are checked within it.
async function validateManifests(files) {
  let count = 0;
  for (const file of files) {
    const documents = loadDocuments(file);
    if (documents.length === 0) report(file, 'renders no objects');
    const objects = documents.map((doc, i) => ({ doc, where: `${basename(file)}#${i} ${doc?.kind}/${doc?.metadata?.name}` }));
    for (const { doc, where } of objects) await validateObject(doc, where);
    checkReferences(objects, report);
    count += objects.length;
  }
  return count;
}

async function validateObject(doc, where) {
  if (typeof doc !== 'object' || !doc.apiVersion || !doc.kind) {
    report(where, 'not a Kubernetes object (apiVersion and kind required)');
    return;
  }
  if (!doc.metadata?.name) report(where, 'metadata.name is required');
  checkKongAnnotations(doc, where);
  const custom = customSchemas[`${doc.apiVersion}/${doc.kind}`];
  if (custom) {
    if (!custom(doc)) for (const e of custom.errors) report(where, `${e.instancePath || '/'} ${e.message}`);
    return;
  }
  const Model = await modelClass(doc.apiVersion, doc.kind);
  const typeName = clientTypeName(doc.apiVersion, doc.kind);
  if (!Model || !k8s[typeName]) {
    report(where, `no schema for ${doc.apiVersion} ${doc.kind} (add one under charts/validation/schemas)`);
    return;
  }
  try {
    new Model(normalized(doc)).validate();
  } catch (e) {
    for (const err of e.errors ?? [{ instancePath: '', message: e.message }]) {
      report(where, `${err.instancePath || '/'} ${err.message}`);
    }
  }
  unknownFields(doc, typeName, '', where);
}

function validateSkaffold(file) {
  const check = schema('skaffold.schema.json');
  const documents = loadDocuments(file);
  documents.forEach((doc, i) => {
    if (!check(doc)) for (const e of check.errors) report(`${basename(file)}#${i}`, `${e.instancePath || '/'} ${e.message}`);
    for (const { name, config, error } of profileConfigs(doc)) {
      const where = `${basename(file)}#${i} profile ${name}`;
      if (error) {
        report(where, error);
        continue;
      }
      if (!check(config)) for (const e of check.errors) report(where, `${e.instancePath || '/'} ${e.message}`);
      checkSkaffold(file, config, where, report);
    }
  });
  return documents.length;
}

// A Dockerfile is read as instructions; continuation lines are joined first.
function validateDockerfiles(files) {
  for (const file of files) {
    const lines = readFileSync(file, 'utf8').replace(/\\\r?\n/g, ' ').split(/\r?\n/)
      .map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    const froms = lines.filter((l) => /^FROM\s/i.test(l));
    const args = new Set(lines.filter((l) => /^ARG\s/i.test(l)).map((l) => l.split(/\s+/)[1].split('=')[0]));
    if (froms.length < 2) report(file, 'expected a multi-stage build (a build stage and a runtime stage)');
    for (const from of froms) {
      const image = from.split(/\s+/)[1];
      const variable = /^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$/.exec(image);
      const stage = froms.some((f) => new RegExp(`\\sAS\\s+${image}$`, 'i').test(f));
      if (!stage && !(variable && args.has(variable[1]))) report(file, `base image "${image}" is not a build argument`);
    }
    const lastFrom = lines.findLastIndex((l) => /^FROM\s/i.test(l));
    const users = lines.slice(lastFrom).filter((l) => /^USER\s/i.test(l));
    const user = users.at(-1)?.split(/\s+/)[1];
    if (!user) report(file, 'the runtime stage sets no USER');
    else if (/^(root|0)(:|$)/.test(user)) report(file, `the runtime stage runs as ${user}`);
    if (!lines.slice(lastFrom).some((l) => /^ENTRYPOINT\s/i.test(l))) report(file, 'the runtime stage has no ENTRYPOINT');
  }
  return files.length;
}

// Each fixture is a broken manifest whose first line says "# expect: <part of the problem report>": the checks must
// catch it, for the reason stated, or they have stopped working.
async function validateFixtures(files) {
  const failures = [];
  for (const file of files) {
    const expected = /^# expect: (.+)$/m.exec(readFileSync(file, 'utf8'))?.[1];
    problems.length = 0;
    await validateManifests([file]);
    const found = problems.splice(0);
    if (!expected) failures.push(`${file}: no "# expect:" line`);
    else if (!found.some((p) => p.includes(expected))) {
      failures.push(`${file}: expected a problem containing "${expected}", got ${found.length ? found.join(' | ') : 'none'}`);
    }
  }
  problems.push(...failures);
  return files.length;
}

// Grafana dashboards (files/dashboards/*.json). promtool has no expression checker, so every panel query becomes a
// recording rule of a rule file that `promtool check rules` parses: Grafana's interval variables become 1m, the
// dashboard's own template variables (regex matchers: deal_id=~"$deal_id") become .+.
const panelsOf = (panels) => (panels ?? []).flatMap((p) => [p, ...panelsOf(p.panels)]);
const grafanaIntervals = /\$(__rate_interval|__interval|__range)\b|\$\{(__rate_interval|__interval|__range)\}/g;
const noQueryPanels = new Set(['row', 'text', 'news', 'dashlist']);

function validateDashboards(files, rulesOut) {
  if (!rulesOut) {
    report('dashboards', 'usage: dashboards --rules=OUT FILE...');
    return 0;
  }
  const uids = new Map();
  const rules = [];
  for (const file of files) {
    const where = basename(file);
    let dashboard;
    try {
      dashboard = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      report(where, `not JSON: ${e.message}`);
      continue;
    }
    if (!dashboard.uid || !dashboard.title) report(where, 'uid and title are required');
    if (uids.has(dashboard.uid)) report(where, `uid "${dashboard.uid}" is also the uid of ${uids.get(dashboard.uid)}`);
    uids.set(dashboard.uid, where);
    const variables = dashboard.templating?.list ?? [];
    if (!variables.some((v) => v.type === 'datasource' && v.name === 'datasource' && v.query === 'prometheus')) {
      report(where, 'no Prometheus datasource variable "datasource"');
    }
    const own = variables.filter((v) => v.type !== 'datasource').map((v) => v.name);
    const panels = panelsOf(dashboard.panels).filter((p) => !noQueryPanels.has(p.type));
    if (panels.length === 0) report(where, 'has no panels');
    const ids = new Set();
    for (const panel of panels) {
      const at = `${where} panel ${panel.id} "${panel.title}"`;
      if (ids.has(panel.id)) report(at, 'duplicate panel id');
      ids.add(panel.id);
      const datasources = [panel.datasource, ...(panel.targets ?? []).map((t) => t.datasource)].filter(Boolean);
      for (const ds of datasources) {
        if (ds.uid !== '${datasource}') report(at, `datasource ${JSON.stringify(ds)} is not the \${datasource} variable`);
      }
      const targets = (panel.targets ?? []).filter((t) => !t.hide);
      if (targets.length === 0) report(at, 'has no query');
      for (const target of targets) {
        if (typeof target.expr !== 'string' || target.expr.trim() === '') {
          report(`${at} query ${target.refId}`, 'empty expr');
          continue;
        }
        let expr = target.expr.replace(grafanaIntervals, '1m');
        for (const name of own) expr = expr.replaceAll(`\${${name}}`, '.+').replaceAll(`$${name}`, '.+');
        const leftover = /\$\{?[A-Za-z_][A-Za-z0-9_]*/.exec(expr);
        if (leftover) report(`${at} query ${target.refId}`, `uses ${leftover[0]}, which is no variable of the dashboard`);
        const record = `dashboard:${dashboard.uid}_${panel.id}_${target.refId}`.replace(/[^A-Za-z0-9_:]/g, '_');
        rules.push({ record, expr });
      }
    }
  }
  writeFileSync(rulesOut, yaml.dump({ groups: [{ name: 'dashboard-queries', rules }] }, { lineWidth: -1 }));
  return files.length;
}

const args = process.argv.slice(2);
const rulesOut = args.find((a) => a.startsWith('--rules='))?.slice('--rules='.length);
const [command, ...files] = args.filter((a) => !a.startsWith('--rules='));
let count;
switch (command) {
  case 'manifests': count = await validateManifests(files); break;
  case 'fixtures': count = await validateFixtures(files); break;
  case 'skaffold': count = files.reduce((n, f) => n + validateSkaffold(f), 0); break;
  case 'dockerfiles': count = validateDockerfiles(files); break;
  case 'dashboards': count = validateDashboards(files, rulesOut); break;
  default:
    console.error('usage: validate.mjs manifests|skaffold|dockerfiles|fixtures FILE... | dashboards --rules=OUT FILE...');
    process.exit(2);
}
if (problems.length > 0) {
  for (const p of problems) console.error(`  ✗ ${p}`);
  console.error(`${command}: ${problems.length} problem(s) in ${files.join(' ')}`);
  process.exit(1);
}
console.log(`${command}: ${count} checked, no problems (${files.map((f) => basename(f)).join(', ')})`);
