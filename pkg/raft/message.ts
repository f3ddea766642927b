/**
 * The messages raft nodes exchange, plus the local-only kinds the state machine steps itself
 * (hup, beat, check-quorum, ...). One flat shape for every kind so a transport can map it to protobuf
 * field by field; unused fields keep their zero value.
 */
import type { Entry, NodeId, Snapshot } from './types.js';
import { NONE } from './types.js';

export const MessageType = {
  /** Local: start an election (tick-driven or caller-driven campaign). */
  Hup: 'hup',
  /** Local: leader sends heartbeats. */
  Beat: 'beat',
  /** Proposal: local, or forwarded by a follower to the leader. */
  Prop: 'prop',
  App: 'app',
  AppResp: 'app-resp',
  Vote: 'vote',
  VoteResp: 'vote-resp',
  PreVote: 'pre-vote',
  PreVoteResp: 'pre-vote-resp',
  Snap: 'snap',
  Heartbeat: 'heartbeat',
  HeartbeatResp: 'heartbeat-resp',
  /** Local: the transport could not reach `from`. */
  Unreachable: 'unreachable',
  /** Local: outcome of sending a snapshot to `from` (reject = failed). */
  SnapStatus: 'snap-status',
  /** Local: leader verifies it still hears from a quorum. */
  CheckQuorum: 'check-quorum',
  /** Local or forwarded: move leadership to `from`. */
  TransferLeader: 'transfer-leader',
  /** Leader tells the transfer target to campaign now. */
  TimeoutNow: 'timeout-now',
  ReadIndex: 'read-index',
  ReadIndexResp: 'read-index-resp',
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

export interface Message {
  type: MessageType;
  to: NodeId;
  from: NodeId;
  term: number;
  /** app: term of the entry at `index`; vote: candidate's last term; rejected app-resp: hint term. */
  logTerm: number;
  /** app: index preceding `entries`; app-resp: last index acknowledged or rejected; vote: last index. */
  index: number;
  entries: Entry[];
  commit: number;
  reject: boolean;
  /** Rejected app-resp: the follower's guess at where the logs may match. */
  rejectHint: number;
  /** Read-index request id (echoed by heartbeats), or CAMPAIGN_TRANSFER on votes. */
  context: Uint8Array;
  snapshot: Snapshot | undefined;
}

const EMPTY = new Uint8Array(0);

/** Builds a message with zero values for every field not given. */
export function newMessage(fields: Partial<Message> & Pick<Message, 'type'>): Message {
  return {
    to: NONE,
    from: NONE,
    term: 0,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    context: EMPTY,
    snapshot: undefined,
    ...fields,
  };
}

/** Vote context marking an election started by leadership transfer: it bypasses the vote lease. */
export const CAMPAIGN_TRANSFER: Uint8Array = new Uint8Array([0x74, 0x72, 0x61, 0x6e, 0x73, 0x66, 0x65, 0x72]);

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Kinds produced only inside a node; step() from the outside refuses them. */
export function isLocalMessage(t: MessageType): boolean {
  return (
    t === 'hup' || t === 'beat' || t === 'unreachable' || t === 'snap-status' || t === 'check-quorum'
  );
}

export function isResponseMessage(t: MessageType): boolean {
  return (
    t === 'app-resp' || t === 'vote-resp' || t === 'pre-vote-resp' || t === 'heartbeat-resp' ||
    t === 'unreachable' || t === 'snap-status'
  );
}

/** Responses that must not leave before the Ready that produced them is durable. */
export function needsPersistBeforeSend(t: MessageType): boolean {
  return t === 'app-resp' || t === 'vote-resp' || t === 'pre-vote-resp';
}
