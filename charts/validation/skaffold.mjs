// skaffold.yaml beyond its schema: every profile as skaffold would apply it, and the files and names it points at.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import yaml from 'js-yaml';

const clone = (v) => JSON.parse(JSON.stringify(v));

function pointer(doc, path) {
  const parts = path.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  const last = parts.pop();
  let parent = doc;
  for (const p of parts) {
    if (parent === undefined || parent === null) return { parent: undefined, key: last };
    parent = parent[p];
  }
  return { parent, key: last };
}

// JSON Patch (RFC 6902) for the ops skaffold profiles use here.
function applyPatch(doc, patch) {
  const { parent, key } = pointer(doc, patch.path);
  if (parent === undefined || parent === null) throw new Error(`path ${patch.path} does not exist`);
  if (patch.op === 'add') {
    if (Array.isArray(parent)) parent.splice(key === '-' ? parent.length : Number(key), 0, clone(patch.value));
    else parent[key] = clone(patch.value);
  } else if (patch.op === 'replace' || patch.op === 'remove') {
    if (!(key in parent)) throw new Error(`path ${patch.path} does not exist`);
    if (patch.op === 'replace') parent[key] = clone(patch.value);
    else if (Array.isArray(parent)) parent.splice(Number(key), 1);
    else delete parent[key];
  } else {
    throw new Error(`op ${patch.op} is not checked here`);
  }
}

export function profileConfigs(config) {
  const configs = [{ name: '(no profile)', config: { ...clone(config), profiles: undefined } }];
  for (const profile of config.profiles ?? []) {
    const effective = clone(config);
    delete effective.profiles;
    for (const field of ['build', 'deploy', 'portForward']) {
      if (profile[field] !== undefined) {
        effective[field] = field === 'build' ? { ...effective.build, ...clone(profile.build) } : clone(profile[field]);
      }
    }
    for (const patch of profile.patches ?? []) {
      try {
        applyPatch(effective, patch);
      } catch (e) {
        configs.push({ name: profile.name, error: `patch ${patch.op} ${patch.path}: ${e.message}` });
      }
    }
    configs.push({ name: profile.name, config: JSON.parse(JSON.stringify(effective)) });
  }
  return configs;
}

const templateName = (image) => image.replace(/[^A-Za-z0-9]/g, '_');

function hasValuePath(values, dotted) {
  let node = values;
  for (const part of dotted.split('.')) {
    if (node === null || typeof node !== 'object' || !(part in node)) return false;
    node = node[part];
  }
  return true;
}

export function checkSkaffold(file, config, where, report) {
  const root = dirname(file);
  const images = new Set((config.build?.artifacts ?? []).map((a) => a.image));
  for (const artifact of config.build?.artifacts ?? []) {
    const context = join(root, artifact.context ?? '.');
    if (!existsSync(context)) report(where, `artifact ${artifact.image}: context ${artifact.context} does not exist`);
    const dockerfile = join(context, artifact.docker?.dockerfile ?? 'Dockerfile');
    if (!existsSync(dockerfile)) report(where, `artifact ${artifact.image}: ${artifact.docker?.dockerfile} does not exist`);
  }
  for (const release of config.deploy?.helm?.releases ?? []) {
    const at = `${where} release ${release.name}`;
    for (const values of release.valuesFiles ?? []) {
      if (!existsSync(join(root, values))) report(at, `values file ${values} does not exist`);
    }
    if (!release.chartPath) continue;
    const chart = join(root, release.chartPath);
    if (!existsSync(join(chart, 'Chart.yaml'))) {
      report(at, `chartPath ${release.chartPath} holds no Chart.yaml`);
      continue;
    }
    const chartValues = yaml.load(readFileSync(join(chart, 'values.yaml'), 'utf8'));
    for (const [key, template] of Object.entries(release.setValueTemplates ?? {})) {
      if (!hasValuePath(chartValues, key)) report(at, `setValueTemplates key ${key} is not a value of the chart`);
      for (const [, kind, name] of template.matchAll(/\{\{\s*\.IMAGE_(REPO|TAG|DIGEST|FULLY_QUALIFIED)_([A-Za-z0-9_]+)\s*\}\}/g)) {
        if (![...images].some((i) => templateName(i) === name)) report(at, `${key} uses IMAGE_${kind}_${name}, which no artifact builds`);
      }
    }
    for (const key of Object.keys(release.setValues ?? {})) {
      if (!hasValuePath(chartValues, key)) report(at, `setValues key ${key} is not a value of the chart`);
    }
    for (const image of images) {
      const used = Object.values(release.setValueTemplates ?? {}).some((t) => t.includes(`IMAGE_REPO_${templateName(image)}`));
      if (!used) report(at, `the chart is never given the built image ${image}`);
    }
  }
}
