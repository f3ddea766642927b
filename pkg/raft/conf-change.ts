/**
 * Membership change requests and their byte encoding inside a ConfChangeV2 log entry. Raft must read
 * these entries itself (one pending change at a time, auto-leave of joint configs), so the encoding is
 * defined here, not by the transport. Format (big-endian): version 1 | transition u8 | count u16 |
 * count × (type u8, node id u64) | context length u32 | context bytes.
 */
import type { NodeId } from './types.js';

export type ConfChangeType = 'add-node' | 'remove-node' | 'update-node' | 'add-learner';

/**
 * auto: a single voter change is applied directly; several changes go through a joint config that is
 * left automatically once applied. implicit: always joint, left automatically. explicit: always joint,
 * the caller proposes the leave (an empty change) itself.
 */
export type ConfChangeTransition = 'auto' | 'implicit' | 'explicit';

export interface ConfChangeSingle {
  readonly type: ConfChangeType;
  readonly nodeId: NodeId;
}

export interface ConfChange {
  readonly transition: ConfChangeTransition;
  /** Empty changes = leave the current joint configuration. */
  readonly changes: readonly ConfChangeSingle[];
  /** Opaque to raft (berth puts the member record here). */
  readonly context: Uint8Array;
}

export function leaveJointChange(): ConfChange {
  return { transition: 'auto', changes: [], context: new Uint8Array(0) };
}

export function isLeaveJoint(cc: ConfChange): boolean {
  return cc.changes.length === 0;
}

/** Whether applying cc enters a joint configuration (and whether that one leaves by itself). */
export function entersJoint(cc: ConfChange): { joint: boolean; autoLeave: boolean } {
  const joint = cc.transition !== 'auto' || cc.changes.length > 1;
  return { joint, autoLeave: joint && cc.transition !== 'explicit' };
}

const TYPES: readonly ConfChangeType[] = ['add-node', 'remove-node', 'update-node', 'add-learner'];
const TRANSITIONS: readonly ConfChangeTransition[] = ['auto', 'implicit', 'explicit'];

export function encodeConfChange(cc: ConfChange): Uint8Array {
  const out = new Uint8Array(4 + cc.changes.length * 9 + 4 + cc.context.byteLength);
  const v = new DataView(out.buffer);
  v.setUint8(0, 1);
  v.setUint8(1, TRANSITIONS.indexOf(cc.transition));
  v.setUint16(2, cc.changes.length);
  let o = 4;
  for (const c of cc.changes) {
    v.setUint8(o, TYPES.indexOf(c.type));
    v.setBigUint64(o + 1, c.nodeId);
    o += 9;
  }
  v.setUint32(o, cc.context.byteLength);
  out.set(cc.context, o + 4);
  return out;
}

/** Decodes an entry's data; returns undefined for malformed bytes. */
export function decodeConfChange(data: Uint8Array): ConfChange | undefined {
  if (data.byteLength < 8) return undefined;
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (v.getUint8(0) !== 1) return undefined;
  const transition = TRANSITIONS[v.getUint8(1)];
  const n = v.getUint16(2);
  if (transition === undefined || data.byteLength < 4 + n * 9 + 4) return undefined;
  const changes: ConfChangeSingle[] = [];
  let o = 4;
  for (let i = 0; i < n; i++) {
    const type = TYPES[v.getUint8(o)];
    if (type === undefined) return undefined;
    changes.push({ type, nodeId: v.getBigUint64(o + 1) });
    o += 9;
  }
  const len = v.getUint32(o);
  if (data.byteLength !== o + 4 + len) return undefined;
  return { transition, changes, context: data.slice(o + 4, o + 4 + len) };
}
