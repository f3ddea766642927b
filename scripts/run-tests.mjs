#!/usr/bin/env node
// Runs the compiled test tiers with Node's built-in test runner.
// Usage: node scripts/run-tests.mjs <tier>... where tier is unit | integration | compat | robustness.
// unit = dist/test/** except test/integration; integration = dist/test/integration/**;
// compat = dist/e2e/compat/**; robustness = dist/e2e/robustness/** (fault-injection runs, minutes). Extra args after `--` are passed to `node --test`.
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const tiers = dash === -1 ? argv : argv.slice(0, dash);
const extra = dash === -1 ? [] : argv.slice(dash + 1);

function walk(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out.sort();
}

const roots = {
  unit: () => walk('dist/test').filter((f) => !f.startsWith(join('dist/test/integration'))),
  integration: () => walk('dist/test/integration'),
  compat: () => walk('dist/e2e/compat'),
  robustness: () => walk('dist/e2e/robustness'),
};
const files = [];
for (const t of tiers.length ? tiers : ['unit']) {
  const pick = roots[t];
  if (!pick) {
    console.error(`run-tests: unknown tier ${t}`);
    process.exit(1);
  }
  files.push(...pick());
}
if (files.length === 0) {
  console.error('run-tests: no test files found (did the build run?)');
  process.exit(1);
}
const concurrency = process.env.BERTH_TEST_CONCURRENCY ?? '2';
const r = spawnSync(
  process.execPath,
  ['--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...extra, ...files],
  { stdio: 'inherit' },
);
process.exit(r.status ?? 1);
