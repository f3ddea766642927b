/**
 * One-byte key prefixes that split the single RocksDB key space into independent keyspaces.
 * Every key berth writes starts with one of these bytes (so no key is empty, which the binding
 * cannot store). The layout is documented in docs/storage.md; a prefix, once used, is never reused
 * for another meaning.
 *
 * Order matters: raft keyspaces sort before the state keyspaces, so a state snapshot is one
 * contiguous range [MvccRevision, End) and log compaction never touches it.
 */
export const Keyspace = {
  /** Raft log entries: prefix + index (u64 big-endian) → encoded entry. Owned by pkg/storage/wal. */
  RaftLog: 0x01,
  /** Raft hard state, snapshot metadata, wal format version. Owned by pkg/storage/wal. */
  RaftState: 0x02,
  /** This member's own identity (its member ID): never part of a state snapshot. Owned by pkg/server. */
  Local: 0x03,
  /** MVCC revision keyspace: prefix + main (u64 BE) + sub (u64 BE) → event. Owned by pkg/storage/mvcc. */
  MvccRevision: 0x10,
  /** MVCC key index: prefix + order-preserving user key + descending revision. Owned by pkg/storage/mvcc. */
  MvccKeyIndex: 0x11,
  /** MVCC key heads: prefix + raw user key → the key's newest entry, absent when deleted. Owned by pkg/storage/mvcc. */
  MvccHead: 0x12,
  /** Server meta: applied index/term, compaction revisions, consistent index. */
  Meta: 0x20,
  /** Cluster and member records. */
  Membership: 0x21,
  /** Leases. */
  Lease: 0x22,
  /** Auth users, roles, enabled flag. */
  Auth: 0x23,
} as const;
export type Keyspace = (typeof Keyspace)[keyof typeof Keyspace];

/** First state keyspace: everything at or above it belongs to the applied state machine. */
export const STATE_KEYSPACES_START = Keyspace.MvccRevision;

/** `prefix ‖ suffix` as a new buffer. */
export function keyIn(ks: Keyspace, suffix: Uint8Array): Uint8Array {
  const out = new Uint8Array(suffix.byteLength + 1);
  out[0] = ks;
  out.set(suffix, 1);
  return out;
}

/** Bounds covering exactly the keys of one keyspace: [prefix, prefix+1). */
export function keyspaceRange(ks: Keyspace): { gte: Uint8Array; lt: Uint8Array } {
  return { gte: Uint8Array.of(ks), lt: Uint8Array.of(ks + 1) };
}

/** Bounds covering every key that starts with `prefix` (which must not be empty or all 0xff). */
export function prefixRange(prefix: Uint8Array): { gte: Uint8Array; lt: Uint8Array } {
  const lt = prefix.slice();
  let i = lt.length - 1;
  while (i >= 0 && lt[i] === 0xff) i--;
  if (i < 0) throw new RangeError('engine: prefix has no upper bound');
  lt[i] = (lt[i] ?? 0) + 1;
  return { gte: prefix, lt: lt.subarray(0, i + 1) };
}
