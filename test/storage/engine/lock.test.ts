import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Engine, isEngineError } from '../../../pkg/storage/engine/index.js';
import { tempDir } from './helpers.js';

const holder = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './hold-open.ts' : './hold-open.js', import.meta.url));

describe('engine: directory lock across processes', () => {
  const t = tempDir('lock');
  after(() => t.remove());

  it('opening a directory another process holds fails with kind locked, and succeeds once it exits', async () => {
    const args = holder.endsWith('.ts') ? ['--import', 'tsx', holder, t.dir] : [holder, t.dir];
    const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = once(child, 'exit');
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('ready\n')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`holder exited early with ${code}`)));
    });
    await assert.rejects(Engine.open(t.dir), (err: unknown) => {
      assert.ok(isEngineError(err, 'locked'), String(err));
      return true;
    });
    child.stdin.end();
    const [code] = await exited;
    assert.equal(code, 0);
    const e = await Engine.open(t.dir);
    await e.close();
  });
});
