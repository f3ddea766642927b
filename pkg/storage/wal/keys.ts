/**
 * Where the WAL lives in the engine's key space (see docs/storage.md): entries under
 * Keyspace.RaftLog by big-endian index, single records under Keyspace.RaftState.
 */
import { Keyspace } from '../engine/index.js';

/** `0x01 ‖ index as u64 big-endian`, so RocksDB's byte order is index order. */
export function entryKey(index: number): Uint8Array {
  const k = new Uint8Array(9);
  const v = new DataView(k.buffer);
  k[0] = Keyspace.RaftLog;
  v.setUint32(1, Math.floor(index / 0x1_0000_0000));
  v.setUint32(5, index >>> 0);
  return k;
}

/** The index in an entry key (callers check the result against what they expect). */
export function indexOfEntryKey(k: Uint8Array): number {
  const hi = (((k[1] ?? 0) << 24) | ((k[2] ?? 0) << 16) | ((k[3] ?? 0) << 8) | (k[4] ?? 0)) >>> 0;
  const lo = (((k[5] ?? 0) << 24) | ((k[6] ?? 0) << 16) | ((k[7] ?? 0) << 8) | (k[8] ?? 0)) >>> 0;
  return hi * 0x1_0000_0000 + lo;
}

export const HARD_STATE_KEY = Uint8Array.of(Keyspace.RaftState, 0x01);
export const SNAPSHOT_KEY = Uint8Array.of(Keyspace.RaftState, 0x02);
export const FORMAT_KEY = Uint8Array.of(Keyspace.RaftState, 0x03);
export const LOG_START_KEY = Uint8Array.of(Keyspace.RaftState, 0x04);

/** The on-disk layout version this code writes and reads. */
export const WAL_FORMAT = 1;
