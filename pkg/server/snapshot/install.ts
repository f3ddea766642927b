/**
 * Installing a received state archive so that a crash at any moment leaves either the old state or
 * the new one, never a mix. The binding has no native DeleteRange or checkpoints, so the switch is a
 * redo log of one record:
 *
 *   1. the archive file is complete, verified (sha256) and fsynced, under a name we own;
 *   2. a synced "installing <file, index>" marker goes into the member-local keyspace (never part of
 *      a snapshot, never touched by the install itself);
 *   3. every key of the state keyspaces is deleted, then the archive's records are written, both in
 *      bounded batches (unsynced: nothing of it counts until step 4);
 *   4. ONE synced batch writes the applied index of the archive and deletes the marker;
 *   5. the file is removed.
 *
 * On startup, `redoPendingInstall` runs before anything reads state: if the marker exists, steps
 * 3–5 run again from the file. Before step 2 durably happens the old state is untouched; after it,
 * the install always completes (redo is idempotent), so the mix exists only while the marker does,
 * and nobody reads state then.
 */
import { readdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import {
  Keyspace,
  STATE_KEYSPACES_START,
  del,
  keyIn,
  put,
  type Engine,
} from '../../storage/engine/index.js';
import { failpoint } from '../../failpoint/index.js';
import { appliedIndexOp } from '../apply/applied-index.js';
import { readArchive, verifyArchive, ArchiveError, type ArchiveMeta } from './archive.js';

export const INSTALL_MARKER_KEY = keyIn(Keyspace.Local, Buffer.from('snapshot-install'));
const STATE_RANGE = { gte: Uint8Array.of(STATE_KEYSPACES_START), lt: Uint8Array.of(0xff) };

export interface InstallMarker {
  /** File name inside the snapshot directory. */
  readonly file: string;
  readonly index: number;
}

export function encodeMarker(m: InstallMarker): Uint8Array {
  const name = Buffer.from(m.file, 'utf8');
  const b = Buffer.alloc(9 + name.length);
  b[0] = 1;
  b.writeBigUInt64BE(BigInt(m.index), 1);
  name.copy(b, 9);
  return b;
}

export function decodeMarker(v: Uint8Array): InstallMarker {
  const b = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (b.length < 10 || b[0] !== 1) throw new Error('snapshot install marker: unreadable record');
  const file = b.subarray(9).toString('utf8');
  if (file !== basename(file)) throw new Error('snapshot install marker: file name with a path');
  return { index: Number(b.readBigUInt64BE(1)), file };
}

export async function readMarker(engine: Engine): Promise<InstallMarker | undefined> {
  const v = await engine.get(INSTALL_MARKER_KEY);
  return v === undefined ? undefined : decodeMarker(v);
}

export interface InstallOptions {
  /** Called after each bounded batch of records is written (tests use it to interrupt an install). */
  readonly onBatch?: (written: number) => void;
}

/**
 * Installs the archive at `snapDir/file` (already fsynced there) into `engine`, replacing every state
 * keyspace. The caller guarantees nothing else writes state meanwhile (the node loop is held and
 * background MVCC compaction suspended). Returns the archive's metadata.
 */
export async function installArchive(engine: Engine, snapDir: string, file: string, opts: InstallOptions = {}): Promise<ArchiveMeta> {
  const meta = await verifyArchive(join(snapDir, file));
  failpoint('snapshot-install-before');
  await engine.write([put(INSTALL_MARKER_KEY, encodeMarker({ file, index: meta.index }))], { sync: true });
  await redo(engine, snapDir, { file, index: meta.index }, opts);
  failpoint('snapshot-install-after');
  return meta;
}

/**
 * Finishes an install interrupted by a crash (see the module comment). Returns the marker it redid,
 * or undefined when there was none. Also removes archive files no marker refers to (leftovers of
 * uploads that were never installed). Throws if the marker's file is gone or corrupt: the state is
 * then half-replaced and the member must not start (restore its data dir from a peer or a backup).
 */
export async function redoPendingInstall(engine: Engine, snapDir: string, opts: InstallOptions = {}): Promise<InstallMarker | undefined> {
  const marker = await readMarker(engine);
  for (const f of await readdir(snapDir).catch(() => [] as string[])) {
    if (f.endsWith('.snap') && f !== marker?.file) await rm(join(snapDir, f), { force: true });
  }
  if (marker === undefined) return undefined;
  await redo(engine, snapDir, marker, opts);
  return marker;
}

async function redo(engine: Engine, snapDir: string, marker: InstallMarker, opts: InstallOptions): Promise<void> {
  const path = join(snapDir, marker.file);
  // Old state out (bounded batches on the thread pool; not atomic, not synced: the marker covers it).
  await engine.clear(STATE_RANGE);
  let written = 0;
  const meta = await readArchive(path, async (records) => {
    for (const r of records) {
      if (r.key[0] === undefined || r.key[0] < STATE_KEYSPACES_START || r.key[0] === 0xff) {
        throw new ArchiveError('record outside the state keyspaces');
      }
    }
    await engine.write(records.map((r) => put(r.key, r.value)));
    written += records.length;
    opts.onBatch?.(written);
    failpoint('snapshot-install-mid');
  });
  if (meta.index !== marker.index) throw new ArchiveError(`archive index ${meta.index} differs from the marker's ${marker.index}`);
  failpoint('snapshot-install-before-commit');
  await engine.write([appliedIndexOp({ index: meta.index, term: meta.term }), del(INSTALL_MARKER_KEY)], { sync: true });
  await rm(path, { force: true });
}
