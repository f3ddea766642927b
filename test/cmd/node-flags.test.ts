import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NODE_FLAGS } from '../../cmd/berth/node-flags.js';
import { repoRoot } from '../support/repo-root.js';

const ROOT = repoRoot();

test('the installed `berth` (the shebang of cmd/berth/main.ts) runs node with NODE_FLAGS', () => {
  const first = readFileSync(join(ROOT, 'cmd/berth/main.ts'), 'utf8').split('\n')[0];
  assert.equal(first, `#!/usr/bin/env -S node ${NODE_FLAGS.join(' ')}`);
});

test('`npm start` runs node with NODE_FLAGS', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  assert.match(pkg.scripts['start'] ?? '', new RegExp(` node ${NODE_FLAGS.join(' ')} dist/cmd/berth/main\\.js$`));
});

test('node accepts NODE_FLAGS (an unknown or misspelt V8 option makes node exit with "bad option")', () => {
  const ok = spawnSync(process.execPath, [...NODE_FLAGS, '-e', 'process.stdout.write("up")'], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(ok.stdout, 'up');
  const bad = spawnSync(process.execPath, ['--max-semi-space-sise=64', '-e', ''], { encoding: 'utf8' });
  assert.notEqual(bad.status, 0, 'the check itself must be able to fail');
  assert.match(bad.stderr, /bad option/);
});
