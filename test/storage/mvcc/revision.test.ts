/**
 * Revision and record encodings: revisions against a DataView reference, around every boundary of the Number fast path
 * (2^32, 2^53) up to int64's maximum, and their byte order (ascending / descending revision order).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readDescRevision, readRevision, writeDescRevision, writeRevision, type Revision } from '../../../pkg/storage/mvcc/revision.js';
import { decodeEventRecord, decodeHeadRecord, decodeIndexRecord, encodeEventRecord, encodeHeadRecord, encodeIndexRecord, eventRecordValue, type IndexEntry } from '../../../pkg/storage/mvcc/record.js';

const U64_MAX = 0xffff_ffff_ffff_ffffn;
const EDGES = [0n, 1n, 255n, 256n, 0xffff_ffffn, 0x1_0000_0000n, 0x1_0000_0001n, 2n ** 52n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 62n, 2n ** 63n - 1n];

function reference(rev: Revision, desc: boolean): Uint8Array {
  const out = new Uint8Array(16);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, desc ? U64_MAX ^ rev.main : rev.main);
  dv.setBigUint64(8, desc ? U64_MAX ^ rev.sub : rev.sub);
  return out;
}

describe('revision encoding', () => {
  const revs: Revision[] = [];
  for (const main of EDGES) for (const sub of [0n, 1n, 0xffff_ffffn, 2n ** 53n, 2n ** 63n - 1n]) revs.push({ main, sub });

  it('writes the same bytes as a big-endian DataView and reads them back, at any offset', () => {
    for (const rev of revs) {
      for (const desc of [false, true]) {
        const buf = new Uint8Array(21).fill(0xaa);
        (desc ? writeDescRevision : writeRevision)(buf, 3, rev);
        assert.deepEqual(buf.subarray(3, 19), reference(rev, desc), `${String(rev.main)}/${String(rev.sub)} desc=${String(desc)}`);
        assert.deepEqual([buf[2], buf[19]], [0xaa, 0xaa], 'nothing outside the 16 bytes is written');
        assert.deepEqual((desc ? readDescRevision : readRevision)(buf, 3), rev);
      }
    }
  });

  it('sorts bytes in revision order (ascending) and in reverse (descending)', () => {
    const sorted = [...revs].sort((a, b) => (a.main !== b.main ? (a.main < b.main ? -1 : 1) : a.sub < b.sub ? -1 : a.sub > b.sub ? 1 : 0));
    const enc = (desc: boolean) => (r: Revision): Buffer => {
      const b = Buffer.alloc(16);
      (desc ? writeDescRevision : writeRevision)(b, 0, r);
      return b;
    };
    const asc = sorted.map(enc(false));
    const des = sorted.map(enc(true));
    for (let i = 1; i < sorted.length; i++) {
      assert.ok(Buffer.compare(asc[i - 1] as Buffer, asc[i] as Buffer) < 0);
      assert.ok(Buffer.compare(des[i - 1] as Buffer, des[i] as Buffer) > 0);
    }
  });
});

describe('record encodings', () => {
  const big = 2n ** 63n - 1n;
  const cases: IndexEntry[] = [
    { key: Uint8Array.of(1, 2, 3), rev: { main: 5n, sub: 0n }, tombstone: false, createRevision: 2n, version: 3n, lease: 0x694d71ddbdd3f01an },
    { key: new Uint8Array(0x10000).fill(7), rev: { main: big, sub: big }, tombstone: false, createRevision: big, version: 2n ** 53n + 1n, lease: -1n },
    { key: Uint8Array.of(0), rev: { main: 2n ** 32n, sub: 7n }, tombstone: false, createRevision: 2n ** 32n, version: 1n, lease: -(2n ** 63n) },
  ];

  it('round-trips index, head and event records (leases are int64: negative ones too)', () => {
    for (const e of cases) {
      assert.deepEqual(decodeIndexRecord(e.key, e.rev, encodeIndexRecord(e)), e);
      assert.deepEqual(decodeHeadRecord(e.key, encodeHeadRecord(e)), e);
      const value = Uint8Array.of(9, 8, 7);
      const rec = decodeEventRecord(e.rev, encodeEventRecord(e, value));
      assert.deepEqual(rec.kv, { key: e.key, createRevision: e.createRevision, modRevision: e.rev.main, version: e.version, value, lease: e.lease });
      assert.deepEqual(eventRecordValue(encodeEventRecord(e, value)), value);
    }
    const tomb: IndexEntry = { key: Uint8Array.of(4), rev: { main: 9n, sub: 1n }, tombstone: true, createRevision: 0n, version: 0n, lease: 0n };
    assert.deepEqual(decodeIndexRecord(tomb.key, tomb.rev, encodeIndexRecord(tomb)), tomb);
    const rec = decodeEventRecord(tomb.rev, encodeEventRecord(tomb, new Uint8Array(0)));
    assert.equal(rec.tombstone, true);
    assert.deepEqual(rec.kv.key, tomb.key);
  });
});
