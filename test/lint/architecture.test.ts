// Proves the lint rules that guard the architecture actually fire: an import cycle, a Node import, a
// clock and an import from another berth package inside pkg/raft are each rejected, and a pure raft file
// passes. The fixtures live in test/fixtures/lint (ignored by the normal lint run and by tsc).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ESLint } from 'eslint';
import { join, resolve } from 'node:path';
import { repoRoot } from '../support/repo-root.js';

const root = repoRoot();
const fixtures = join(root, 'test/fixtures/lint');
const eslint = new ESLint({ cwd: root, ignore: false });

async function ruleIds(rel: string): Promise<string[]> {
  const [result] = await eslint.lintFiles([resolve(fixtures, rel)]);
  assert.ok(result, `no lint result for ${rel}`);
  return result.messages.map((m) => m.ruleId ?? `fatal: ${m.message}`);
}

test('an import cycle fails lint', async () => {
  assert.ok((await ruleIds('cycle/a.ts')).includes('import-x/no-cycle'));
  assert.ok((await ruleIds('cycle/b.ts')).includes('import-x/no-cycle'));
});

test('a node: import inside pkg/raft fails lint', async () => {
  assert.ok((await ruleIds('pkg/raft/impure.ts')).includes('no-restricted-imports'));
});

test('an import from another berth package inside pkg/raft fails lint', async () => {
  assert.deepEqual(await ruleIds('pkg/raft/reaches-out.ts'), ['no-restricted-imports']);
});

test('clocks and global randomness inside pkg/raft fail lint', async () => {
  assert.deepEqual(await ruleIds('pkg/raft/clock.ts'), ['no-restricted-properties', 'no-restricted-properties']);
});

test('a pure pkg/raft file importing a sibling passes lint', async () => {
  assert.deepEqual(await ruleIds('pkg/raft/pure.ts'), []);
});
