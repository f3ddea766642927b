/**
 * Conversions between raft's plain types (pkg/raft) and their wire shapes (berthpb, ts-proto).
 *
 * Encoding cannot fail. Decoding returns an error value, never throws, when the peer sent something
 * raft cannot hold: an index or term above Number.MAX_SAFE_INTEGER (raft keeps them as numbers), a
 * message or entry type this build does not know.
 */
import type { ConfState, Entry, HardState, Message, MessageType, Snapshot } from '../../raft/index.js';
import * as pb from '../../proto/gen/berthpb/raft.js';

export type CodecErrorKind = 'uint-overflow' | 'unknown-message-type' | 'unknown-entry-type';

export interface CodecError {
  readonly kind: CodecErrorKind;
  /** Lowercase, etcd style: "transport: message index 9007199254740992 exceeds the safe integer range". */
  readonly message: string;
}

export type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: CodecError };

const TO_PB: { readonly [K in MessageType]: pb.MessageType } = {
  hup: pb.MessageType.MESSAGE_TYPE_HUP,
  beat: pb.MessageType.MESSAGE_TYPE_BEAT,
  prop: pb.MessageType.MESSAGE_TYPE_PROP,
  app: pb.MessageType.MESSAGE_TYPE_APP,
  'app-resp': pb.MessageType.MESSAGE_TYPE_APP_RESP,
  vote: pb.MessageType.MESSAGE_TYPE_VOTE,
  'vote-resp': pb.MessageType.MESSAGE_TYPE_VOTE_RESP,
  'pre-vote': pb.MessageType.MESSAGE_TYPE_PRE_VOTE,
  'pre-vote-resp': pb.MessageType.MESSAGE_TYPE_PRE_VOTE_RESP,
  snap: pb.MessageType.MESSAGE_TYPE_SNAP,
  heartbeat: pb.MessageType.MESSAGE_TYPE_HEARTBEAT,
  'heartbeat-resp': pb.MessageType.MESSAGE_TYPE_HEARTBEAT_RESP,
  unreachable: pb.MessageType.MESSAGE_TYPE_UNREACHABLE,
  'snap-status': pb.MessageType.MESSAGE_TYPE_SNAP_STATUS,
  'check-quorum': pb.MessageType.MESSAGE_TYPE_CHECK_QUORUM,
  'transfer-leader': pb.MessageType.MESSAGE_TYPE_TRANSFER_LEADER,
  'timeout-now': pb.MessageType.MESSAGE_TYPE_TIMEOUT_NOW,
  'read-index': pb.MessageType.MESSAGE_TYPE_READ_INDEX,
  'read-index-resp': pb.MessageType.MESSAGE_TYPE_READ_INDEX_RESP,
};

/** Every raft kind, in a fixed order (tests iterate it). */
export const MESSAGE_TYPES: readonly MessageType[] = Object.keys(TO_PB) as MessageType[];

const FROM_PB: ReadonlyMap<number, MessageType> = new Map(MESSAGE_TYPES.map((t) => [TO_PB[t], t]));

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function fail(kind: CodecErrorKind, message: string): { readonly ok: false; readonly error: CodecError } {
  return { ok: false, error: { kind, message: `transport: ${message}` } };
}

/** The uint64 as a number, or undefined when it does not fit exactly. */
function safe(v: bigint): number | undefined {
  return v <= MAX_SAFE ? Number(v) : undefined;
}

function overflow(field: string, v: bigint): { readonly ok: false; readonly error: CodecError } {
  return fail('uint-overflow', `${field} ${v} exceeds the safe integer range`);
}

export function entryToPb(e: Entry): pb.Entry {
  return { term: BigInt(e.term), index: BigInt(e.index), type: e.type as number as pb.EntryType, data: e.data };
}

export function entryFromPb(e: pb.Entry): Decoded<Entry> {
  const term = safe(e.term);
  if (term === undefined) return overflow('entry term', e.term);
  const index = safe(e.index);
  if (index === undefined) return overflow('entry index', e.index);
  if (e.type !== 0 && e.type !== 1 && e.type !== 2) {
    return fail('unknown-entry-type', `unknown entry type ${String(e.type)} at index ${index}`);
  }
  return { ok: true, value: { term, index, type: e.type, data: e.data } };
}

export function hardStateToPb(h: HardState): pb.HardState {
  return { term: BigInt(h.term), vote: h.vote, commit: BigInt(h.commit) };
}

export function hardStateFromPb(h: pb.HardState): Decoded<HardState> {
  const term = safe(h.term);
  if (term === undefined) return overflow('hard state term', h.term);
  const commit = safe(h.commit);
  if (commit === undefined) return overflow('hard state commit', h.commit);
  return { ok: true, value: { term, vote: h.vote, commit } };
}

export function confStateToPb(c: ConfState): pb.ConfState {
  return {
    voters: [...c.voters],
    learners: [...c.learners],
    votersOutgoing: [...c.votersOutgoing],
    learnersNext: [...c.learnersNext],
    autoLeave: c.autoLeave,
  };
}

/** Cannot fail: every field is a 64-bit id or a flag. A missing conf state is the empty one. */
export function confStateFromPb(c: pb.ConfState | undefined): ConfState {
  if (c === undefined) return { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
  return {
    voters: c.voters,
    learners: c.learners,
    votersOutgoing: c.votersOutgoing,
    learnersNext: c.learnersNext,
    autoLeave: c.autoLeave,
  };
}

export function snapshotToPb(s: Snapshot): pb.Snapshot {
  return {
    data: s.data,
    metadata: {
      confState: confStateToPb(s.metadata.confState),
      index: BigInt(s.metadata.index),
      term: BigInt(s.metadata.term),
    },
  };
}

export function snapshotFromPb(s: pb.Snapshot): Decoded<Snapshot> {
  const md = s.metadata;
  const index = safe(md?.index ?? 0n);
  if (index === undefined) return overflow('snapshot index', md?.index ?? 0n);
  const term = safe(md?.term ?? 0n);
  if (term === undefined) return overflow('snapshot term', md?.term ?? 0n);
  return { ok: true, value: { data: s.data, metadata: { index, term, confState: confStateFromPb(md?.confState) } } };
}

export function messageToPb(m: Message): pb.Message {
  return {
    type: TO_PB[m.type],
    to: m.to,
    from: m.from,
    term: BigInt(m.term),
    logTerm: BigInt(m.logTerm),
    index: BigInt(m.index),
    entries: m.entries.map(entryToPb),
    commit: BigInt(m.commit),
    vote: 0n,
    snapshot: m.snapshot === undefined ? undefined : snapshotToPb(m.snapshot),
    reject: m.reject,
    rejectHint: BigInt(m.rejectHint),
    context: m.context,
  };
}

/** Decodes one message; the first offending field is named in the error. */
export function messageFromPb(m: pb.Message): Decoded<Message> {
  const type = FROM_PB.get(m.type);
  if (type === undefined) return fail('unknown-message-type', `unknown message type ${String(m.type)}`);
  const term = safe(m.term);
  if (term === undefined) return overflow('message term', m.term);
  const logTerm = safe(m.logTerm);
  if (logTerm === undefined) return overflow('message log term', m.logTerm);
  const index = safe(m.index);
  if (index === undefined) return overflow('message index', m.index);
  const commit = safe(m.commit);
  if (commit === undefined) return overflow('message commit', m.commit);
  const rejectHint = safe(m.rejectHint);
  if (rejectHint === undefined) return overflow('message reject hint', m.rejectHint);
  const entries: Entry[] = [];
  for (const pe of m.entries) {
    const e = entryFromPb(pe);
    if (!e.ok) return e;
    entries.push(e.value);
  }
  let snapshot: Snapshot | undefined;
  if (m.snapshot !== undefined) {
    const s = snapshotFromPb(m.snapshot);
    if (!s.ok) return s;
    snapshot = s.value;
  }
  return {
    ok: true,
    value: {
      type,
      to: m.to,
      from: m.from,
      term,
      logTerm,
      index,
      entries,
      commit,
      reject: m.reject,
      rejectHint,
      context: m.context,
      snapshot,
    },
  };
}
