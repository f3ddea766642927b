import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { newMessage } from '../../../pkg/raft/index.js';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PeerTransport } from '../../../pkg/server/transport/index.js';
import { Recorder, mesh, startNode, waitFor } from './harness.js';

test('after stop() nothing keeps the process alive: streams, uploads and retry timers are all closed', async () => {
  const here = fileURLToPath(import.meta.url);
  const ts = here.endsWith('.ts');
  const fixture = here.replace(/lifecycle\.test\.(ts|js)$/, `exit-after-stop.fixture.${ts ? 'ts' : 'js'}`);
  const child = spawn(process.execPath, ts ? ['--import', 'tsx', fixture] : [fixture], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | string>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve('timeout');
    }, 20_000); // below every retry timer the fixture leaves pending (≥ 30 s)
    child.on('close', (c, sig) => {
      clearTimeout(timer);
      resolve(c ?? String(sig));
    });
  });
  assert.equal(code, 0, `child did not exit cleanly by itself (stdout: ${out}, stderr: ${err})`);
  assert.equal(out, 'stopped 0\n');
});

test('stop() ends the peer streams: the receiver sees its incoming stream end, send() is then a no-op', async (t) => {
  const a = await startNode({ id: 1n });
  const b = await startNode({ id: 2n });
  t.after(async () => {
    await a.close();
    await b.close();
  });
  mesh([a, b]);
  a.transport.send([newMessage({ type: 'heartbeat', from: 1n, to: 2n, commit: 1 })]);
  await waitFor([b.rec], () => b.rec.messages.length === 1, 'first message');
  // b stops: a's stream to b is ended with UNAVAILABLE and a notices.
  await b.transport.stop();
  await waitFor([a.rec], () => a.transport.peerStatus(2n)?.state !== 'active', 'a saw its stream end');
  assert.ok((a.rec.unreachable.get(2n) ?? 0) >= 1);
  const inactive = a.rec.logged('peer became inactive');
  assert.equal(inactive.length, 1);
  assert.match(String(inactive[0]?.fields['error']), /transport: stopped|UNIMPLEMENTED|unimplemented/i);
  b.transport.send([newMessage({ type: 'heartbeat', from: 2n, to: 1n })]);
  assert.equal(b.transport.peerStatus(1n), undefined);
  await a.transport.stop();
  const seen = a.rec.unreachable.get(2n);
  a.transport.send([newMessage({ type: 'heartbeat', from: 1n, to: 2n })]);
  await Promise.resolve();
  assert.equal(a.rec.unreachable.get(2n), seen, 'no callbacks after stop');
  assert.equal(a.rec.messages.length, 0);
});

test('start() removes partial uploads left by a crash and keeps finished snapshots', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-transport-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const snapDir = join(dir, 'snap');
  mkdirSync(snapDir);
  writeFileSync(join(snapDir, 'snap-1-5-abc.part'), 'partial');
  writeFileSync(join(snapDir, 'snap-1-4-def.snap'), 'done');
  const rec = new Recorder();
  const tr = new PeerTransport({
    clusterId: 1n,
    memberId: 1n,
    snapshotDir: snapDir,
    onMessage: () => undefined,
    onSnapshot: () => undefined,
    onUnreachable: () => undefined,
    onSnapshotStatus: () => undefined,
    snapshotSource: () => (async function* () {})(),
    logger: rec.logger,
  });
  tr.start();
  assert.deepEqual(readdirSync(snapDir), ['snap-1-4-def.snap']);
  await tr.stop();
});
