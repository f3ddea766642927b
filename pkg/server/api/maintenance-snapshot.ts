/**
 * The archive Maintenance.Snapshot streams: every key of the state keyspaces (≥ STATE_KEYSPACES_START),
 * read from ONE RocksDB snapshot, so the archive is a consistent cut at an applied index (each applied
 * entry is one atomic engine batch, applied index included).
 *
 * Layout (all integers big-endian):
 *   "BERTHSN1"                                  8-byte magic
 *   { u32 keyLen, key, u32 valueLen, value }*   records in key order
 *   u32 0xffffffff                              end marker
 *   zero padding                                up to a multiple of 512 bytes
 *   sha256 of everything above                  32 bytes
 * The padding + trailer shape is what etcdctl checks: it accepts a stream only when
 * `size % 512 == 32` and the last 32 bytes are the sha256 of the rest ("sha256 checksum not found").
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { STATE_KEYSPACES_START, type Engine } from '../../storage/engine/index.js';

export const SNAPSHOT_MAGIC = Buffer.from('BERTHSN1');
const END = 0xffffffff;
const SHA256_BYTES = 32;

/** Bytes of the archive body (magic + records + end marker + padding), before the trailer. */
function paddedBodyBytes(recordBytes: number): number {
  const raw = SNAPSHOT_MAGIC.length + recordBytes + 4;
  return Math.ceil(raw / 512) * 512;
}

export interface SnapshotChunk {
  readonly blob: Uint8Array;
  /** Bytes still to come after this chunk. */
  readonly remaining: number;
}

/**
 * Yields the archive in chunks of exactly `chunkBytes` (the last two shorter: the tail, then the trailer), with the total known from the first chunk
 * (two passes over the same RocksDB snapshot: one to size, one to copy). Rejects if the engine
 * closes mid-way; breaking out releases the snapshot.
 */
export async function* snapshotArchive(engine: Engine, chunkBytes = 32 * 1024): AsyncGenerator<SnapshotChunk, void, undefined> {
  const start = Uint8Array.of(STATE_KEYSPACES_START);
  const cursor = engine.cursor({ gte: start, fillCache: false, chunkBytes: 256 * 1024 });
  try {
    let recordBytes = 0;
    for (let chunk = await cursor.next(); chunk.length > 0; chunk = await cursor.next()) {
      for (const kv of chunk) recordBytes += 8 + kv.key.byteLength + kv.value.byteLength;
    }
    const body = paddedBodyBytes(recordBytes);
    let remaining = body + SHA256_BYTES;
    const hash = createHash('sha256');
    let pending: Buffer[] = [SNAPSHOT_MAGIC];
    let pendingBytes = SNAPSHOT_MAGIC.length;
    const push = (b: Buffer): void => {
      pending.push(b);
      pendingBytes += b.length;
    };
    // Cuts the pending bytes into chunks of exactly chunkBytes (all of them when `all`).
    const cut = function* (all: boolean): Generator<SnapshotChunk> {
      if (pendingBytes < chunkBytes && !all) return;
      const joined = Buffer.concat(pending, pendingBytes);
      let at = 0;
      while (joined.length - at >= chunkBytes || (all && at < joined.length)) {
        const blob = joined.subarray(at, Math.min(at + chunkBytes, joined.length));
        at += blob.length;
        hash.update(blob);
        remaining -= blob.length;
        yield { blob, remaining };
      }
      pending = at < joined.length ? [joined.subarray(at)] : [];
      pendingBytes = joined.length - at;
    };
    cursor.seek(start);
    let written = 0;
    for (let chunk = await cursor.next(); chunk.length > 0; chunk = await cursor.next()) {
      for (const kv of chunk) {
        const len = Buffer.alloc(4);
        len.writeUInt32BE(kv.key.byteLength);
        push(len);
        push(Buffer.from(kv.key.buffer, kv.key.byteOffset, kv.key.byteLength));
        const vlen = Buffer.alloc(4);
        vlen.writeUInt32BE(kv.value.byteLength);
        push(vlen);
        push(Buffer.from(kv.value.buffer, kv.value.byteOffset, kv.value.byteLength));
        written += 8 + kv.key.byteLength + kv.value.byteLength;
        yield* cut(false);
      }
    }
    // The cursor reads one snapshot, so both passes must agree; anything else is an engine bug.
    if (written !== recordBytes) throw new Error(`snapshot: record bytes changed between passes (${recordBytes} → ${written})`);
    const end = Buffer.alloc(4);
    end.writeUInt32BE(END);
    push(end);
    push(Buffer.alloc(body - (SNAPSHOT_MAGIC.length + recordBytes + 4)));
    yield* cut(true);
    const digest = hash.digest();
    remaining -= digest.length;
    yield { blob: digest, remaining };
  } finally {
    await cursor.close();
  }
}

/**
 * Checks an archive's shape and trailer; returns its records, or a reason. For tests and a future
 * `snapshot restore`.
 */
export function readSnapshotArchive(
  data: Uint8Array,
): { ok: true; records: { key: Uint8Array; value: Uint8Array }[] } | { ok: false; reason: string } {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (b.length % 512 !== SHA256_BYTES) return { ok: false, reason: 'sha256 checksum not found' };
  const body = b.subarray(0, b.length - SHA256_BYTES);
  if (!createHash('sha256').update(body).digest().equals(b.subarray(b.length - SHA256_BYTES))) {
    return { ok: false, reason: 'sha256 mismatch' };
  }
  if (!body.subarray(0, SNAPSHOT_MAGIC.length).equals(SNAPSHOT_MAGIC)) return { ok: false, reason: 'bad magic' };
  const records: { key: Uint8Array; value: Uint8Array }[] = [];
  let at = SNAPSHOT_MAGIC.length;
  for (;;) {
    if (at + 4 > body.length) return { ok: false, reason: 'truncated' };
    const klen = body.readUInt32BE(at);
    at += 4;
    if (klen === END) return { ok: true, records };
    if (at + klen + 4 > body.length) return { ok: false, reason: 'truncated' };
    const key = body.subarray(at, at + klen);
    at += klen;
    const vlen = body.readUInt32BE(at);
    at += 4;
    if (at + vlen > body.length) return { ok: false, reason: 'truncated' };
    records.push({ key, value: body.subarray(at, at + vlen) });
    at += vlen;
  }
}

export interface SnapshotFileOptions {
  /** Do not compare the sha256 trailer (a file without one is then read as body only). */
  readonly skipHashCheck?: boolean;
  /** Receives the records in key order, in batches of about `batchBytes` (each awaited). */
  readonly onRecords?: (records: { key: Uint8Array; value: Uint8Array }[]) => Promise<void>;
  readonly batchBytes?: number;
}

export interface SnapshotFileSummary {
  /** Records in the archive. */
  readonly records: number;
  /** File size in bytes. */
  readonly size: number;
  /** Whether the file carries the sha256 trailer (`size % 512 == 32`). */
  readonly hasHash: boolean;
}

/**
 * Reads a snapshot file as written by `snapshotArchive` (e.g. saved by `etcdctl/berthctl snapshot
 * save`) with bounded memory: first checks the sha256 trailer (unless skipped), then parses the records
 * and hands them to `onRecords`. Rejects with an Error whose message is etcd's for the hash cases
 * ("snapshot missing hash but --skip-hash-check=false", "expected sha256 [..], got [..]") and
 * "snapshot file: <reason>" for a malformed body; no record is handed out before the hash check.
 */
export async function readSnapshotFile(path: string, opts: SnapshotFileOptions = {}): Promise<SnapshotFileSummary> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const hasHash = size % 512 === SHA256_BYTES;
    if (!hasHash && opts.skipHashCheck !== true) throw new Error('snapshot missing hash but --skip-hash-check=false');
    const bodyBytes = hasHash ? size - SHA256_BYTES : size;
    if (hasHash && opts.skipHashCheck !== true) {
      const hash = createHash('sha256');
      const buf = Buffer.allocUnsafe(1 << 20);
      for (let at = 0; at < bodyBytes; ) {
        const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, bodyBytes - at), at);
        if (bytesRead === 0) throw new Error('snapshot file: shrank while reading');
        hash.update(buf.subarray(0, bytesRead));
        at += bytesRead;
      }
      const trailer = Buffer.alloc(SHA256_BYTES);
      await fh.read(trailer, 0, SHA256_BYTES, bodyBytes);
      const actual = hash.digest();
      if (!actual.equals(trailer)) throw new Error(`expected sha256 [${[...trailer].join(' ')}], got [${[...actual].join(' ')}]`);
    }
    let pos = 0;
    let window = Buffer.alloc(0);
    const fill = async (n: number): Promise<Buffer> => {
      while (window.length < n) {
        if (pos >= bodyBytes) throw new Error('snapshot file: truncated');
        const chunk = Buffer.allocUnsafe(Math.min(Math.max(n - window.length, 256 * 1024), bodyBytes - pos));
        const { bytesRead } = await fh.read(chunk, 0, chunk.length, pos);
        if (bytesRead === 0) throw new Error('snapshot file: truncated');
        pos += bytesRead;
        window = window.length === 0 ? chunk.subarray(0, bytesRead) : Buffer.concat([window, chunk.subarray(0, bytesRead)]);
      }
      const out = window.subarray(0, n);
      window = window.subarray(n);
      return out;
    };
    if (!(await fill(SNAPSHOT_MAGIC.length)).equals(SNAPSHOT_MAGIC)) throw new Error('snapshot file: not a berth snapshot (bad magic)');
    const batchBytes = opts.batchBytes ?? 1 << 20;
    let batch: { key: Uint8Array; value: Uint8Array }[] = [];
    let bytes = 0;
    let records = 0;
    for (;;) {
      const klen = (await fill(4)).readUInt32BE(0);
      if (klen === END) break;
      if (klen === 0) throw new Error('snapshot file: empty key');
      const key = Buffer.from(await fill(klen));
      const vlen = (await fill(4)).readUInt32BE(0);
      const value = Buffer.from(await fill(vlen));
      records++;
      if (opts.onRecords !== undefined) {
        batch.push({ key, value });
        bytes += klen + vlen + 16;
        if (bytes >= batchBytes || batch.length >= 1000) {
          await opts.onRecords(batch);
          batch = [];
          bytes = 0;
        }
      }
    }
    // Only zero padding may follow the end marker.
    for (let rest = bodyBytes - pos + window.length; rest > 0; ) {
      const n = Math.min(rest, 64 * 1024);
      const pad = await fill(n);
      if (pad.some((b) => b !== 0)) throw new Error('snapshot file: bytes after the end marker');
      rest -= n;
    }
    if (opts.onRecords !== undefined && batch.length > 0) await opts.onRecords(batch);
    return { records, size, hasHash };
  } finally {
    await fh.close();
  }
}
