/**
 * Wire encoding of WatchResponses, built from pre-encoded pieces.
 *
 * Protobuf lets a message be the concatenation of encodings of its fields in any order (repeated
 * fields append, scalars take the last value), so a response to one watcher is
 * `watch_id field ++ header field ++ event fields`. The header and event fields of a revision are
 * encoded once and shared by every watcher that receives the same event list; only the few bytes of
 * the watch_id differ per watcher.
 */
import { WatchResponse, type ResponseHeader } from '../../proto/gen/etcdserverpb/rpc.js';
import { encodeToBuffer } from '../../proto/encode.js';
import type * as pb from '../../proto/gen/etcdserverpb/rpc.js';
import type { Event } from '../../storage/mvcc/index.js';
import { eventToPb } from '../convert.js';

const EMPTY: pb.WatchResponse = {
  header: undefined,
  watchId: 0n,
  created: false,
  canceled: false,
  compactRevision: 0n,
  cancelReason: '',
  fragment: false,
  events: [],
};

/** A whole response (control messages: created, canceled, progress, compacted). */
export function encodeResponse(r: Partial<pb.WatchResponse>): Buffer {
  return encodeToBuffer(WatchResponse, { ...EMPTY, ...r });
}

const NOTHING = Buffer.alloc(0);
const FRAGMENT_FIELD = encodeResponse({ fragment: true });

/** The watch_id field alone (empty for id 0, proto3's default). */
export function watchIdField(id: bigint): Buffer {
  return id === 0n ? NOTHING : encodeResponse({ watchId: id });
}

export function headerField(h: ResponseHeader): Buffer {
  return encodeResponse({ header: h });
}

/** One event as a WatchResponse.events field; prev_kv kept only when the watcher asked for it. */
export function eventField(e: Event, prevKv: boolean): Buffer {
  const ev = prevKv || e.prevKv === undefined ? e : { type: e.type, kv: e.kv };
  return encodeResponse({ events: [eventToPb(ev)] });
}

/** The shared part of a response: header and event fields, plus their concatenation (built lazily). */
export interface EventPayload {
  readonly header: Buffer;
  readonly events: readonly Buffer[];
  readonly size: number;
  /** header ++ events, cached: what every non-fragmenting receiver shares. */
  tail(): Buffer;
}

export function eventPayload(header: Buffer, events: readonly Buffer[]): EventPayload {
  let tail: Buffer | undefined;
  const size = events.reduce((n, e) => n + e.length, header.length);
  return {
    header,
    events,
    size,
    tail: () => (tail ??= Buffer.concat([header, ...events], size)),
  };
}

/**
 * The responses that carry `p` to watcher `idField`. With `fragmentLimit` (the watcher asked for
 * fragments), follows etcd: a response of at least the limit with two or more events is split into
 * several, each filled while it stays under the limit (at least one event each), all flagged
 * `fragment` except the last.
 */
export function responsesFor(idField: Buffer, p: EventPayload, fragmentLimit?: number): Buffer[] {
  const whole = idField.length + p.size;
  if (fragmentLimit === undefined || whole < fragmentLimit || p.events.length < 2) {
    return [Buffer.concat([idField, p.tail()], whole)];
  }
  const base = idField.length + p.header.length + FRAGMENT_FIELD.length;
  const out: Buffer[] = [];
  let i = 0;
  while (i < p.events.length) {
    const parts: Buffer[] = [];
    let size = base;
    while (i < p.events.length) {
      const ev = p.events[i] as Buffer;
      if (parts.length > 0 && size + ev.length >= fragmentLimit) break;
      parts.push(ev);
      size += ev.length;
      i++;
    }
    const last = i === p.events.length;
    const pieces = last ? [idField, p.header, ...parts] : [idField, p.header, FRAGMENT_FIELD, ...parts];
    out.push(Buffer.concat(pieces));
  }
  return out;
}

/**
 * Catch-up events as encoded event fields, cut into responses of about `maxBytes` at revision
 * boundaries (one revision is never split: only `fragment` may do that). etcd sends a whole catch-up
 * batch as one response; smaller responses keep clients under their receive-size limits (grpc-js
 * defaults to 4 MiB) without breaking per-revision atomicity.
 */
export function revisionBatches(events: readonly Event[], maxBytes: number, prevKv: boolean): Buffer[][] {
  const out: Buffer[][] = [];
  let cur: Buffer[] = [];
  let size = 0;
  let rev = -1n;
  for (const e of events) {
    const f = eventField(e, prevKv);
    if (e.kv.modRevision !== rev && size > 0 && size + f.length > maxBytes) {
      out.push(cur);
      cur = [];
      size = 0;
    }
    rev = e.kv.modRevision;
    cur.push(f);
    size += f.length;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}
