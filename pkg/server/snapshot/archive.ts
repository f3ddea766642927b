/**
 * The raft state-snapshot archive: what a leader streams to a follower that fell behind its
 * compacted log. It is the state keyspaces (every key ≥ STATE_KEYSPACES_START) read from ONE engine
 * cursor (one RocksDB snapshot), preceded by the raft metadata of exactly that state: the applied
 * index, its term and the ConfState at that index. The receiver installs the records and hands raft
 * a snap message carrying THIS metadata (see docs/snapshots.md for why the archive, not the raft
 * message, names the index).
 *
 * Layout (integers big-endian):
 *   "BERTHRS1"                                      8-byte magic
 *   u32 metaLen, meta                               index u64 ‖ term u64 ‖ 4 × (count u32 ‖ ids u64…)
 *                                                   ‖ autoLeave u8 (voters, learners, votersOutgoing, learnersNext)
 *   { u32 keyLen (≥ 1), key, u32 valueLen, value }* records in key order
 *   u32 0xffffffff                                  end marker
 *   sha256 of everything above                      32 bytes
 *
 * Both directions stream with bounded memory: the writer holds about one output chunk, the reader
 * about one read chunk plus one record.
 */
import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import type { ConfState } from '../../raft/index.js';
import type { Cursor, KeyValue } from '../../storage/engine/index.js';

export const ARCHIVE_MAGIC = Buffer.from('BERTHRS1');
const END = 0xffffffff;
const SHA256_BYTES = 32;

export interface ArchiveMeta {
  readonly index: number;
  readonly term: number;
  readonly confState: ConfState;
}

export function encodeMeta(m: ArchiveMeta): Buffer {
  const cs = m.confState;
  const lists = [cs.voters, cs.learners, cs.votersOutgoing, cs.learnersNext];
  const b = Buffer.alloc(16 + lists.reduce((n, l) => n + 4 + 8 * l.length, 0) + 1);
  let at = 0;
  b.writeBigUInt64BE(BigInt(m.index), at);
  b.writeBigUInt64BE(BigInt(m.term), (at += 8));
  at += 8;
  for (const l of lists) {
    b.writeUInt32BE(l.length, at);
    at += 4;
    for (const id of l) {
      b.writeBigUInt64BE(id, at);
      at += 8;
    }
  }
  b[at] = cs.autoLeave ? 1 : 0;
  return b;
}

export function decodeMeta(b: Buffer): ArchiveMeta {
  let at = 0;
  const need = (n: number): void => {
    if (at + n > b.length) throw new ArchiveError('truncated metadata');
  };
  const u64 = (): number => {
    need(8);
    const v = b.readBigUInt64BE(at);
    at += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ArchiveError('index or term out of range');
    return Number(v);
  };
  const ids = (): bigint[] => {
    need(4);
    const n = b.readUInt32BE(at);
    at += 4;
    need(8 * n);
    const out: bigint[] = [];
    for (let i = 0; i < n; i++, at += 8) out.push(b.readBigUInt64BE(at));
    return out;
  };
  const index = u64();
  const term = u64();
  const voters = ids();
  const learners = ids();
  const votersOutgoing = ids();
  const learnersNext = ids();
  need(1);
  const autoLeave = b[at] === 1;
  if (at + 1 !== b.length) throw new ArchiveError('trailing bytes after metadata');
  return { index, term, confState: { voters, learners, votersOutgoing, learnersNext, autoLeave } };
}

export class ArchiveError extends Error {
  constructor(message: string) {
    super(`snapshot archive: ${message}`);
    this.name = 'ArchiveError';
  }
}

/**
 * Streams the archive of `meta` + every entry `cursor` yields (the caller positioned it over the
 * state keyspaces and took it at the moment `meta` describes). Yields pieces of about `chunkBytes`;
 * closes the cursor when done or abandoned.
 */
export async function* writeArchive(cursor: Cursor, meta: ArchiveMeta, chunkBytes = 256 * 1024): AsyncGenerator<Uint8Array, void, undefined> {
  const hash = createHash('sha256');
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const push = (b: Buffer): void => {
    pending.push(b);
    pendingBytes += b.length;
  };
  const flush = (): Buffer => {
    const out = Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    hash.update(out);
    return out;
  };
  try {
    const m = encodeMeta(meta);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(m.length);
    push(ARCHIVE_MAGIC);
    push(len);
    push(m);
    for (let chunk = await cursor.next(); chunk.length > 0; chunk = await cursor.next()) {
      for (const kv of chunk) {
        push(lengthPrefix(kv.key));
        push(asBuffer(kv.key));
        push(lengthPrefix(kv.value));
        push(asBuffer(kv.value));
      }
      if (pendingBytes >= chunkBytes) yield flush();
    }
    const end = Buffer.alloc(4);
    end.writeUInt32BE(END);
    push(end);
    const last = flush();
    yield Buffer.concat([last, hash.digest()]);
  } finally {
    await cursor.close();
  }
}

function lengthPrefix(b: Uint8Array): Buffer {
  const l = Buffer.alloc(4);
  l.writeUInt32BE(b.byteLength);
  return l;
}

function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/** Checks an archive file's sha256 trailer and structure; returns its metadata. Bounded memory. */
export async function verifyArchive(path: string): Promise<ArchiveMeta> {
  return readArchive(path, undefined);
}

/**
 * Reads an archive file: verifies the sha256 trailer first (one pass), then parses it, handing records
 * to `onRecords` in batches of about `batchBytes` (each awaited). Returns the metadata. Rejects with
 * ArchiveError on any corruption, before any record is handed out.
 */
export async function readArchive(
  path: string,
  onRecords: ((records: KeyValue[]) => Promise<void>) | undefined,
  batchBytes = 1 << 20,
): Promise<ArchiveMeta> {
  const size = (await stat(path)).size;
  if (size < ARCHIVE_MAGIC.length + 4 + 4 + SHA256_BYTES) throw new ArchiveError('file too short');
  const bodyBytes = size - SHA256_BYTES;
  const fh = await open(path, 'r');
  try {
    // Pass 1: checksum.
    const hash = createHash('sha256');
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let at = 0; at < bodyBytes; ) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, bodyBytes - at), at);
      if (bytesRead === 0) throw new ArchiveError('file shrank while reading');
      hash.update(buf.subarray(0, bytesRead));
      at += bytesRead;
    }
    const trailer = Buffer.alloc(SHA256_BYTES);
    await fh.read(trailer, 0, SHA256_BYTES, bodyBytes);
    if (!hash.digest().equals(trailer)) throw new ArchiveError('sha256 mismatch');

    // Pass 2: structure (and records). The whole structure is checked when onRecords is undefined;
    // otherwise it was checked by a verify pass before (the caller's choice) or fails midway.
    let pos = 0;
    let window = Buffer.alloc(0);
    const fill = async (n: number): Promise<Buffer> => {
      while (window.length < n) {
        if (pos >= bodyBytes) throw new ArchiveError('truncated');
        const want = Math.max(n - window.length, 256 * 1024);
        const chunk = Buffer.allocUnsafe(Math.min(want, bodyBytes - pos));
        const { bytesRead } = await fh.read(chunk, 0, chunk.length, pos);
        if (bytesRead === 0) throw new ArchiveError('truncated');
        pos += bytesRead;
        window = window.length === 0 ? chunk.subarray(0, bytesRead) : Buffer.concat([window, chunk.subarray(0, bytesRead)]);
      }
      const out = window.subarray(0, n);
      window = window.subarray(n);
      return out;
    };
    if (!(await fill(ARCHIVE_MAGIC.length)).equals(ARCHIVE_MAGIC)) throw new ArchiveError('bad magic');
    const metaLen = (await fill(4)).readUInt32BE(0);
    if (metaLen > 64 << 20) throw new ArchiveError('metadata too large');
    const meta = decodeMeta(Buffer.from(await fill(metaLen)));
    let batch: KeyValue[] = [];
    let bytes = 0;
    for (;;) {
      const klen = (await fill(4)).readUInt32BE(0);
      if (klen === END) break;
      if (klen === 0) throw new ArchiveError('empty key');
      const key = Buffer.from(await fill(klen));
      const vlen = (await fill(4)).readUInt32BE(0);
      const value = Buffer.from(await fill(vlen));
      if (onRecords !== undefined) {
        batch.push({ key, value });
        bytes += klen + vlen + 16;
        if (bytes >= batchBytes || batch.length >= 1000) {
          await onRecords(batch);
          batch = [];
          bytes = 0;
        }
      }
    }
    if (window.length !== 0 || pos !== bodyBytes) throw new ArchiveError('bytes after the end marker');
    if (onRecords !== undefined && batch.length > 0) await onRecords(batch);
    return meta;
  } finally {
    await fh.close();
  }
}
