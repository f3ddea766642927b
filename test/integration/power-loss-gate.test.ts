// The power-loss storage model is test-only: cmd/berth refuses to start when a `powerloss` failpoint
// is armed (it cannot attach the model, and the failpoint must not silently act as a plain kill).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../e2e/compat/support/servers.js';

test('cmd/berth refuses BERTH_FAILPOINTS with the powerloss action', async () => {
  const ts = import.meta.url.endsWith('.ts');
  const main = fileURLToPath(new URL(`../../cmd/berth/main.${ts ? 'ts' : 'js'}`, import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'berth-powerloss-gate-'));
  try {
    const client = `http://127.0.0.1:${await freePort()}`;
    const peer = `http://127.0.0.1:${await freePort()}`;
    const args = [...(ts ? ['--import', 'tsx'] : []), main, '--name', 'g', '--data-dir', join(dir, 'd'), '--listen-client-urls', client, '--advertise-client-urls', client,
      '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `g=${peer}`];
    const r = spawnSync(process.execPath, args, { env: { ...process.env, BERTH_FAILPOINTS: 'engine-write=powerloss@3' }, encoding: 'utf8', timeout: 60_000 });
    assert.notEqual(r.status, 0, `berth started with a powerloss failpoint armed: ${r.stdout}${r.stderr}`);
    assert.equal(r.signal, null, 'berth should refuse to start, not be killed');
    assert.match(r.stdout + r.stderr, /powerloss action needs the power-loss storage model/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
