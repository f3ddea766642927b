/**
 * Delivery of one published revision to the synced watchers it concerns, encoding each distinct
 * event list once (see encode.ts for why a response can be assembled from shared pieces).
 */
import type { Event } from '../../storage/mvcc/index.js';
import { EventType } from '../../storage/mvcc/index.js';
import { eventField, eventPayload, responsesFor, type EventPayload } from './encode.js';
import type { WatcherIndex } from './matcher.js';
import { passes, type Watcher } from './watcher.js';

export interface FanOutOptions {
  /** The encoded header field of this revision's responses. */
  readonly header: Buffer;
  readonly fragmentLimitBytes: number;
  /** Counters, incremented in place. */
  readonly stats: { encodings: number; liveResponses: number; events: number };
}

const ONLY_FIRST: readonly number[] = [0];

/**
 * Offers `events` (all of main revision `revision`) to every synced watcher whose range, filters and
 * minRev admit them, one response per watcher unless it fragments. Watchers served advance past
 * `revision`; returns the watchers whose stream refused the response (over budget), untouched, for
 * the caller to move to unsynced.
 */
export function fanOut(synced: WatcherIndex<Watcher>, events: readonly Event[], revision: bigint, o: FanOutOptions): Watcher[] {
  const fields = new Map<number, Buffer>();
  const field = (i: number, prevKv: boolean): Buffer => {
    const k = prevKv ? -1 - i : i;
    let f = fields.get(k);
    if (f === undefined) fields.set(k, (f = eventField(events[i] as Event, prevKv)));
    return f;
  };
  const payloads = new Map<string, EventPayload>();
  const refused: Watcher[] = [];
  const deliver = (w: Watcher, idx: readonly number[]): void => {
    if (revision < w.minRev) return;
    const sel = w.noPut || w.noDelete ? idx.filter((i) => passes(w, (events[i] as Event).type === EventType.DELETE)) : idx;
    if (sel.length === 0) {
      w.minRev = revision + 1n;
      return;
    }
    // The group key: which events, with or without prev_kv. Most revisions have one event, and
    // most watchers get all of a revision's events: those keys are constant strings.
    const key = sel.length === events.length ? (w.prevKv ? 'p*' : 'n*') : `${w.prevKv ? 'p' : 'n'}${sel.join(',')}`;
    let p = payloads.get(key);
    if (p === undefined) {
      p = eventPayload(
        o.header,
        sel.map((i) => field(i, w.prevKv)),
      );
      payloads.set(key, p);
      o.stats.encodings++;
    }
    if (w.owner.offer(responsesFor(w.idField, p, w.fragment ? o.fragmentLimitBytes : undefined))) {
      w.minRev = revision + 1n;
      w.idle = false;
      o.stats.liveResponses++;
      o.stats.events += sel.length;
    } else {
      refused.push(w);
    }
  };
  if (events.length === 1) {
    synced.forEachMatch((events[0] as Event).kv.key, (w) => deliver(w, ONLY_FIRST));
  } else {
    const matched = new Map<Watcher, number[]>();
    events.forEach((e, i) =>
      synced.forEachMatch(e.kv.key, (w) => {
        const list = matched.get(w);
        if (list === undefined) matched.set(w, [i]);
        else list.push(i);
      }),
    );
    for (const [w, idx] of matched) deliver(w, idx);
  }
  return refused;
}
