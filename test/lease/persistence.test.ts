import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine, Keyspace, keyspaceRange } from '../../pkg/storage/engine/index.js';
import { EventType, MvccStore, validateTxn } from '../../pkg/storage/mvcc/index.js';
import { deleteKeysTxn, lessorOf, openLessor, type Lessor } from '../../pkg/lease/index.js';

const te = new TextEncoder();
const td = new TextDecoder();
const k = (s: string): Uint8Array => te.encode(s);

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-lease-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function countLeaseRecords(engine: Engine): Promise<number> {
  let n = 0;
  for await (const _ of engine.iterate(keyspaceRange(Keyspace.Lease))) n++;
  return n;
}

describe('lease persistence', () => {
  it('reloads granted leases, checkpoints and attachments; revoked ones stay gone', async () => {
    const path = join(dir, 'reload');
    let engine = await Engine.open(path);
    let mvcc = await MvccStore.open(engine, { leaseExists: (id) => lessor.exists(id) });
    const lessor: Lessor = await openLessor(engine, mvcc, { minTtl: 1n });
    for (const [id, ttl] of [[1n, 1n], [2n, 60n], [-3n, 90n]] as const) {
      const g = lessor.prepareGrant(id, ttl);
      assert.ok(g.ok);
      await engine.write(g.value.ops);
      g.value.commit();
    }
    const c = lessor.prepareCheckpoint([{ id: 2n, remainingTtl: 15n }]);
    await engine.write(c.ops);
    c.commit();
    for (const [key, lease] of [['a', 2n], ['b', 2n], ['c', -3n], ['d', 0n]] as const) {
      const r = await mvcc.put({ key: k(key), value: k('v'), lease });
      assert.ok(r.ok);
      lessor.observe(r.value.events);
    }
    const bad = await mvcc.put({ key: k('e'), value: k('v'), lease: 77n });
    assert.deepEqual(bad, { ok: false, error: { kind: 'lease-not-found' } });
    const r = lessor.prepareRevoke(1n);
    assert.ok(r.ok);
    await engine.write(r.value.ops);
    r.value.commit();
    assert.equal(await countLeaseRecords(engine), 2);
    await mvcc.close();
    await engine.close();

    engine = await Engine.open(path);
    mvcc = await MvccStore.open(engine);
    const reloaded = await openLessor(engine, mvcc, { minTtl: 75n });
    assert.equal(lessorOf(engine), reloaded);
    assert.deepEqual(reloaded.leases().sort(), [-3n, 2n]);
    assert.equal(reloaded.exists(1n), false);
    assert.equal(reloaded.timeToLive(2n, false)?.grantedTtl, 75n, 'raised to the new minimum on load');
    assert.equal(reloaded.timeToLive(-3n, false)?.grantedTtl, 90n);
    assert.deepEqual(reloaded.timeToLive(2n, true)?.keys.map((x) => td.decode(x)), ['a', 'b']);
    assert.deepEqual(reloaded.timeToLive(-3n, true)?.keys.map((x) => td.decode(x)), ['c']);
    reloaded.promote(0);
    assert.equal(reloaded.timeToLive(2n, false)?.ttl, 15n, 'checkpointed remaining TTL survives a restart');
    await mvcc.close();
    await engine.close();
  });
});

describe('revoke transaction', () => {
  it('deletes thousands of keys within the txn-ops budget, in the given order', () => {
    const keys = Array.from({ length: 5000 }, (_, i) => k(`key/${String(i).padStart(5, '0')}`));
    const txn = deleteKeysTxn(keys, 128);
    assert.deepEqual(validateTxn(txn, 128), { ok: true, value: undefined });
    const flat: string[] = [];
    const walk = (ops: NonNullable<typeof txn.success>): void => {
      for (const op of ops) {
        if ('requestDeleteRange' in op) flat.push(td.decode(op.requestDeleteRange.key));
        else if ('requestTxn' in op) walk(op.requestTxn.success ?? []);
        else assert.fail('unexpected op');
      }
    };
    walk(txn.success ?? []);
    assert.deepEqual(flat, keys.map((x) => td.decode(x)));
    assert.equal(deleteKeysTxn(keys.slice(0, 3), 128).success?.length, 3, 'flat when it fits');
  });

  it('removes every key in ONE revision with DELETE events carrying prev_kv', async () => {
    const engine = await Engine.open(join(dir, 'txn'));
    const mvcc = await MvccStore.open(engine, { maxTxnOps: 16 });
    const keys = Array.from({ length: 100 }, (_, i) => k(`k${String(i).padStart(3, '0')}`));
    for (const key of keys) assert.ok((await mvcc.put({ key, value: k('v'), lease: 9n })).ok);
    const before = mvcc.currentRevision;
    const p = await mvcc.prepareTxn(deleteKeysTxn(keys, 16));
    assert.ok(p.ok, JSON.stringify(!p.ok && p.error));
    await mvcc.commit(p.value);
    assert.equal(mvcc.currentRevision, before + 1n);
    assert.equal(p.value.events.length, 100);
    for (const [i, ev] of p.value.events.entries()) {
      assert.equal(ev.type, EventType.DELETE);
      assert.equal(td.decode(ev.kv.key), td.decode(keys[i] ?? new Uint8Array()));
      assert.equal(ev.kv.modRevision, before + 1n);
      assert.equal(ev.prevKv?.lease, 9n);
    }
    const left = await mvcc.range({ key: Uint8Array.of(0), rangeEnd: Uint8Array.of(0), countOnly: true });
    assert.ok(left.ok);
    assert.equal(left.value.count, 0n);
    await mvcc.close();
    await engine.close();
  });
});
