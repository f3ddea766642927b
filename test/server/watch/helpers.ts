/** Hub test scaffolding: a real MVCC store on a temp RocksDB, a hub over it, and fake client streams. */
import { WatchResponse, type WatchCreateRequest } from '../../../pkg/proto/gen/etcdserverpb/rpc.js';
import { WatchHub, type WatchHubOptions, type WatchStream } from '../../../pkg/server/watch/index.js';
import { open as openStore, unwrap, type Fixture } from '../../storage/mvcc/helpers.js';

export { b, str } from '../../storage/mvcc/helpers.js';

/** A client stream: decodes every response; while not reading, holds the transport's `done` callbacks. */
export class FakeClient {
  readonly responses: WatchResponse[] = [];
  readonly stream: WatchStream;
  #reading = true;
  #held: (() => void)[] = [];
  #waiters: { n: number; resolve: () => void }[] = [];

  constructor(hub: WatchHub) {
    this.stream = hub.openStream({
      write: (bytes, done) => {
        this.responses.push(WatchResponse.decode(bytes));
        if (this.#reading) done();
        else this.#held.push(done);
        for (const w of this.#waiters.filter((x) => this.responses.length >= x.n)) {
          this.#waiters.splice(this.#waiters.indexOf(w), 1);
          w.resolve();
        }
      },
    });
  }

  /** Resolves once at least `n` responses arrived in total. */
  waitFor(n: number): Promise<void> {
    if (this.responses.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ n, resolve }));
  }

  stopReading(): void {
    this.#reading = false;
  }

  resumeReading(): void {
    this.#reading = true;
    for (const d of this.#held.splice(0)) d();
  }

  get heldCount(): number {
    return this.#held.length;
  }

  create(req: Partial<WatchCreateRequest>): void {
    this.stream.create({
      key: new Uint8Array(),
      rangeEnd: new Uint8Array(),
      startRevision: 0n,
      progressNotify: false,
      filters: [],
      prevKv: false,
      watchId: 0n,
      fragment: false,
      ...req,
    });
  }

  /** Events received by watcher `id`, as [type, key, value, modRevision, prevValue?]. */
  eventsOf(id: bigint): [number, string, string, bigint, string | undefined][] {
    const dec = (u: Uint8Array | undefined): string => Buffer.from(u ?? new Uint8Array()).toString('latin1');
    return this.responses
      .filter((r) => r.watchId === id)
      .flatMap((r) => r.events)
      .map((e) => [e.type, dec(e.kv?.key), dec(e.kv?.value), e.kv?.modRevision ?? 0n, e.prevKv === undefined ? undefined : dec(e.prevKv.value)]);
  }
}

export interface HubFixture {
  readonly fx: Fixture;
  readonly hub: WatchHub;
  put(key: string, value: string | Uint8Array): Promise<bigint>;
  del(key: string, rangeEnd?: string): Promise<bigint>;
  compact(rev: bigint): Promise<void>;
  close(): Promise<void>;
}

export async function openHub(opts: Partial<WatchHubOptions> = {}): Promise<HubFixture> {
  const fx = await openStore();
  const enc = (s: string | Uint8Array): Uint8Array => (typeof s === 'string' ? new Uint8Array(Buffer.from(s, 'latin1')) : s);
  const hub = new WatchHub({
    mvcc: {
      get currentRevision() {
        return fx.store.currentRevision;
      },
      get compactRevision() {
        return fx.store.compactRevision;
      },
      readEvents: (from, o) => fx.store.readEvents(from, o),
    },
    header: (revision) => ({ clusterId: 1n, memberId: 2n, revision, raftTerm: 3n }),
    progressNotifyIntervalMs: 0,
    fragmentLimitBytes: 1024 * 1024,
    ...opts,
  });
  return {
    fx,
    hub,
    async put(key, value) {
      const p = unwrap(await fx.store.put({ key: enc(key), value: enc(value) }));
      hub.publish(p.events, p.revision);
      return p.revision;
    },
    async del(key, rangeEnd) {
      const p = unwrap(await fx.store.deleteRange({ key: enc(key), ...(rangeEnd === undefined ? {} : { rangeEnd: enc(rangeEnd) }) }));
      if (p.events.length > 0) hub.publish(p.events, p.revision);
      return p.revision;
    },
    async compact(rev) {
      unwrap(await fx.store.compact({ revision: rev, physical: true }));
    },
    async close() {
      hub.stop();
      await fx.close();
    },
  };
}
