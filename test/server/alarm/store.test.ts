import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../../../pkg/storage/engine/index.js';
import { AlarmStore, alarmText } from '../../../pkg/server/alarm/store.js';
import { putCost, txnCost } from '../../../pkg/server/alarm/space-quota.js';
import { AlarmType, TxnRequest } from '../../../pkg/proto/gen/etcdserverpb/rpc.js';
import { readSnapshotArchive, snapshotArchive } from '../../../pkg/server/api/maintenance-snapshot.js';

describe('AlarmStore', () => {
  let dir: string;
  let engine: Engine;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-alarm-'));
    engine = await Engine.open(dir);
  });
  after(async () => {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('activates once, persists through its ops, deactivates', async () => {
    const s = await AlarmStore.load(engine);
    assert.deepEqual(s.list(), []);
    const a = s.activate(7n, AlarmType.NOSPACE);
    assert.ok(a !== undefined);
    assert.equal(s.activate(7n, AlarmType.NOSPACE), undefined, 'already active');
    assert.equal(s.activate(7n, AlarmType.NONE), undefined, 'NONE is never stored');
    const c = s.activate(9n, AlarmType.CORRUPT);
    assert.ok(c !== undefined);
    await engine.write([a.op, c.op]);
    assert.ok(s.has(AlarmType.NOSPACE));
    assert.deepEqual(s.list(AlarmType.CORRUPT), [{ memberID: 9n, alarm: AlarmType.CORRUPT }]);

    const reloaded = await AlarmStore.load(engine);
    assert.deepEqual(reloaded.list(), [
      { memberID: 7n, alarm: AlarmType.NOSPACE },
      { memberID: 9n, alarm: AlarmType.CORRUPT },
    ]);
    const d = reloaded.deactivate(7n, AlarmType.NOSPACE);
    assert.ok(d !== undefined);
    assert.equal(reloaded.deactivate(7n, AlarmType.NOSPACE), undefined);
    await engine.write([d.op]);
    assert.deepEqual((await AlarmStore.load(engine)).list(), [{ memberID: 9n, alarm: AlarmType.CORRUPT }]);
    assert.equal(alarmText({ memberID: 9n, alarm: AlarmType.CORRUPT }), 'memberID:9 alarm:CORRUPT ');
  });

  it('quota costs: puts count, deletes and read-only txns are free', () => {
    assert.equal(putCost({ key: Buffer.from('ab'), value: Buffer.from('cde') }), 5 + 256);
    const readOnly = TxnRequest.fromPartial({ success: [{ request: { $case: 'requestRange', value: { key: Buffer.from('a') } } }] });
    assert.equal(txnCost(readOnly), 0);
    const nested = TxnRequest.fromPartial({
      success: [{ request: { $case: 'requestDeleteRange', value: { key: Buffer.from('a') } } }],
      failure: [{ request: { $case: 'requestTxn', value: { success: [{ request: { $case: 'requestPut', value: { key: Buffer.from('k'), value: Buffer.from('v') } } }] } } }],
    });
    assert.equal(txnCost(nested), 2 + 256);
  });

  it('snapshot archive: padded to 512 + sha256, round-trips the state keyspaces only, rejects corruption', async () => {
    await engine.write([
      { type: 'put', key: Uint8Array.of(0x01, 1), value: Buffer.from('raft log') },
      { type: 'put', key: Uint8Array.of(0x10, 1), value: Buffer.from('rev') },
      { type: 'put', key: Uint8Array.of(0x22, 1), value: Buffer.alloc(70_000, 7) },
    ]);
    const chunks = [];
    for await (const c of snapshotArchive(engine, 16 * 1024)) chunks.push(c);
    assert.ok(chunks.length > 3);
    assert.equal(chunks.at(-1)?.remaining, 0);
    const data = Buffer.concat(chunks.map((c) => c.blob));
    assert.equal(data.length % 512, 32);
    const r = readSnapshotArchive(data);
    assert.ok(r.ok);
    assert.ok(r.records.every((x) => (x.key[0] ?? 0) >= 0x10));
    assert.ok(r.records.some((x) => x.key[0] === 0x22 && x.value.length === 70_000));
    const bad = Buffer.from(data);
    bad[100] = (bad[100] ?? 0) ^ 1;
    assert.deepEqual(readSnapshotArchive(bad), { ok: false, reason: 'sha256 mismatch' });
    assert.deepEqual(readSnapshotArchive(data.subarray(0, data.length - 1)), { ok: false, reason: 'sha256 checksum not found' });
  });
});
