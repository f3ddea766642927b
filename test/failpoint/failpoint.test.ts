import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseFailpoints } from '../../pkg/failpoint/index.js';

const moduleUrl = new URL('../../pkg/failpoint/index.' + (import.meta.url.endsWith('.ts') ? 'ts' : 'js'), import.meta.url);

/** Runs a script that imports the failpoint module with BERTH_FAILPOINTS set; returns status, signal, stdout. */
function run(spec: string, body: string): { status: number | null; signal: NodeJS.Signals | null; out: string } {
  const script = `import { failpoint } from ${JSON.stringify(moduleUrl.href)};\n${body}`;
  const args = import.meta.url.endsWith('.ts') ? ['--import', 'tsx', '--input-type=module', '-e', script] : ['--input-type=module', '-e', script];
  const r = spawnSync(process.execPath, args, { env: { ...process.env, BERTH_FAILPOINTS: spec }, encoding: 'utf8', cwd: fileURLToPath(new URL('.', import.meta.url)) });
  return { status: r.status, signal: r.signal, out: r.stdout };
}

describe('failpoints', () => {
  it('parses actions, hit counts and the legacy throw alias', () => {
    const m = parseFailpoints('a=kill, b=sleep(25)@3,c=throw,d=enospc,e=panic@2,f=error');
    assert.deepEqual(m.get('a'), { action: { kind: 'kill' }, at: 1, onward: false, hits: 0 });
    assert.deepEqual(m.get('b'), { action: { kind: 'sleep', ms: 25 }, at: 3, onward: false, hits: 0 });
    assert.deepEqual(m.get('c'), { action: { kind: 'error' }, at: undefined, onward: false, hits: 0 });
    assert.deepEqual(m.get('d')?.action, { kind: 'enospc' });
    assert.deepEqual(m.get('e'), { action: { kind: 'panic' }, at: 2, onward: false, hits: 0 });
    assert.equal(m.get('f')?.at, undefined);
    assert.equal(parseFailpoints('').size, 0);
    assert.deepEqual(parseFailpoints('g=enospc@4+').get('g'), { action: { kind: 'enospc' }, at: 4, onward: true, hits: 0 });
  });

  it('powerloss fires once by default and, without the test-only storage model, ends the process', () => {
    assert.deepEqual(parseFailpoints('p=powerloss@4').get('p'), { action: { kind: 'powerloss' }, at: 4, onward: false, hits: 0 });
    assert.equal(parseFailpoints('p=powerloss').get('p')?.at, 1);
    const r = run('p=powerloss', `try { failpoint('p'); } catch { console.log('caught locally'); }`);
    assert.notEqual(r.status, 0);
    assert.equal(r.out.trim(), 'caught locally');
  });

  it('rejects typos instead of staying silently inert', () => {
    assert.throws(() => parseFailpoints('a=kil'), /unknown action/);
    assert.throws(() => parseFailpoints('a=kill@0'), /bad hit count/);
    assert.throws(() => parseFailpoints('kill'), /expected name=action/);
  });

  it('kill@n kills on the n-th hit, not before', () => {
    const r = run('p=kill@3', `for (let i = 1; i <= 5; i++) { console.log('hit ' + i); failpoint('p'); }`);
    assert.equal(r.signal, 'SIGKILL');
    assert.deepEqual(r.out.trim().split('\n'), ['hit 1', 'hit 2', 'hit 3']);
  });

  it('enospc throws an ENOSPC error; other names are untouched', () => {
    const r = run('p=enospc', `failpoint('other'); try { failpoint('p'); } catch (e) { console.log(e.code); }`);
    assert.equal(r.status, 0);
    assert.equal(r.out.trim(), 'ENOSPC');
  });

  it('@n+ fires from the n-th hit on', () => {
    const r = run('p=error@3+', `for (let i = 1; i <= 5; i++) { try { failpoint('p'); console.log('ok ' + i); } catch { console.log('fail ' + i); } }`);
    assert.equal(r.status, 0);
    assert.deepEqual(r.out.trim().split('\n'), ['ok 1', 'ok 2', 'fail 3', 'fail 4', 'fail 5']);
  });

  it('panic ends the process with an uncaught error', () => {
    const r = run('p=panic', `try { failpoint('p'); } catch { console.log('caught locally'); }`);
    assert.notEqual(r.status, 0);
    assert.equal(r.out.trim(), 'caught locally');
  });

  it('sleep(ms) blocks the process for at least ms', () => {
    const r = run('p=sleep(200)', `const t = Date.now(); failpoint('p'); console.log(Date.now() - t);`);
    assert.equal(r.status, 0);
    assert.ok(Number(r.out.trim()) >= 190, r.out);
  });
});
