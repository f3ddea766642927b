import type { Entry, EntryType } from '../../../pkg/raft/types.js';

/** Deterministic payload for (index, term): lets a checker recompute what an entry must hold. */
export function payload(index: number, term: number): Uint8Array {
  const len = (index * 31 + term * 7) % 300;
  const out = new Uint8Array(len);
  for (let j = 0; j < len; j++) out[j] = (index + term * 13 + j) & 0xff;
  return out;
}

export function entry(index: number, term: number, type: EntryType = 0): Entry {
  return { index, term, type, data: payload(index, term) };
}

/** Entries [from, to] at one term. */
export function entries(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(i, term));
  return out;
}
