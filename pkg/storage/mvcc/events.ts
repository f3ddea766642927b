/**
 * History as events, for watch catch-up: a forward scan of the revision keyspace, whole revisions at
 * a time, with prev_kv looked up in the key index (one seek per event that had a previous value).
 */
import type { MvccBackend } from './backend.js';
import { entryAt, fetchRecords } from './index-scan.js';
import { decodeRevisionKey, inRange, revisionKeyStart } from './keys.js';
import { decodeEventRecord, eventRecordValue, type IndexEntry } from './record.js';
import { kvOf } from './range.js';
import { EventType, type Event } from './types.js';

const PREV_LOOKUPS_IN_FLIGHT = 8;

export interface ReadEventsOptions {
  /** Only events of keys in etcd's [key, rangeEnd); all keys when absent. */
  readonly key?: Uint8Array;
  readonly rangeEnd?: Uint8Array;
  /**
   * Attach each event's previous value (the key's state at main revision - 1). Like etcd, it is
   * omitted when that revision is below the compaction revision (events of the compaction revision).
   */
  readonly prevKv?: boolean;
  /** Stop after the revision during which this many events were collected (whole revisions only). Default 1000. */
  readonly maxEvents?: number;
}

export interface EventChunk {
  readonly events: Event[];
  /** Where the next call should start (one past the last revision scanned). */
  readonly nextRevision: bigint;
}

/**
 * Events of main revisions [from, to], in revision order. Returns null when a record needed for
 * prev_kv vanished (compaction overtook the read): the caller reports 'compacted'.
 */
export async function readEvents(
  db: MvccBackend,
  from: bigint,
  to: bigint,
  compacted: bigint,
  opts: ReadEventsOptions,
): Promise<EventChunk | null> {
  const max = opts.maxEvents ?? 1000;
  const events: Event[] = [];
  let next = to + 1n;
  let lastMain = -1n;
  scan: for await (const chunk of db.iterateChunks({ gte: revisionKeyStart(from), lt: revisionKeyStart(to + 1n) })) {
    for (const { key, value } of chunk) {
      const rev = decodeRevisionKey(key);
      if (rev.main !== lastMain && events.length >= max) {
        next = rev.main;
        break scan;
      }
      lastMain = rev.main;
      const rec = decodeEventRecord(rev, value);
      if (opts.key !== undefined && !inRange(rec.kv.key, opts.key, opts.rangeEnd)) continue;
      events.push({ type: rec.tombstone ? EventType.DELETE : EventType.PUT, kv: rec.kv });
    }
  }
  if (opts.prevKv === true) {
    const need = events.filter(
      (ev) => !(ev.type === EventType.PUT && ev.kv.createRevision === ev.kv.modRevision) && ev.kv.modRevision - 1n >= compacted,
    );
    // One seek per event, PREV_LOOKUPS_IN_FLIGHT at a time.
    const prevs: (IndexEntry | undefined)[] = new Array<IndexEntry | undefined>(need.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < need.length) {
        const i = next++;
        const ev = need[i] as Event;
        prevs[i] = await entryAt(db, ev.kv.key, ev.kv.modRevision - 1n);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PREV_LOOKUPS_IN_FLIGHT, need.length) }, worker));
    const want: { ev: Event; prev: IndexEntry }[] = [];
    need.forEach((ev, i) => {
      const prev = prevs[i];
      if (prev !== undefined && !prev.tombstone) want.push({ ev, prev });
    });
    const recs = await fetchRecords(
      db,
      want.map((w) => w.prev),
    );
    for (let i = 0; i < want.length; i++) {
      const rec = recs[i];
      const w = want[i];
      if (rec === undefined || w === undefined) return null;
      w.ev.prevKv = kvOf(w.prev, eventRecordValue(rec));
    }
  }
  return { events, nextRevision: next };
}
