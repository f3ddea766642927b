/**
 * Binary records of the WAL. Every record is `version u8 ‖ body ‖ crc32c u32 BE` where the CRC covers
 * everything before it, so a flipped bit or a value stored under the wrong key is detected on load.
 * Integers are big-endian; index and term are u64 on disk, rejected on decode above 2^53-1; node IDs
 * are u64 bigints.
 *
 * Entry (version 1):      1 ‖ type u8 ‖ term u64 ‖ index u64 ‖ data ‖ crc       (22 bytes + data)
 * HardState (version 1):  1 ‖ term u64 ‖ vote u64 ‖ commit u64 ‖ crc
 * LogStart (version 1):   1 ‖ index u64 ‖ term u64 ‖ crc       (the entry just before the first retained one)
 * Snapshot (version 1):   1 ‖ index u64 ‖ term u64 ‖ confState ‖ dataLen u32 ‖ data ‖ crc
 *   confState:            4 × (count u32 ‖ count × id u64) for voters, learners, votersOutgoing,
 *                         learnersNext ‖ autoLeave u8
 */
import type { ConfState, Entry, EntryType, HardState, NodeId, Snapshot } from '../../raft/types.js';
import { crc32c } from './crc32c.js';
import { WalError } from './errors.js';

export const RECORD_VERSION = 1;
const TWO32 = 0x1_0000_0000;
const MAX_HI = 0x1f_ffff; // hi word of Number.MAX_SAFE_INTEGER

/** The fixed bytes an entry record adds to its data. */
export const ENTRY_OVERHEAD = 22;

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function putU64(v: DataView, off: number, n: number): void {
  v.setUint32(off, Math.floor(n / TWO32));
  v.setUint32(off + 4, n >>> 0);
}

function getU64(v: DataView, off: number, what: string): number {
  const hi = v.getUint32(off);
  if (hi > MAX_HI) throw new WalError('corrupt', `${what} exceeds 2^53-1`);
  return hi * TWO32 + v.getUint32(off + 4);
}

function seal(out: Uint8Array): Uint8Array {
  view(out).setUint32(out.length - 4, crc32c(out.subarray(0, out.length - 4)));
  return out;
}

/** Checks version, length and CRC; throws WalError('corrupt') naming `what` otherwise. */
function open(rec: Uint8Array, minLen: number, what: string): DataView {
  if (rec.length < minLen) throw new WalError('corrupt', `${what}: record too short (${rec.length} bytes)`);
  const v = view(rec);
  if (rec[0] !== RECORD_VERSION) throw new WalError('corrupt', `${what}: unknown record version ${rec[0]}`);
  const want = v.getUint32(rec.length - 4);
  const got = crc32c(rec.subarray(0, rec.length - 4));
  if (want !== got) throw new WalError('corrupt', `${what}: checksum mismatch`);
  return v;
}

export function encodeEntry(e: Entry): Uint8Array {
  const out = new Uint8Array(ENTRY_OVERHEAD + e.data.byteLength);
  const v = view(out);
  out[0] = RECORD_VERSION;
  out[1] = e.type;
  putU64(v, 2, e.term);
  putU64(v, 10, e.index);
  out.set(e.data, 18);
  return seal(out);
}

/** Decodes without copying: `data` is a view into `rec`. */
export function decodeEntry(rec: Uint8Array): Entry {
  const v = open(rec, ENTRY_OVERHEAD, 'entry');
  const type = rec[1] as number;
  if (type > 2) throw new WalError('corrupt', `entry: unknown type ${type}`);
  return {
    type: type as EntryType,
    term: getU64(v, 2, 'entry term'),
    index: getU64(v, 10, 'entry index'),
    data: rec.subarray(18, rec.length - 4),
  };
}

export function encodeHardState(hs: HardState): Uint8Array {
  const out = new Uint8Array(29);
  const v = view(out);
  out[0] = RECORD_VERSION;
  putU64(v, 1, hs.term);
  v.setBigUint64(9, hs.vote);
  putU64(v, 17, hs.commit);
  return seal(out);
}

export function decodeHardState(rec: Uint8Array): HardState {
  const v = open(rec, 29, 'hard state');
  return { term: getU64(v, 1, 'term'), vote: v.getBigUint64(9), commit: getU64(v, 17, 'commit') };
}

export interface LogStart {
  /** Index of the last discarded entry (firstIndex - 1). */
  readonly index: number;
  readonly term: number;
}

export function encodeLogStart(s: LogStart): Uint8Array {
  const out = new Uint8Array(21);
  const v = view(out);
  out[0] = RECORD_VERSION;
  putU64(v, 1, s.index);
  putU64(v, 9, s.term);
  return seal(out);
}

export function decodeLogStart(rec: Uint8Array): LogStart {
  const v = open(rec, 21, 'log start');
  return { index: getU64(v, 1, 'index'), term: getU64(v, 9, 'term') };
}

const ID_LISTS = ['voters', 'learners', 'votersOutgoing', 'learnersNext'] as const;

export function encodeSnapshot(s: Snapshot): Uint8Array {
  const cs = s.metadata.confState;
  let len = 1 + 16 + 1 + 4 + s.data.byteLength + 4;
  for (const k of ID_LISTS) len += 4 + 8 * cs[k].length;
  const out = new Uint8Array(len);
  const v = view(out);
  out[0] = RECORD_VERSION;
  putU64(v, 1, s.metadata.index);
  putU64(v, 9, s.metadata.term);
  let off = 17;
  for (const k of ID_LISTS) {
    v.setUint32(off, cs[k].length);
    off += 4;
    for (const id of cs[k]) {
      v.setBigUint64(off, id);
      off += 8;
    }
  }
  out[off++] = cs.autoLeave ? 1 : 0;
  v.setUint32(off, s.data.byteLength);
  out.set(s.data, off + 4);
  return seal(out);
}

export function decodeSnapshot(rec: Uint8Array): Snapshot {
  const v = open(rec, 1 + 16 + 16 + 1 + 4 + 4, 'snapshot');
  const end = rec.length - 4;
  let off = 17;
  const lists: NodeId[][] = [];
  for (let k = 0; k < ID_LISTS.length; k++) {
    if (off + 4 > end) throw new WalError('corrupt', 'snapshot: truncated conf state');
    const n = v.getUint32(off);
    off += 4;
    if (off + 8 * n > end) throw new WalError('corrupt', 'snapshot: truncated conf state');
    const ids: NodeId[] = [];
    for (let i = 0; i < n; i++, off += 8) ids.push(v.getBigUint64(off));
    lists.push(ids);
  }
  if (off + 5 > end) throw new WalError('corrupt', 'snapshot: truncated');
  const autoLeave = rec[off++] === 1;
  const dataLen = v.getUint32(off);
  off += 4;
  if (off + dataLen !== end) throw new WalError('corrupt', 'snapshot: bad data length');
  const confState: ConfState = {
    voters: lists[0] ?? [],
    learners: lists[1] ?? [],
    votersOutgoing: lists[2] ?? [],
    learnersNext: lists[3] ?? [],
    autoLeave,
  };
  return {
    metadata: { index: getU64(v, 1, 'index'), term: getU64(v, 9, 'term'), confState },
    data: rec.slice(off, end),
  };
}
