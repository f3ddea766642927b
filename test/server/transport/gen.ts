/** Deterministic random raft messages for codec and transport tests. */
import type { ConfState, Entry, Message, Snapshot } from '../../../pkg/raft/index.js';

/** xorshift32: deterministic, so a failing seed can be replayed. */
export function rng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

export function gen(r: () => number) {
  const int = (max: number): number => Math.floor(r() * max);
  const uint = (): number => (r() < 0.1 ? Number.MAX_SAFE_INTEGER - int(3) : int(r() < 0.5 ? 1000 : 2 ** 40));
  const id = (): bigint => (r() < 0.2 ? 0xffff_ffff_ffff_ffffn - BigInt(int(10)) : BigInt(int(2 ** 31)) * 0x1_0000_0001n);
  const bytes = (max: number): Uint8Array => Uint8Array.from({ length: int(max) }, () => int(256));
  const ids = (): bigint[] => Array.from({ length: int(4) }, id);
  const entry = (): Entry => ({ term: uint(), index: uint(), type: int(3) as Entry['type'], data: bytes(64) });
  const conf = (): ConfState => ({
    voters: ids(),
    learners: ids(),
    votersOutgoing: ids(),
    learnersNext: ids(),
    autoLeave: r() < 0.5,
  });
  const snapshot = (): Snapshot => ({ data: bytes(128), metadata: { index: uint(), term: uint(), confState: conf() } });
  return (type: Message['type'], fields: Partial<Message> = {}): Message => ({
    type,
    to: id(),
    from: id(),
    term: uint(),
    logTerm: uint(),
    index: uint(),
    entries: Array.from({ length: int(5) }, entry),
    commit: uint(),
    reject: r() < 0.5,
    rejectHint: uint(),
    context: bytes(16),
    snapshot: r() < 0.5 || type === 'snap' ? snapshot() : undefined,
    ...fields,
  });
}
