import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../support/repo-root.js';
import { BERTH_VERSION, FLAGS, LEGACY_FLAGS, helpText } from '../../pkg/config/index.js';

test('BERTH_VERSION equals package.json version', () => {
  const pkg = JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as { version: string };
  assert.equal(BERTH_VERSION, pkg.version);
});

test('help text has one line per flag, default quoted', () => {
  const text = helpText();
  assert.match(text, /^ {2}--initial-cluster 'default=http:\/\/localhost:2380' +Initial members/m);
  assert.match(text, /^ {2}--emulated-etcd-version '3\.5\.17' +/m);
  assert.match(text, /^Legacy flags/m);
});

test('docs/configuration.md lists every flag and every legacy flag', () => {
  const doc = readFileSync(join(repoRoot(), 'docs', 'configuration.md'), 'utf8');
  for (const f of FLAGS) assert.ok(doc.includes(`| \`--${f.name}\` |`), f.name);
  for (const l of LEGACY_FLAGS.slice(0, 3)) assert.ok(doc.includes(`--${l.name}`), l.name);
});
