/**
 * The context of a berth membership conf change (raft treats it as opaque bytes): which member change
 * it is, the proposer's request ID (its waiter), and the member record as it will appear in
 * MemberList (etcd likewise puts the JSON member into the conf change context).
 *
 * Format: version 1 | kind u8 (0 add, 1 remove, 2 update, 3 promote) | request id u64 BE |
 * berthpb.MemberAttributes bytes (add: the whole record; remove/promote: the id; update: id + peer URLs).
 */
import { decodeMember, encodeMember } from './members.js';
import type { MemberChange } from './rules.js';

const KINDS = ['add', 'remove', 'update', 'promote'] as const;

export interface ConfContext {
  readonly requestId: bigint;
  readonly change: MemberChange;
}

export function encodeConfContext(c: ConfContext): Uint8Array {
  const ch = c.change;
  const member =
    ch.kind === 'add'
      ? ch.member
      : { id: ch.id, name: '', peerUrls: ch.kind === 'update' ? ch.peerUrls : [], clientUrls: [], isLearner: false };
  const body = encodeMember(member);
  const out = new Uint8Array(10 + body.byteLength);
  const v = new DataView(out.buffer);
  v.setUint8(0, 1);
  v.setUint8(1, KINDS.indexOf(ch.kind));
  v.setBigUint64(2, c.requestId);
  out.set(body, 10);
  return out;
}

/** undefined for bytes that are not a berth membership context. */
export function decodeConfContext(b: Uint8Array): ConfContext | undefined {
  if (b.byteLength < 10) return undefined;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const kind = KINDS[v.getUint8(1)];
  if (v.getUint8(0) !== 1 || kind === undefined) return undefined;
  const requestId = v.getBigUint64(2);
  let m;
  try {
    m = decodeMember(b.subarray(10));
  } catch {
    return undefined;
  }
  switch (kind) {
    case 'add':
      return { requestId, change: { kind, member: m } };
    case 'update':
      return { requestId, change: { kind, id: m.id, peerUrls: m.peerUrls } };
    default:
      return { requestId, change: { kind, id: m.id } };
  }
}
