/**
 * Member and cluster IDs, derived like etcd's so that the same --initial-cluster and token give the
 * same IDs on every member (and the same IDs etcd would pick).
 *
 * member ID = first 8 bytes (big-endian) of sha1(sorted peer URLs joined ‖ cluster token [‖ unix seconds])
 * cluster ID = first 8 bytes of sha1(sorted member IDs, each 8 bytes big-endian)
 */
import { createHash } from 'node:crypto';

/** The time suffix is used for members added at runtime, so re-adding the same URLs gives a new ID. */
export function memberIdOf(peerUrls: readonly string[], clusterToken: string, unixSeconds?: number): bigint {
  const h = createHash('sha1');
  h.update([...peerUrls].sort().join(''));
  h.update(clusterToken);
  if (unixSeconds !== undefined) h.update(String(unixSeconds));
  return h.digest().readBigUInt64BE(0);
}

export function clusterIdOf(memberIds: readonly bigint[]): bigint {
  const sorted = [...memberIds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const b = Buffer.alloc(8 * sorted.length);
  sorted.forEach((id, i) => b.writeBigUInt64BE(id, 8 * i));
  return createHash('sha1').update(b).digest().readBigUInt64BE(0);
}

/** etcd prints IDs as lowercase hex without padding. */
export function idToHex(id: bigint): string {
  return id.toString(16);
}

/**
 * Unique 64-bit request/lease IDs: 2 bytes of the member ID, 5 bytes of milliseconds at start, and a
 * counter added to the low 6 bytes. Unique per member across restarts as long as the clock does not
 * go back by more than the number of IDs issued; members never collide because of the prefix.
 */
export class IdGenerator {
  readonly #prefix: bigint;
  #suffix: bigint;

  constructor(memberId: bigint, nowMs: number) {
    this.#prefix = (memberId & 0xffffn) << 48n;
    this.#suffix = (BigInt(nowMs) & 0xff_ffff_ffffn) << 8n;
  }

  next(): bigint {
    this.#suffix = (this.#suffix + 1n) & 0xffff_ffff_ffffn;
    return this.#prefix | this.#suffix;
  }
}
