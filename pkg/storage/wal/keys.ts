/**
 * Where the WAL lives in the engine's key space (see docs/storage.md): entries under
 * Keyspace.RaftLog by big-endian index, single records under Keyspace.RaftState.
 */
import { Keyspace } from '../engine/index.js';
import { readU32BE, writeU32BE } from '../be.js';

/** `0x01 ‖ index as u64 big-endian`, so RocksDB's byte order is index order. */
export function entryKey(index: number): Uint8Array {
  const k = new Uint8Array(9);
  k[0] = Keyspace.RaftLog;
  writeU32BE(k, 1, Math.floor(index / 0x1_0000_0000));
  writeU32BE(k, 5, index >>> 0);
  return k;
}

/** The index in an entry key (NaN for a key too short; callers check the result against what they expect). */
export function indexOfEntryKey(k: Uint8Array): number {
  if (k.length < 9) return NaN;
  return readU32BE(k, 1) * 0x1_0000_0000 + readU32BE(k, 5);
}

export const HARD_STATE_KEY = Uint8Array.of(Keyspace.RaftState, 0x01);
export const SNAPSHOT_KEY = Uint8Array.of(Keyspace.RaftState, 0x02);
export const FORMAT_KEY = Uint8Array.of(Keyspace.RaftState, 0x03);
export const LOG_START_KEY = Uint8Array.of(Keyspace.RaftState, 0x04);

/** The on-disk layout version this code writes and reads. */
export const WAL_FORMAT = 1;
