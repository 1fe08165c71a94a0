#!/usr/bin/env node
// Self-test of edge.mjs: each fixture under fixtures/invalid-edge names a rendering (a value set's, rendered by
// validate.sh into WORK) and JSON-patch-like edits; the edited rendering must fail edge.mjs with the "expect" message.
//   node edge-selftest.mjs WORK FIXTURE...
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import yaml from 'js-yaml';

const here = dirname(fileURLToPath(import.meta.url));
const [work, ...fixtures] = process.argv.slice(2);
let failed = 0;
for (const file of fixtures) {
  const fixture = yaml.load(readFileSync(file, 'utf8'));
  const docs = yaml.loadAll(readFileSync(join(work, fixture.rendering), 'utf8')).filter(Boolean);
  for (const edit of fixture.edits) {
    const target = docs.find((d) => d.kind === edit.kind && d.metadata?.name === edit.name);
    if (!target) throw new Error(`${basename(file)}: ${edit.kind}/${edit.name} is not in ${fixture.rendering}`);
    const keys = edit.path.split('/').filter(Boolean).map((k) => k.replace(/~1/g, '/'));
    const last = keys.pop();
    const parent = keys.reduce((o, k) => (o[k] ??= {}), target);
    if (edit.delete) delete parent[last];
    else parent[last] = edit.value;
  }
  const out = join(work, `edge-fixture-${basename(file)}`);
  writeFileSync(out, docs.map((d) => yaml.dump(d)).join('---\n'));
  const run = spawnSync(process.execPath, [join(here, 'edge.mjs'), out], { encoding: 'utf8' });
  if (run.status === 0 || !run.stderr.includes(fixture.expect)) {
    console.error(`${basename(file)}: expected edge.mjs to fail with "${fixture.expect}", got (exit ${run.status}): ${run.stderr || run.stdout}`);
    failed++;
  }
}
if (failed) process.exit(1);
console.log(`edge self-test: ${fixtures.length} broken renderings rejected for the expected reason`);
