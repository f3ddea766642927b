import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Engine, Keyspace, STATE_KEYSPACES_START, keyIn, put, type KeyValue } from '../../../pkg/storage/engine/index.js';
import { readArchive, verifyArchive, writeArchive, decodeMeta, encodeMeta, type ArchiveMeta } from '../../../pkg/server/snapshot/archive.js';
import { INSTALL_MARKER_KEY, installArchive, readMarker, redoPendingInstall, encodeMarker, decodeMarker } from '../../../pkg/server/snapshot/install.js';
import { loadAppliedIndex } from '../../../pkg/server/apply/applied-index.js';

const root = mkdtempSync(join(tmpdir(), 'snapshot-archive-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const dir = (): string => join(root, String(n++));

const META: ArchiveMeta = {
  index: 1234,
  term: 7,
  confState: { voters: [1n, 0xffffffffffffffffn], learners: [3n], votersOutgoing: [], learnersNext: [4n], autoLeave: true },
};

const STATE_RANGE = { gte: Uint8Array.of(STATE_KEYSPACES_START), lt: Uint8Array.of(0xff) };

async function dump(engine: Engine, range: { gte: Uint8Array; lt: Uint8Array } = STATE_RANGE): Promise<string[]> {
  const out: string[] = [];
  for await (const kv of engine.iterate(range)) out.push(`${Buffer.from(kv.key).toString('hex')}=${Buffer.from(kv.value).toString('hex')}`);
  return out;
}

/** Random state records in several keyspaces, including big values and 0x00/0xff bytes in keys. */
function randomState(count: number, seed: number): KeyValue[] {
  const spaces = [Keyspace.MvccRevision, Keyspace.MvccKeyIndex, Keyspace.Meta, Keyspace.Membership, Keyspace.Lease];
  const out: KeyValue[] = [];
  for (let i = 0; i < count; i++) {
    const ks = spaces[(i + seed) % spaces.length] as Keyspace;
    const key = keyIn(ks, Buffer.concat([Buffer.from(`${seed}-${i}-`), randomBytes(i % 7)]));
    const value = i % 97 === 0 ? randomBytes(300_000) : randomBytes(i % 50);
    out.push({ key, value });
  }
  return out;
}

async function writeFile(path: string, engine: Engine, meta: ArchiveMeta): Promise<number> {
  const chunks: Uint8Array[] = [];
  const cursor = engine.cursor({ ...STATE_RANGE, fillCache: false });
  for await (const piece of writeArchive(cursor, meta, 64 * 1024)) chunks.push(piece);
  const buf = Buffer.concat(chunks);
  writeFileSync(path, buf);
  return chunks.length;
}

describe('raft snapshot archive', () => {
  it('metadata round-trips (64-bit ids, autoLeave)', () => {
    assert.deepEqual(decodeMeta(encodeMeta(META)), META);
    assert.throws(() => decodeMeta(encodeMeta(META).subarray(0, 20)), /truncated/);
  });

  it('round-trips every state record from one cursor, in bounded pieces, and skips other keyspaces', async () => {
    const engine = await Engine.open(dir());
    const records = randomState(2000, 1);
    await engine.write(records.map((r) => put(r.key, r.value)));
    await engine.write([put(keyIn(Keyspace.Local, Buffer.from('member-id')), Buffer.from('me')), put(Uint8Array.of(Keyspace.RaftLog, 1), Buffer.from('log'))]);
    const path = join(root, `rt-${n}.snap`);
    const pieces = await writeFile(path, engine, META);
    assert.ok(pieces > 3, `streamed in pieces (${pieces})`);
    const got: string[] = [];
    const meta = await readArchive(path, async (batch) => {
      assert.ok(batch.length <= 1000);
      for (const kv of batch) got.push(`${Buffer.from(kv.key).toString('hex')}=${Buffer.from(kv.value).toString('hex')}`);
    });
    assert.deepEqual(meta, META);
    assert.deepEqual(got, await dump(engine));
    assert.equal(got.length, 2000);
    await engine.close();
  });

  it('refuses a flipped byte, a truncated file and trailing garbage', async () => {
    const engine = await Engine.open(dir());
    await engine.write(randomState(100, 2).map((r) => put(r.key, r.value)));
    const path = join(root, `bad-${n}.snap`);
    await writeFile(path, engine, META);
    const good = readFileSync(path);
    assert.deepEqual(await verifyArchive(path), META);
    const flipped = Buffer.from(good);
    flipped[flipped.length >> 1] = (flipped[flipped.length >> 1] ?? 0) ^ 1;
    writeFileSync(path, flipped);
    await assert.rejects(verifyArchive(path), /sha256 mismatch/);
    writeFileSync(path, good.subarray(0, good.length - 100));
    await assert.rejects(verifyArchive(path), /sha256 mismatch|too short/);
    writeFileSync(path, Buffer.concat([good, Buffer.alloc(3)]));
    await assert.rejects(verifyArchive(path), /snapshot archive/);
    await engine.close();
  });
});

describe('raft snapshot install (redo marker)', () => {
  it('marker encoding round-trips and refuses paths', () => {
    assert.deepEqual(decodeMarker(encodeMarker({ file: 'install-5-ab.snap', index: 5 })), { file: 'install-5-ab.snap', index: 5 });
    assert.throws(() => decodeMarker(encodeMarker({ file: '../x.snap', index: 5 })), /path/);
  });

  it('replaces the state keyspaces, sets the applied index, keeps member-local keys, removes marker and file', async () => {
    const src = await Engine.open(dir());
    await src.write(randomState(1500, 3).map((r) => put(r.key, r.value)));
    const snapDir = mkdtempSync(join(root, 'snap-'));
    await writeFile(join(snapDir, 'in.snap'), src, META);

    const dst = await Engine.open(dir());
    const local = keyIn(Keyspace.Local, Buffer.from('member-id'));
    await dst.write([...randomState(700, 4).map((r) => put(r.key, r.value)), put(local, Buffer.from('me'))]);
    await installArchive(dst, snapDir, 'in.snap');
    const want = await dump(src);
    const got = (await dump(dst)).filter((l) => !l.startsWith(Buffer.from(keyIn(Keyspace.Meta, Buffer.from('applied-index'))).toString('hex')));
    assert.deepEqual(got, want);
    assert.deepEqual(await loadAppliedIndex(dst), { index: META.index, term: META.term });
    assert.equal(await readMarker(dst), undefined);
    assert.deepEqual(await dst.get(local), Buffer.from('me'));
    assert.throws(() => readFileSync(join(snapDir, 'in.snap')), /ENOENT/);
    await src.close();
    await dst.close();
  });

  it('an install interrupted after the marker (state half replaced) is redone on the next open', async () => {
    const src = await Engine.open(dir());
    await src.write(randomState(3000, 5).map((r) => put(r.key, r.value)));
    const snapDir = mkdtempSync(join(root, 'snap-'));
    await writeFile(join(snapDir, 'in.snap'), src, META);
    const dstDir = dir();
    let dst = await Engine.open(dstDir);
    await dst.write(randomState(500, 6).map((r) => put(r.key, r.value)));
    const before = await dump(dst);
    // Interrupt after the first batch of records: old state cleared, new state partial.
    await assert.rejects(
      installArchive(dst, snapDir, 'in.snap', {
        onBatch: () => {
          throw new Error('crash');
        },
      }),
      /crash/,
    );
    const mixed = await dump(dst);
    assert.notDeepEqual(mixed, before);
    assert.notEqual(mixed.length, 0);
    assert.ok((await readMarker(dst)) !== undefined, 'marker survives');
    writeFileSync(join(snapDir, 'stray.snap'), 'leftover of an upload never installed');
    await dst.close();
    dst = await Engine.open(dstDir);
    const redone = await redoPendingInstall(dst, snapDir);
    assert.deepEqual(redone, { file: 'in.snap', index: META.index });
    const got = (await dump(dst)).filter((l) => !l.startsWith(Buffer.from(keyIn(Keyspace.Meta, Buffer.from('applied-index'))).toString('hex')));
    assert.deepEqual(got, await dump(src));
    assert.deepEqual(await loadAppliedIndex(dst), { index: META.index, term: META.term });
    assert.equal(await readMarker(dst), undefined);
    assert.throws(() => readFileSync(join(snapDir, 'stray.snap')), /ENOENT/);
    assert.equal(await redoPendingInstall(dst, snapDir), undefined, 'nothing left to redo');
    await src.close();
    await dst.close();
  });

  it('a corrupt archive is refused before the marker: the old state stays', async () => {
    const dst = await Engine.open(dir());
    await dst.write(randomState(200, 7).map((r) => put(r.key, r.value)));
    const before = await dump(dst);
    const snapDir = mkdtempSync(join(root, 'snap-'));
    writeFileSync(join(snapDir, 'bad.snap'), randomBytes(5000));
    await assert.rejects(installArchive(dst, snapDir, 'bad.snap'), /snapshot archive/);
    assert.deepEqual(await dump(dst), before);
    assert.equal(await dst.get(INSTALL_MARKER_KEY), undefined);
    await dst.close();
  });
});
