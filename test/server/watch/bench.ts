/**
 * Watch fan-out benchmark (not a test). Run: node --import tsx test/server/watch/bench.ts
 * Env: BENCH_WATCHERS (default 10000), BENCH_REVS (default 200), BENCH_VALUE (default 1024), BENCH_NAIVE=0 skips the baseline.
 * Compares the hub's publish (shared encoding per event list) with encoding a full WatchResponse per
 * watcher, the naive way. Prints one line per measurement.
 */
import { WatchResponse } from '../../../pkg/proto/gen/etcdserverpb/rpc.js';
import { eventToPb } from '../../../pkg/server/convert.js';
import { WatchHub } from '../../../pkg/server/watch/index.js';
import { EventType, type Event } from '../../../pkg/storage/mvcc/index.js';

const WATCHERS = Number(process.env['BENCH_WATCHERS'] ?? 10_000);
const REVS = Number(process.env['BENCH_REVS'] ?? 200);
const VALUE = Number(process.env['BENCH_VALUE'] ?? 1024);
const te = new TextEncoder();
let rev = 1n;
const header = (revision: bigint): { clusterId: bigint; memberId: bigint; revision: bigint; raftTerm: bigint } => ({ clusterId: 1n, memberId: 2n, revision, raftTerm: 3n });
const hub = new WatchHub({
  mvcc: { get currentRevision() { return rev; }, compactRevision: -1n, readEvents: () => Promise.reject(new Error('unused')) },
  header,
  progressNotifyIntervalMs: 0,
  fragmentLimitBytes: 2 * 1024 * 1024,
  maxPendingBytesPerStream: 1 << 30,
});
let bytesOut = 0;
const streams = Array.from({ length: 100 }, () => hub.openStream({ write: (b, done) => { bytesOut += b.length; done(); } }));
for (let i = 0; i < WATCHERS; i++) {
  (streams[i % streams.length])?.create({ key: te.encode('/registry/pods/'), rangeEnd: te.encode('/registry/pods0'), startRevision: 0n, progressNotify: false, filters: [], prevKv: i % 2 === 0, watchId: 0n, fragment: false });
}
const value = new Uint8Array(VALUE).fill(0x61);
const mkEvent = (r: bigint): Event => ({
  type: EventType.PUT,
  kv: { key: te.encode('/registry/pods/default/p1'), createRevision: 2n, modRevision: r, version: r, value, lease: 0n },
  prevKv: { key: te.encode('/registry/pods/default/p1'), createRevision: 2n, modRevision: r - 1n, version: r - 1n, value, lease: 0n },
});

function report(name: string, ms: number): void {
  const per = (ms * 1e6) / (REVS * WATCHERS);
  console.log(`${name.padEnd(46)} ${REVS} revs x ${WATCHERS} watchers in ${ms.toFixed(0)} ms = ${per.toFixed(0)} ns/watcher-event`);
}

// warm-up
for (let i = 0; i < 5; i++) { rev++; hub.publish([mkEvent(rev)], rev); }
let t = performance.now();
for (let i = 0; i < REVS; i++) { rev++; hub.publish([mkEvent(rev)], rev); }
report('hub.publish (shared encoding, 2 groups)', performance.now() - t);
const st = hub.stats();
console.log(`encodings=${st.encodings} liveResponses=${st.liveResponses} bytesOut=${(bytesOut / 1048576).toFixed(0)} MiB`);

t = performance.now();
let sink = 0;
for (let i = 0; i < (process.env['BENCH_NAIVE'] === '0' ? 0 : REVS); i++) {
  rev++;
  const e = mkEvent(rev);
  for (let w = 0; w < WATCHERS; w++) {
    const ev = w % 2 === 0 ? e : { type: e.type, kv: e.kv };
    sink += Buffer.from(WatchResponse.encode({ header: header(rev), watchId: BigInt(w), created: false, canceled: false, compactRevision: 0n, cancelReason: '', fragment: false, events: [eventToPb(ev)] }).finish()).length;
  }
}
report('naive: full WatchResponse.encode per watcher', performance.now() - t);
console.log(`(naive bytes ${(sink / 1048576).toFixed(0)} MiB)`);
hub.stop();
