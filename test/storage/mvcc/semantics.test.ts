/**
 * One focused test per row of ETCD-COMPAT.md's "Revisions and MVCC semantics" table (plus the
 * Put/DeleteRange/Txn details of etcd's apply), on a real temp RocksDB.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ChainConflict,
  CompareResult,
  CompareTarget,
  EventType,
  SortOrder,
  SortTarget,
  type Compare,
  type MvccStore,
  type RequestOp,
} from '../../../pkg/storage/mvcc/index.js';
import { b, errorKind, keysOf, str, unwrap, withStore } from './helpers.js';

const ALL = Uint8Array.of(0);

describe('revisions', () => {
  test('a fresh store is at revision 1; the first write creates revision 2', () =>
    withStore(async ({ store }) => {
      assert.equal(store.currentRevision, 1n);
      assert.equal(unwrap(await store.range({ key: b('a') })).header.revision, 1n);
      const p = unwrap(await store.put({ key: b('a'), value: b('1') }));
      assert.equal(p.response.header.revision, 2n);
      assert.equal(store.currentRevision, 2n);
    }));

  test('one revision per write request; a read-only txn and a delete of nothing do not bump it', () =>
    withStore(async ({ store }) => {
      await store.put({ key: b('a'), value: b('1') });
      const ro = unwrap(await store.txn({ success: [{ requestRange: { key: b('a') } }] }));
      assert.equal(ro.response.header.revision, 2n);
      assert.equal(ro.ops.length, 0);
      const none = unwrap(await store.deleteRange({ key: b('zzz') }));
      assert.equal(none.response.deleted, 0n);
      assert.equal(none.response.header.revision, 2n);
      assert.equal(store.currentRevision, 2n);
      const w = unwrap(await store.txn({ success: [{ requestPut: { key: b('x'), value: b('1') } }, { requestPut: { key: b('y'), value: b('1') } }] }));
      assert.equal(w.response.header.revision, 3n);
    }));

  test('changes inside one txn share the main revision, ordered by sub revision', () =>
    withStore(async ({ store }) => {
      const ops: RequestOp[] = ['c', 'a', 'b'].map((k) => ({ requestPut: { key: b(k), value: b(k) } }));
      const p = unwrap(await store.txn({ success: ops }));
      assert.deepEqual(p.events.map((e) => [str(e.kv.key), e.kv.modRevision]), [['c', 2n], ['a', 2n], ['b', 2n]]);
      const r = unwrap(await store.range({ key: b('a'), rangeEnd: ALL }));
      assert.deepEqual(r.kvs.map((kv) => kv.modRevision), [2n, 2n, 2n]);
      const ev = unwrap(await store.readEvents(2n));
      assert.deepEqual(ev.events.map((e) => str(e.kv.key)), ['c', 'a', 'b']);
    }));

  test('version: 1 on create, +1 per put; after delete the next create starts at 1 again', () =>
    withStore(async ({ store }) => {
      await store.put({ key: b('k'), value: b('1') });
      await store.put({ key: b('k'), value: b('2') });
      let kv = unwrap(await store.range({ key: b('k') })).kvs[0];
      assert.equal(kv?.version, 2n);
      assert.equal(kv?.createRevision, 2n);
      assert.equal(kv?.modRevision, 3n);
      await store.deleteRange({ key: b('k') });
      await store.put({ key: b('k'), value: b('3') });
      kv = unwrap(await store.range({ key: b('k') })).kvs[0];
      assert.equal(kv?.version, 1n);
      assert.equal(kv?.createRevision, 5n);
    }));

  test('header.revision of a historical Range is the current revision', () =>
    withStore(async ({ store }) => {
      await store.put({ key: b('k'), value: b('1') });
      await store.put({ key: b('k'), value: b('2') });
      const r = unwrap(await store.range({ key: b('k'), revision: 2n }));
      assert.equal(r.header.revision, 3n);
      assert.equal(str(r.kvs[0]?.value ?? b('')), '1');
    }));
});

describe('Range', () => {
  const seed = async (store: MvccStore): Promise<void> => {
    for (const k of ['\x00', 'a', 'a\x00', 'a\xff', 'ab', 'b', '\xff', '\xff\xff']) await store.put({ key: b(k), value: b(`v${k}`) });
  };

  test('range_end: empty = one key; "\\0" = all ≥ key; prefix end; key=range_end="\\0" = everything', () =>
    withStore(async ({ store }) => {
      await seed(store);
      assert.deepEqual(keysOf(unwrap(await store.range({ key: b('a') })).kvs), ['a']);
      assert.deepEqual(keysOf(unwrap(await store.range({ key: b('b'), rangeEnd: ALL })).kvs), ['b', '\xff', '\xff\xff']);
      assert.deepEqual(keysOf(unwrap(await store.range({ key: b('a'), rangeEnd: b('b') })).kvs), ['a', 'a\x00', 'ab', 'a\xff']);
      assert.deepEqual(keysOf(unwrap(await store.range({ key: b('\xff'), rangeEnd: ALL })).kvs), ['\xff', '\xff\xff']);
      assert.deepEqual(keysOf(unwrap(await store.range({ key: ALL, rangeEnd: ALL })).kvs).length, 8);
      assert.deepEqual(keysOf(unwrap(await store.range({ key: b('b'), rangeEnd: b('a') })).kvs), []);
    }));

  test('revision: ≤0 = latest, < compaction → compacted, > current → future-rev, = compaction readable', () =>
    withStore(async ({ store }) => {
      await store.put({ key: b('k'), value: b('1') }); // 2
      await store.put({ key: b('k'), value: b('2') }); // 3
      await store.put({ key: b('k'), value: b('3') }); // 4
      assert.equal(str(unwrap(await store.range({ key: b('k'), revision: -5n })).kvs[0]?.value ?? b('')), '3');
      assert.equal(errorKind(await store.range({ key: b('k'), revision: 5n })), 'future-rev');
      unwrap(await store.compact({ revision: 3n, physical: true }));
      assert.equal(errorKind(await store.range({ key: b('k'), revision: 2n })), 'compacted');
      assert.equal(str(unwrap(await store.range({ key: b('k'), revision: 3n })).kvs[0]?.value ?? b('')), '2');
    }));

  test('limit, more and count: count is every key in range, ignoring limit', () =>
    withStore(async ({ store }) => {
      await seed(store);
      const r = unwrap(await store.range({ key: b('a'), rangeEnd: b('b'), limit: 2n }));
      assert.deepEqual(keysOf(r.kvs), ['a', 'a\x00']);
      assert.equal(r.more, true);
      assert.equal(r.count, 4n);
      const exact = unwrap(await store.range({ key: b('a'), rangeEnd: b('b'), limit: 4n }));
      assert.equal(exact.more, false);
    }));

  test('sort and filters: limit applies after sorting and filtering', () =>
    withStore(async ({ store }) => {
      await seed(store);
      await store.put({ key: b('a'), value: b('z') }); // a: mod 10, version 2
      const desc = unwrap(await store.range({ key: ALL, rangeEnd: ALL, limit: 2n, sortOrder: SortOrder.DESCEND, sortTarget: SortTarget.KEY }));
      assert.deepEqual(keysOf(desc.kvs), ['\xff\xff', '\xff']);
      assert.equal(desc.more, true);
      const byMod = unwrap(await store.range({ key: ALL, rangeEnd: ALL, limit: 1n, sortOrder: SortOrder.DESCEND, sortTarget: SortTarget.MOD }));
      assert.deepEqual(keysOf(byMod.kvs), ['a']);
      const byVersion = unwrap(await store.range({ key: ALL, rangeEnd: ALL, limit: 1n, sortOrder: SortOrder.DESCEND, sortTarget: SortTarget.VERSION }));
      assert.deepEqual(keysOf(byVersion.kvs), ['a']);
      const byValue = unwrap(await store.range({ key: ALL, rangeEnd: ALL, limit: 1n, sortOrder: SortOrder.ASCEND, sortTarget: SortTarget.VALUE }));
      assert.deepEqual(keysOf(byValue.kvs), ['\x00']);
      const filtered = unwrap(await store.range({ key: ALL, rangeEnd: ALL, limit: 1n, minModRevision: 9n }));
      assert.deepEqual(keysOf(filtered.kvs), ['a']);
      assert.equal(filtered.count, 8n); // count is taken before filtering, as in etcd
      assert.equal(filtered.more, true); // ['a' (mod 10), '\xff\xff' (mod 9)] pass the filter
      const created = unwrap(await store.range({ key: ALL, rangeEnd: ALL, maxCreateRevision: 3n }));
      assert.deepEqual(keysOf(created.kvs), ['\x00', 'a']);
    }));

  test('keys_only drops values; count_only returns only the count', () =>
    withStore(async ({ store }) => {
      await seed(store);
      const ko = unwrap(await store.range({ key: b('a'), rangeEnd: b('b'), keysOnly: true }));
      assert.deepEqual(keysOf(ko.kvs), ['a', 'a\x00', 'ab', 'a\xff']);
      assert.ok(ko.kvs.every((kv) => kv.value.length === 0 && kv.version === 1n));
      const co = unwrap(await store.range({ key: b('a'), rangeEnd: b('b'), countOnly: true, limit: 1n }));
      assert.deepEqual(co.kvs, []);
      assert.equal(co.count, 4n);
      assert.equal(co.more, false);
    }));

  test('keys with long histories (beyond the scan\'s re-seek threshold) read right at every revision', () =>
    withStore(async ({ store }) => {
      // a, h, z interleaved; h gets 400 revisions, a and z one each at the start and the end.
      await store.put({ key: b('a'), value: b('a') }); // 2
      for (let i = 0; i < 400; i++) await store.put({ key: b('h'), value: b(`${i}`) }); // 3..402
      await store.put({ key: b('h\x00'), value: b('x') }); // 403
      await store.put({ key: b('z'), value: b('z') }); // 404
      for (let i = 0; i < 300; i++) await store.put({ key: b('h\x00'), value: b(`x${i}`) }); // 405..704
      await store.deleteRange({ key: b('h') }); // 705
      const at = async (revision: bigint): Promise<string[]> =>
        unwrap(await store.range({ key: b('a'), rangeEnd: ALL, revision })).kvs.map((kv) => `${str(kv.key)}=${str(kv.value)}@${kv.modRevision}`);
      assert.deepEqual(await at(2n), ['a=a@2']);
      assert.deepEqual(await at(3n), ['a=a@2', 'h=0@3']);
      assert.deepEqual(await at(200n), ['a=a@2', 'h=197@200']);
      assert.deepEqual(await at(403n), ['a=a@2', 'h=399@402', 'h\x00=x@403']);
      assert.deepEqual(await at(600n), ['a=a@2', 'h=399@402', 'h\x00=x195@600', 'z=z@404']);
      assert.deepEqual(await at(0n), ['a=a@2', 'h\x00=x299@704', 'z=z@404']);
      const counted = unwrap(await store.range({ key: b('a'), rangeEnd: ALL, limit: 1n, revision: 500n }));
      assert.equal(counted.count, 4n);
      assert.equal(counted.more, true);
    }));

  test('an empty key is rejected', () =>
    withStore(async ({ store }) => {
      assert.equal(errorKind(await store.range({ key: b('') })), 'empty-key');
      assert.equal(errorKind(await store.put({ key: b(''), value: b('x') })), 'empty-key');
      assert.equal(errorKind(await store.deleteRange({ key: b('') })), 'empty-key');
    }));
});

describe('Put', () => {
  test('prev_kv, ignore_value, ignore_lease, and the lease id is stored', () =>
    withStore(async ({ store }) => {
      const first = unwrap(await store.put({ key: b('k'), value: b('1'), lease: 7n, prevKv: true }));
      assert.equal(first.response.prevKv, undefined);
      const second = unwrap(await store.put({ key: b('k'), value: b('2'), prevKv: true, ignoreLease: true }));
      assert.equal(str(second.response.prevKv?.value ?? b('')), '1');
      assert.equal(second.response.prevKv?.lease, 7n);
      let kv = unwrap(await store.range({ key: b('k') })).kvs[0];
      assert.equal(kv?.lease, 7n);
      unwrap(await store.put({ key: b('k'), ignoreValue: true, lease: 9n }));
      kv = unwrap(await store.range({ key: b('k') })).kvs[0];
      assert.equal(str(kv?.value ?? b('')), '2');
      assert.equal(kv?.lease, 9n);
    }));

  test('errors: key not found, value is provided, lease is provided, lease not found', () =>
    withStore(
      async ({ store }) => {
        assert.equal(errorKind(await store.put({ key: b('nope'), ignoreValue: true })), 'key-not-found');
        assert.equal(errorKind(await store.put({ key: b('nope'), ignoreLease: true })), 'key-not-found');
        assert.equal(errorKind(await store.put({ key: b('k'), value: b('x'), ignoreValue: true })), 'value-provided');
        assert.equal(errorKind(await store.put({ key: b('k'), lease: 1n, ignoreLease: true })), 'lease-provided');
        assert.equal(errorKind(await store.put({ key: b('k'), lease: 666n })), 'lease-not-found');
        assert.equal(store.currentRevision, 1n);
      },
      { leaseExists: (id) => id !== 666n },
    ));
});

describe('DeleteRange', () => {
  test('deleted count, prev_kvs, one DELETE event per key (with prev_kv)', () =>
    withStore(async ({ store }) => {
      for (const k of ['a', 'b', 'c']) await store.put({ key: b(k), value: b(k) });
      await store.deleteRange({ key: b('b') });
      const d = unwrap(await store.deleteRange({ key: b('a'), rangeEnd: ALL, prevKv: true }));
      assert.equal(d.response.deleted, 2n);
      assert.deepEqual(keysOf(d.response.prevKvs), ['a', 'c']);
      assert.deepEqual(d.events.map((e) => [e.type, str(e.kv.key), e.kv.modRevision, str(e.prevKv?.value ?? b(''))]), [
        [EventType.DELETE, 'a', 6n, 'a'],
        [EventType.DELETE, 'c', 6n, 'c'],
      ]);
      assert.equal(unwrap(await store.range({ key: b('a'), rangeEnd: ALL })).count, 0n);
    }));
});

describe('Txn', () => {
  const cmp = (target: CompareTarget, result: CompareResult, key: string, v: Record<string, unknown>) =>
    ({ target, result, key: b(key), ...v }) as Compare;

  test('compare targets VERSION/CREATE/MOD/VALUE/LEASE with EQUAL/GREATER/LESS/NOT_EQUAL', () =>
    withStore(async ({ store }) => {
      await store.put({ key: b('k'), value: b('m'), lease: 5n }); // create=mod=2, version 1
      const yes = async (c: Compare): Promise<boolean> =>
        unwrap(await store.txn({ compare: [c] })).response.succeeded;
      assert.equal(await yes(cmp(CompareTarget.VERSION, CompareResult.EQUAL, 'k', { version: 1n })), true);
      assert.equal(await yes(cmp(CompareTarget.VERSION, CompareResult.GREATER, 'k', { version: 1n })), false);
      assert.equal(await yes(cmp(CompareTarget.CREATE, CompareResult.LESS, 'k', { createRevision: 3n })), true);
      assert.equal(await yes(cmp(CompareTarget.MOD, CompareResult.NOT_EQUAL, 'k', { modRevision: 2n })), false);
      assert.equal(await yes(cmp(CompareTarget.VALUE, CompareResult.GREATER, 'k', { value: b('a') })), true);
      assert.equal(await yes(cmp(CompareTarget.VALUE, CompareResult.LESS, 'k', { value: b('a') })), false);
      assert.equal(await yes(cmp(CompareTarget.LEASE, CompareResult.EQUAL, 'k', { lease: 5n })), true);
      // missing key: version = create = mod = lease = 0; VALUE always fails
      assert.equal(await yes(cmp(CompareTarget.MOD, CompareResult.EQUAL, 'missing', { modRevision: 0n })), true);
      assert.equal(await yes(cmp(CompareTarget.VERSION, CompareResult.EQUAL, 'missing', {})), true);
      assert.equal(await yes(cmp(CompareTarget.VALUE, CompareResult.EQUAL, 'missing', { value: b('') })), false);
      assert.equal(await yes(cmp(CompareTarget.VALUE, CompareResult.NOT_EQUAL, 'missing', { value: b('x') })), false);
    }));

  test('range_end on compares: every key in the range must match', () =>
    withStore(async ({ store }) => {
      await store.put({ key: b('p/a'), value: b('1') });
      await store.put({ key: b('p/b'), value: b('1') });
      const c = { ...cmp(CompareTarget.VERSION, CompareResult.EQUAL, 'p/', { version: 1n }), rangeEnd: b('p0') };
      assert.equal(unwrap(await store.txn({ compare: [c] })).response.succeeded, true);
      await store.put({ key: b('p/b'), value: b('2') });
      assert.equal(unwrap(await store.txn({ compare: [c] })).response.succeeded, false);
    }));

  test('reads later in a txn see its earlier writes; one revision; responses per op; nested header 0', () =>
    withStore(async ({ store }) => {
      await store.put({ key: b('a'), value: b('old') });
      const p = unwrap(
        await store.txn({
          success: [
            { requestPut: { key: b('a'), value: b('new'), prevKv: true } },
            { requestRange: { key: b('a') } },
            { requestTxn: { success: [{ requestDeleteRange: { key: b('b'), rangeEnd: ALL } }, { requestRange: { key: b('a'), rangeEnd: ALL, countOnly: true } }] } },
          ],
        }),
      );
      const [put, range, nested] = p.response.responses;
      assert.ok(put !== undefined && 'responsePut' in put && range !== undefined && 'responseRange' in range && nested !== undefined && 'responseTxn' in nested);
      assert.equal(str(put.responsePut.prevKv?.value ?? b('')), 'old');
      assert.equal(str(range.responseRange.kvs[0]?.value ?? b('')), 'new');
      assert.equal(range.responseRange.header.revision, 3n);
      assert.equal(nested.responseTxn.header.revision, 0n);
      assert.equal(nested.responseTxn.succeeded, true);
      const inner = nested.responseTxn.responses[1];
      assert.ok(inner !== undefined && 'responseRange' in inner);
      assert.equal(inner.responseRange.count, 1n);
      assert.equal(p.response.header.revision, 3n);
      assert.equal(store.currentRevision, 3n);
    }));

  test('a Range at the pre-txn revision inside a writing txn does not see the txn\'s writes', () =>
    withStore(async ({ store }) => {
      await store.put({ key: b('k'), value: b('old') }); // 2
      const p = unwrap(
        await store.txn({
          success: [
            { requestPut: { key: b('k'), value: b('new') } },
            { requestRange: { key: b('k'), revision: 2n } },
            { requestRange: { key: b('k'), rangeEnd: b('l'), revision: 2n } },
            { requestRange: { key: b('k') } },
          ],
        }),
      );
      const values = p.response.responses.slice(1).map((r) => ('responseRange' in r ? str(r.responseRange.kvs[0]?.value ?? b('')) : '?'));
      assert.deepEqual(values, ['old', 'old', 'new']);
    }));

  test('nested txn compares are evaluated before any write of the outer txn', () =>
    withStore(async ({ store }) => {
      const p = unwrap(
        await store.txn({
          success: [
            { requestPut: { key: b('k'), value: b('1') } },
            { requestTxn: { compare: [cmp(CompareTarget.VERSION, CompareResult.EQUAL, 'k', { version: 0n })], success: [{ requestPut: { key: b('seen-before'), value: b('') } }] } },
          ],
        }),
      );
      const nested = p.response.responses[1];
      assert.ok(nested !== undefined && 'responseTxn' in nested);
      assert.equal(nested.responseTxn.succeeded, true);
    }));

  test('at most maxTxnOps (128) ops per branch; nested txns share the budget', () =>
    withStore(async ({ store }) => {
      const puts = (n: number): RequestOp[] => Array.from({ length: n }, (_, i) => ({ requestPut: { key: b(`k${i}`), value: b('') } }));
      unwrap(await store.txn({ success: puts(128) }));
      assert.equal(errorKind(await store.txn({ success: puts(129) })), 'too-many-ops');
      assert.equal(errorKind(await store.txn({ failure: puts(129) })), 'too-many-ops');
      assert.equal(errorKind(await store.txn({ success: [...puts(100), { requestTxn: { success: puts(29) } }] })), 'too-many-ops');
      assert.equal(errorKind(await store.txn({ success: [{}] })), 'key-not-found');
    }));

  test('duplicate keys: put twice, or put inside a delete range, in one branch', () =>
    withStore(async ({ store }) => {
      const put = (k: string): RequestOp => ({ requestPut: { key: b(k), value: b('') } });
      assert.equal(errorKind(await store.txn({ success: [put('a'), put('a')] })), 'duplicate-key');
      assert.equal(errorKind(await store.txn({ success: [put('b'), { requestDeleteRange: { key: b('a'), rangeEnd: b('c') } }] })), 'duplicate-key');
      assert.equal(errorKind(await store.txn({ success: [put('a'), { requestTxn: { success: [put('a')] } }] })), 'duplicate-key');
      // then/else of one nested txn may put the same key; success and failure branches are separate
      unwrap(await store.txn({ success: [{ requestTxn: { success: [put('a')], failure: [put('a')] } }], failure: [put('a')] }));
      // deletes may overlap each other
      unwrap(await store.txn({ success: [{ requestDeleteRange: { key: b('a') } }, { requestDeleteRange: { key: b('a'), rangeEnd: b('z') } }] }));
    }));

  test('a failed pre-check (ignore_value on a missing key) fails the whole txn with nothing written', () =>
    withStore(async ({ store }) => {
      const res = await store.txn({ success: [{ requestPut: { key: b('x'), value: b('1') } }, { requestPut: { key: b('missing'), ignoreValue: true } }] });
      assert.equal(errorKind(res), 'key-not-found');
      assert.equal(store.currentRevision, 1n);
      assert.equal(errorKind(await store.txn({ success: [{ requestRange: { key: b('x'), revision: 9n } }] })), 'future-rev');
    }));
});

describe('Compact', () => {
  test('≤ previous compaction → compacted; > current → future-rev; history is removed physically', () =>
    withStore(async ({ store, engine }) => {
      for (let i = 0; i < 10; i++) await store.put({ key: b('k'), value: b(`${i}`) });
      await store.put({ key: b('gone'), value: b('x') });
      await store.deleteRange({ key: b('gone') }); // rev 13
      assert.equal(errorKind(await store.compact({ revision: 14n })), 'future-rev');
      const c = unwrap(await store.compact({ revision: 13n, physical: true }));
      assert.equal(c.response.header.revision, 13n);
      assert.equal(errorKind(await store.compact({ revision: 13n })), 'compacted');
      assert.equal(errorKind(await store.compact({ revision: 5n })), 'compacted');
      let n = 0;
      for await (const _ of engine.iterate({ gte: Uint8Array.of(0x10), lt: Uint8Array.of(0x12) })) n++;
      // kept: k@11 (index + record) and the tombstone of 'gone' at exactly 13 (index + record)
      assert.equal(n, 4);
      assert.equal(str(unwrap(await store.range({ key: b('k'), revision: 13n })).kvs[0]?.value ?? b('')), '9');
    }));
});

describe('events', () => {
  test('from a retained revision, in order, with prev_kv; compacted below the compaction revision', () =>
    withStore(async ({ store }) => {
      await store.put({ key: b('a'), value: b('1') }); // 2
      await store.put({ key: b('a'), value: b('2') }); // 3
      await store.deleteRange({ key: b('a') }); // 4
      const all = unwrap(await store.readEvents(2n, { prevKv: true }));
      assert.deepEqual(
        all.events.map((e) => [e.type, e.kv.modRevision, e.prevKv === undefined ? null : str(e.prevKv.value)]),
        [
          [EventType.PUT, 2n, null],
          [EventType.PUT, 3n, '1'],
          [EventType.DELETE, 4n, '2'],
        ],
      );
      assert.equal(all.nextRevision, 5n);
      const chunked: bigint[] = [];
      for await (const c of store.events(2n, { maxEvents: 1 })) chunked.push(...unwrap(c).events.map((e) => e.kv.modRevision));
      assert.deepEqual(chunked, [2n, 3n, 4n]);
      await store.compact({ revision: 3n });
      assert.equal(errorKind(await store.readEvents(2n)), 'compacted');
      assert.equal(unwrap(await store.readEvents(3n)).events.length, 2);
    }));
});

describe('two-phase apply', () => {
  test('prepare computes without writing; commit writes the ops and extra ops in one batch', () =>
    withStore(async ({ store, engine }) => {
      const applied = Uint8Array.of(0x20, 0x41);
      const p = unwrap(await store.preparePut({ key: b('k'), value: b('v') }));
      assert.equal(unwrap(await store.range({ key: b('k') })).count, 0n);
      assert.equal(store.currentRevision, 1n);
      await store.commit(p, { extraOps: [{ type: 'put', key: applied, value: b('7') }], sync: true });
      assert.equal(store.currentRevision, 2n);
      assert.equal(str((await engine.get(applied)) ?? b('')), '7');
      const q = unwrap(await store.preparePut({ key: b('k'), value: b('w') }));
      store.abort(q);
      const r = unwrap(await store.prepareTxn({ success: [{ requestPut: { key: b('k'), value: b('z') } }] }));
      await engine.write([...r.ops, { type: 'put', key: applied, value: b('8') }]);
      store.markCommitted(r);
      assert.equal(str(unwrap(await store.range({ key: b('k') })).kvs[0]?.value ?? b('')), 'z');
      assert.equal(store.currentRevision, 3n);
    }));

  test('chained prepares see the pending writes; one batch commits them in order; reads see none before', () =>
    withStore(async ({ store, engine }) => {
      await store.put({ key: b('a'), value: b('0') });
      const p1 = unwrap(await store.preparePut({ key: b('a'), value: b('1') }));
      const p2 = unwrap(
        await store.prepareTxn({
          compare: [{ key: b('a'), target: CompareTarget.VALUE, result: CompareResult.EQUAL, value: b('1') }],
          success: [{ requestPut: { key: b('a'), value: b('2'), prevKv: true } }, { requestPut: { key: b('n'), value: b('x') } }],
        }),
      );
      assert.equal(p2.response.succeeded, true);
      assert.equal(p2.revision, 4n);
      assert.equal(store.headRevision, 4n);
      assert.equal(store.pendingWrites, 2);
      assert.equal(str(p2.events[0]?.prevKv?.value ?? b('')), '1');
      assert.equal(p2.events[0]?.kv.version, 3n);
      const p3 = unwrap(await store.prepareDeleteRange({ key: b('n'), prevKv: true }));
      assert.equal(p3.response.deleted, 1n);
      assert.equal(str(p3.response.prevKvs[0]?.value ?? b('')), 'x');
      // Reads see only committed state.
      assert.equal(str(unwrap(await store.range({ key: b('a') })).kvs[0]?.value ?? b('')), '0');
      assert.equal(store.currentRevision, 2n);
      // Needing pending history below the head conflicts (nothing prepared).
      await assert.rejects(store.prepareTxn({ success: [{ requestRange: { key: b('a'), revision: 3n } }] }), ChainConflict);
      await assert.rejects(store.prepareDeleteRange({ key: b('a'), rangeEnd: b('z') }), ChainConflict);
      await assert.rejects(store.prepareCompact({ revision: 2n }), ChainConflict);
      assert.throws(() => store.markCommitted(p2), /oldest/);
      await engine.write([...p1.ops, ...p2.ops, ...p3.ops]);
      for (const p of [p1, p2, p3]) store.markCommitted(p);
      assert.equal(store.currentRevision, 5n);
      assert.equal(store.pendingWrites, 0);
      assert.equal(str(unwrap(await store.range({ key: b('a') })).kvs[0]?.value ?? b('')), '2');
      assert.equal(unwrap(await store.range({ key: b('n') })).count, 0n);
      assert.equal(unwrap(await store.range({ key: b('a'), revision: 3n })).kvs[0]?.version, 2n);
    }));
});

describe('paginated count', () => {
  test('count of each page equals a full count, at the current and at older revisions, from any start', () =>
    withStore(async ({ store }) => {
      for (let i = 0; i < 60; i++) await store.put({ key: b(`k${String(i).padStart(2, '0')}`), value: b(`${i}`) });
      const mid = store.currentRevision;
      for (let i = 0; i < 60; i += 4) await store.deleteRange({ key: b(`k${String(i).padStart(2, '0')}`) });
      for (let i = 60; i < 70; i++) await store.put({ key: b(`k${i}`), value: b(`${i}`) });
      for (const revision of [0n, mid, mid - 20n]) {
        for (const limit of [1n, 7n, 500n]) {
          let key = b('k');
          for (let page = 0; page < 100; page++) {
            const r = unwrap(await store.range({ key, rangeEnd: b('l'), limit, revision }));
            const full = unwrap(await store.range({ key, rangeEnd: b('l'), countOnly: true, revision }));
            assert.equal(r.count, full.count, `page ${page} limit ${limit} rev ${revision}`);
            // Also a start inside the previous page (a client re-reading) and one past it.
            const skip = unwrap(await store.range({ key: b(`${str(key)}5`), rangeEnd: b('l'), limit, revision }));
            assert.equal(skip.count, unwrap(await store.range({ key: b(`${str(key)}5`), rangeEnd: b('l'), countOnly: true, revision })).count);
            if (!r.more) break;
            const last = r.kvs[r.kvs.length - 1];
            assert.ok(last !== undefined);
            key = b(`${str(last.key)}\x00`);
          }
        }
      }
    }));
});

describe('hash', () => {
  test('HashKV is identical for the same history whether compacted in one step or two', async () => {
    const hashes: number[] = [];
    for (const steps of [[6n], [3n, 6n]]) {
      await withStore(async ({ store }) => {
        for (let i = 0; i < 8; i++) await store.put({ key: b(`k${i % 3}`), value: b(`${i}`) });
        await store.deleteRange({ key: b('k1') });
        for (const s of steps) unwrap(await store.compact({ revision: s }));
        const h = unwrap(await store.hashKV(0n));
        assert.equal(h.hashRevision, 10n);
        assert.equal(h.compactRevision, 6n);
        hashes.push(h.hash);
        assert.equal(errorKind(await store.hashKV(11n)), 'future-rev');
        assert.equal(errorKind(await store.hashKV(5n)), 'compacted');
      });
    }
    assert.equal(hashes[0], hashes[1]);
  });

  test('db size is reported', () =>
    withStore(async ({ store }) => {
      for (let i = 0; i < 100; i++) await store.put({ key: b(`k${i}`), value: new Uint8Array(1000) });
      const s = store.size();
      assert.ok(s.dbSize > 0n && s.dbSizeInUse > 0n, `${s.dbSize} ${s.dbSizeInUse}`);
    }));
});
