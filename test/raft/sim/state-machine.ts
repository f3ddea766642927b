/**
 * The replicated state machine each simulated node applies committed entries to: a KV map of a few
 * registers plus a running digest of everything applied (so two states at the same index can be
 * compared in O(1)), and the configuration as of the applied index.
 *
 * Client payloads are 5 bytes: a unique u32 write id and a register number. Raft snapshots carry a
 * 4-byte handle into the run's SnapshotBlobs, which stands in for the checkpoint files a real server
 * streams: blobs are immutable, so installing one is copying it.
 */
import type { ConfState, Entry } from '../../../pkg/raft/index.js';
import { EntryType } from '../../../pkg/raft/index.js';

export interface KvValue {
  /** Write id of the payload that set the register. */
  readonly id: number;
  /** Log index of the entry that set it. */
  readonly index: number;
}

export interface SmState {
  applied: number;
  digest: number;
  kv: Map<number, KvValue>;
  confState: ConfState;
}

export function initialSm(confState: ConfState): SmState {
  return { applied: 0, digest: 0, kv: new Map(), confState };
}

export function cloneSm(s: SmState): SmState {
  return { applied: s.applied, digest: s.digest, kv: new Map(s.kv), confState: s.confState };
}

export const REGISTERS = 4;

export function encodeWrite(id: number, register: number): Uint8Array {
  const b = new Uint8Array(5);
  new DataView(b.buffer).setUint32(0, id);
  b[4] = register;
  return b;
}

export function decodeWrite(data: Uint8Array): { id: number; register: number } | undefined {
  if (data.byteLength !== 5) return undefined;
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return { id: v.getUint32(0), register: data[4] ?? 0 };
}

/** FNV-1a over the entry's type and data: the identity of an entry's content. */
export function contentHash(e: Entry): number {
  let h = (0x811c9dc5 ^ e.type) >>> 0;
  h = Math.imul(h, 0x01000193);
  const d = e.data;
  for (let i = 0; i < d.byteLength; i++) h = Math.imul(h ^ (d[i] ?? 0), 0x01000193);
  return h >>> 0;
}

function mix(a: number, b: number): number {
  let z = (a ^ Math.imul(b, 0x9e3779b1)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** The digest after applying entry e (index, term and content) on top of `digest`. */
export function nextDigest(digest: number, e: Entry, hash: number): number {
  return mix(mix(mix(digest, e.index), e.term), hash);
}

/** Applies a normal entry (conf changes are applied by the node, which owns the RawNode). */
export function applyNormal(s: SmState, e: Entry): void {
  if (e.type !== EntryType.Normal) return;
  const w = decodeWrite(e.data);
  if (w !== undefined) s.kv.set(w.register, { id: w.id, index: e.index });
}

/** Immutable state-machine checkpoints referenced by raft snapshots. */
export class SnapshotBlobs {
  readonly #blobs: SmState[] = [];

  put(s: SmState): Uint8Array {
    this.#blobs.push(cloneSm(s));
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, this.#blobs.length);
    return b;
  }

  /** The checkpoint a snapshot's data refers to; a zero-length handle is the empty initial state. */
  get(data: Uint8Array, initial: ConfState): SmState {
    if (data.byteLength === 0) return initialSm(initial);
    const n = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0);
    const s = this.#blobs[n - 1];
    if (s === undefined) throw new Error(`sim: unknown snapshot blob ${n}`);
    return cloneSm(s);
  }
}
