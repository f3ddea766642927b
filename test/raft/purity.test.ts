import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

// Sources, not compiled output: tests run from the repository root (npm test and the dev loop alike).
const dir = join(process.cwd(), 'pkg/raft');

describe('pkg/raft purity (architecture invariant 1)', () => {
  it('imports only sibling modules and uses no clock, timer, global randomness or Node global', () => {
    const files = readdirSync(dir).filter((n) => n.endsWith('.ts'));
    assert.ok(files.length >= 15, `found the sources (${files.length})`);
    for (const f of files) {
      const src = readFileSync(join(dir, f), 'utf8');
      for (const m of src.matchAll(/from\s+'([^']+)'/g)) assert.match(m[1]!, /^\.\/[a-z-]+\.js$/, `${f} imports ${m[1]}`);
      for (const bad of ['Date.now', 'Math.random', 'setTimeout', 'setInterval', 'process.', 'Buffer.', 'performance.']) {
        assert.ok(!src.includes(bad), `${f} uses ${bad}`);
      }
    }
  });
});
