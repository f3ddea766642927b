/**
 * The watch hub of a member: every watcher of every stream, fed by the events of each applied write.
 *
 * Synced watchers sit in a WatcherIndex and receive a revision's events synchronously as it is
 * published: the events are matched by key, each distinct event list is encoded once (see encode.ts),
 * and each watcher's response is offered to its stream's bounded outbox. A watcher whose stream is
 * over budget becomes unsynced at that revision instead of buffering: nothing more is held for it.
 *
 * Unsynced watchers (started in the past, or fallen behind) catch up from MVCC history in chunks of
 * whole revisions, a few watchers at a time, only while their stream has room. When a chunk reaches
 * the store's current revision the watcher joins the synced index in the same synchronous step, so no
 * revision is missed; `minRev` drops a live revision that the catch-up read already delivered.
 */
import type * as pb from '../../proto/gen/etcdserverpb/rpc.js';
import type { Event, EventChunk, Result } from '../../storage/mvcc/index.js';
import { EventType } from '../../storage/mvcc/index.js';
import type { Logger } from '../../log/index.js';
import { encodeResponse, eventPayload, headerField, responsesFor, revisionBatches } from './encode.js';
import { fanOut } from './fanout.js';
import { WatcherIndex } from './matcher.js';
import type { ResponseSink } from './outbox.js';
import { WatchStream, type StreamHost } from './stream.js';
import { passes, type Watcher } from './watcher.js';

/** The part of MvccStore the hub reads. */
export interface HistorySource {
  readonly currentRevision: bigint;
  readonly compactRevision: bigint;
  readEvents(
    fromRevision: bigint,
    opts: { key?: Uint8Array; rangeEnd?: Uint8Array; prevKv?: boolean; maxEvents?: number },
  ): Promise<Result<EventChunk>>;
}

export interface WatchHubOptions {
  readonly mvcc: HistorySource;
  readonly header: (revision: bigint) => pb.ResponseHeader;
  /** progress_notify period; 0 disables it. */
  readonly progressNotifyIntervalMs: number;
  /** Responses of fragmenting watchers are split at this size (etcd: max-request-bytes + gRPC overhead). */
  readonly fragmentLimitBytes: number;
  /** Per-stream budget of responses not yet taken by the transport. Default 4 MiB. */
  readonly maxPendingBytesPerStream?: number;
  /** Events per catch-up read (whole revisions, so a read may exceed it by one revision). Default 256. */
  readonly catchUpMaxEvents?: number;
  /** Catch-up output is cut into responses of about this size, at revision boundaries. Default 1 MiB. */
  readonly catchUpResponseBytes?: number;
  /** Catch-up reads in flight at once. Default 2. */
  readonly catchUpConcurrency?: number;
  readonly logger?: Logger;
}

export interface HubStats {
  readonly streams: number;
  readonly synced: number;
  readonly unsynced: number;
  /** Revisions published, responses encoded (shared tails), responses sent to synced watchers. */
  readonly published: number;
  readonly encodings: number;
  readonly liveResponses: number;
  /** Times a synced watcher was moved to unsynced because its stream was over budget. */
  readonly demotions: number;
  /** Events handed to streams (live and catch-up; a fragmenting watcher's events count once). */
  readonly events: number;
}

const ZERO_BYTE = new Uint8Array([0]);
const DEFAULT_CATCH_UP_RESPONSE_BYTES = 1024 * 1024;

export class WatchHub {
  readonly #o: WatchHubOptions;
  readonly #synced = new WatcherIndex<Watcher>();
  /** Waiting for a catch-up read (insertion order = fairness). */
  readonly #unsynced = new Set<Watcher>();
  readonly #streams = new Set<WatchStream>();
  /** Streams with a deferred progress request (rechecked after each publish). */
  readonly #progressWaiting = new Set<WatchStream>();
  readonly #host: StreamHost;
  #revision: bigint;
  #workers = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #stats = { published: 0, encodings: 0, liveResponses: 0, demotions: 0, events: 0 };
  /** Resolves waiters of `idle()` (tests). */
  #idleWaiters: (() => void)[] = [];

  constructor(o: WatchHubOptions) {
    this.#o = o;
    this.#revision = o.mvcc.currentRevision;
    this.#host = {
      currentRevision: () => this.#o.mvcc.currentRevision,
      progressRevision: () => this.#revision,
      header: (rev) => this.#o.header(rev),
      attach: (w) => this.#attach(w),
      detach: (w) => this.#detach(w),
      kick: () => this.#schedule(),
      closed: (s) => {
        this.#streams.delete(s);
        this.#progressWaiting.delete(s);
      },
      progressDeferred: (s) => this.#progressWaiting.add(s),
    };
    if (o.progressNotifyIntervalMs > 0) {
      this.#timer = setInterval(() => this.#progressTick(), o.progressNotifyIntervalMs);
      this.#timer.unref();
    }
  }

  /** A new client stream writing to `sink`. */
  openStream(sink: ResponseSink): WatchStream {
    const s = new WatchStream(this.#host, sink, { maxPendingBytes: this.#o.maxPendingBytesPerStream ?? 4 * 1024 * 1024 });
    if (this.#stopped) s.close();
    else this.#streams.add(s);
    return s;
  }

  stats(): HubStats {
    return { streams: this.#streams.size, synced: this.#synced.size, unsynced: this.#countUnsynced(), ...this.#stats };
  }

  /** Resolves when no catch-up work is queued or running (for tests and shutdown). */
  idle(): Promise<void> {
    if (this.#workers === 0 && !this.#anyReady()) return Promise.resolve();
    return new Promise((r) => this.#idleWaiters.push(r));
  }

  /** Stops timers and closes every stream (their watchers are dropped). */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    for (const s of [...this.#streams]) s.close();
  }

  /**
   * The events of one applied write (all with main revision `revision`, in order). Called
   * synchronously by the applier once the write is durable and visible; never blocks on a client.
   */
  publish(events: readonly Event[], revision: bigint): void {
    if (revision > this.#revision) this.#revision = revision;
    if (this.#stopped) return;
    this.#stats.published++;
    if (this.#synced.size > 0 && events.length > 0) this.#fanOut(events, revision);
    // A future-start watcher may just have reached its start revision.
    for (const s of this.#progressWaiting) {
      s.watcherSynced();
      if (!s.progressPending) this.#progressWaiting.delete(s);
    }
  }

  /**
   * The store jumped (a raft snapshot from the leader replaced the state): every synced watcher is
   * caught up from storage from the revision it expects next, as if it were unsynced, so it misses no
   * event between its last delivery and the new state (or is canceled with the compaction revision
   * when that history is gone).
   */
  resync(): void {
    // A synced watcher has seen every published revision up to `seen`.
    const seen = this.#revision;
    const current = this.#o.mvcc.currentRevision;
    if (current > this.#revision) this.#revision = current;
    if (this.#stopped) return;
    for (const s of this.#streams) {
      for (const w of s.watchers.values()) {
        if (w.state !== 'synced') continue;
        if (w.minRev <= seen) w.minRev = seen + 1n;
        this.#synced.remove(w);
        w.state = 'unsynced';
        this.#unsynced.add(w);
      }
    }
    this.#schedule();
  }

  #fanOut(events: readonly Event[], revision: bigint): void {
    const refused = fanOut(this.#synced, events, revision, {
      header: headerField(this.#o.header(revision)),
      fragmentLimitBytes: this.#o.fragmentLimitBytes,
      stats: this.#stats,
    });
    // Slow streams: hold nothing more for these watchers; they re-read from `revision` later.
    for (const w of refused) {
      this.#synced.remove(w);
      w.state = 'unsynced';
      w.minRev = revision;
      this.#unsynced.add(w);
      this.#stats.demotions++;
    }
    if (refused.length > 0) this.#schedule();
  }

  #attach(w: Watcher): void {
    const current = this.#o.mvcc.currentRevision;
    if (w.startRevision === 0n || w.startRevision > current) {
      w.minRev = w.startRevision === 0n ? current + 1n : w.startRevision;
      this.#toSynced(w);
    } else {
      w.minRev = w.startRevision;
      w.state = 'unsynced';
      this.#unsynced.add(w);
      this.#schedule();
    }
  }

  #detach(w: Watcher): void {
    if (w.state === 'synced') this.#synced.remove(w);
    this.#unsynced.delete(w);
    w.state = 'canceled';
  }

  #toSynced(w: Watcher): void {
    w.state = 'synced';
    this.#synced.add(w);
    w.owner.watcherSynced();
  }

  #countUnsynced(): number {
    let n = 0;
    for (const s of this.#streams) for (const w of s.watchers.values()) if (w.state === 'unsynced') n++;
    return n;
  }

  #anyReady(): boolean {
    for (const w of this.#unsynced) if (w.owner.hasRoom()) return true;
    return false;
  }

  /** Starts catch-up workers up to the concurrency limit while some unsynced watcher can progress. */
  #schedule(): void {
    const max = this.#o.catchUpConcurrency ?? 2;
    while (!this.#stopped && this.#workers < max && this.#anyReady()) {
      this.#workers++;
      void this.#work().finally(() => {
        this.#workers--;
        if (this.#workers === 0 && !this.#anyReady()) for (const r of this.#idleWaiters.splice(0)) r();
      });
    }
    if (this.#workers === 0 && !this.#anyReady()) for (const r of this.#idleWaiters.splice(0)) r();
  }

  async #work(): Promise<void> {
    for (;;) {
      if (this.#stopped) return;
      let next: Watcher | undefined;
      for (const w of this.#unsynced) {
        if (w.owner.hasRoom()) {
          next = w;
          break;
        }
      }
      if (next === undefined) return;
      this.#unsynced.delete(next);
      try {
        await this.#catchUp(next);
      } catch (err) {
        if (this.#stopped) return;
        this.#o.logger?.error({ err, watchId: next.id.toString() }, 'watch catch-up failed');
        if (next.state === 'unsynced') this.#unsynced.add(next);
        return;
      }
    }
  }

  /** One chunk of history for `w`; leaves it synced, compacted, or queued for the next chunk. */
  async #catchUp(w: Watcher): Promise<void> {
    const mvcc = this.#o.mvcc;
    if (w.state !== 'unsynced') return;
    if (w.minRev < mvcc.compactRevision) return this.#compacted(w);
    let res: Result<EventChunk> = { ok: true, value: { events: [], nextRevision: w.minRev } };
    if (w.minRev <= mvcc.currentRevision) {
      const r = w.range;
      res = await mvcc.readEvents(w.minRev, {
        key: r.key,
        ...(r.end === undefined ? {} : { rangeEnd: r.end.length === 0 ? ZERO_BYTE : r.end }),
        prevKv: w.prevKv,
        maxEvents: this.#o.catchUpMaxEvents ?? 256,
      });
    }
    if (w.state !== 'unsynced') return; // canceled meanwhile
    if (!res.ok) {
      if (res.error.kind === 'compacted') return this.#compacted(w);
      throw new Error(`mvcc: ${res.error.kind}`);
    }
    const evs = w.noPut || w.noDelete ? res.value.events.filter((e) => passes(w, e.type === EventType.DELETE)) : res.value.events;
    if (evs.length > 0) {
      const header = headerField(this.#o.header(mvcc.currentRevision));
      const limit = w.fragment ? this.#o.fragmentLimitBytes : undefined;
      for (const batch of revisionBatches(evs, this.#o.catchUpResponseBytes ?? DEFAULT_CATCH_UP_RESPONSE_BYTES, w.prevKv)) {
        w.owner.push(responsesFor(w.idField, eventPayload(header, batch), limit));
      }
      this.#stats.events += evs.length;
      w.idle = false;
    }
    if (res.value.nextRevision > w.minRev) w.minRev = res.value.nextRevision;
    if (w.minRev > mvcc.currentRevision) this.#toSynced(w);
    else this.#unsynced.add(w);
  }

  #compacted(w: Watcher): void {
    const mvcc = this.#o.mvcc;
    w.state = 'compacted';
    w.owner.push([
      encodeResponse({
        header: this.#o.header(mvcc.currentRevision),
        watchId: w.id,
        compactRevision: mvcc.compactRevision,
        canceled: true,
      }),
    ]);
    w.owner.watcherSynced();
  }

  /** progress_notify: an empty response to each synced watcher that asked and got no events since the last tick. */
  #progressTick(): void {
    const rev = this.#revision;
    for (const s of this.#streams) {
      for (const w of s.watchers.values()) {
        if (!w.progressNotify) continue;
        if (w.idle && w.state === 'synced' && rev >= w.startRevision) {
          w.owner.offer([encodeResponse({ header: this.#o.header(rev), watchId: w.id })]);
        }
        w.idle = true;
      }
    }
  }
}
