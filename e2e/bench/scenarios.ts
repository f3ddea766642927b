/**
 * The benchmark scenarios and their sizes in full and smoke mode. Tool scenarios are argument lists for
 * etcd's `benchmark` tool; every one is bounded by a count and by a wall-clock timeout.
 */
import type { KubeOptions } from './kube.js';

export type Mode = 'full' | 'smoke';

export interface ToolScenario {
  readonly id: string;
  readonly label: string;
  readonly args: readonly string[];
  readonly timeoutMs: number;
  /** Which summary to read (watch-latency prints a put summary, then the watch one). */
  readonly section?: string;
  /** The berth service the scenario needs; it is skipped if that module is not registered. */
  readonly needs?: 'watch' | 'lease';
  /** 3-member only: send to the leader alone instead of all members. */
  readonly leaderOnly?: boolean;
}

export interface Sizes {
  readonly put1: number;
  readonly put1000: number;
  readonly range1: number;
  readonly range1000: number;
  readonly txnPut: number;
  /** Puts of the fan-out (throughput) row, at 100 puts/s. */
  readonly watchPuts: number;
  /** Puts of the latency row, at `watchLatencyRate` puts/s. */
  readonly watchLatencyPuts: number;
  readonly watchStreams: number;
  readonly watchersPerStream: number;
  readonly leaseKeepalives: number;
  readonly bulkKeys: number;
  readonly cluster3Put: number;
  /** Requests of each warm-up run (not measured) before a fresh server's first measured scenario. */
  readonly warmUp: number;
  readonly toolTimeoutMs: number;
  readonly bulkTimeoutMs: number;
  readonly kube: KubeOptions;
}

export function sizes(mode: Mode): Sizes {
  if (mode === 'smoke') {
    return {
      put1: 200, put1000: 2000, range1: 500, range1000: 3000, txnPut: 500,
      watchPuts: 50, watchLatencyPuts: 20, watchStreams: 2, watchersPerStream: 10, leaseKeepalives: 500,
      bulkKeys: 10_000, cluster3Put: 2000, warmUp: 200, toolTimeoutMs: 30_000, bulkTimeoutMs: 60_000,
      kube: { objects: 300, valueBytes: 1024, concurrency: 50, connections: 5, lists: 2, pageLimit: 100, phaseTimeoutMs: 20_000 },
    };
  }
  return {
    put1: 3000, put1000: 30_000, range1: 5000, range1000: 60_000, txnPut: 10_000,
    watchPuts: 500, watchLatencyPuts: 600, watchStreams: 10, watchersPerStream: 100, leaseKeepalives: 10_000,
    bulkKeys: 1_000_000, cluster3Put: 20_000, warmUp: 3000, toolTimeoutMs: 150_000, bulkTimeoutMs: 420_000,
    kube: { objects: 10_000, valueBytes: 1024, concurrency: 100, connections: 10, lists: 5, pageLimit: 500, phaseTimeoutMs: 90_000 },
  };
}

const c1 = ['--clients', '1', '--conns', '1'];
const c1000 = ['--clients', '1000', '--conns', '100'];

/**
 * The two watch rows run the tool's `watch-latency` (every watcher on one key; latency is put response →
 * event at each watcher). At 100 puts/s, 10 streams x 100 watchers ask for 100,000 events/s, more than
 * either server (or the Go load generator) delivers on 2 cores: that row measures fan-out throughput,
 * its latencies are a queue's. The latency row offers 10 puts/s (10,000 events/s), which both servers
 * sustain with p50 in milliseconds (measured: etcd ~20 ms, berth ~8 ms). The tool's rate limiter lets
 * `rate` puts through at once at the start, so the first second is a burst: 1/duration of the samples.
 */
const WATCH_LATENCY_RATE = 10;
const WATCH_FANOUT_RATE = 100;

function watchRow(s: Sizes, o: { id: string; title: string; rate: number; puts: number; timeoutMs: number }): ToolScenario {
  const n = (x: number): string => String(x);
  const offered = (o.rate * s.watchStreams * s.watchersPerStream).toLocaleString('en-US');
  return {
    id: o.id,
    label: `${o.title}, ${n(s.watchStreams)} streams x ${n(s.watchersPerStream)} watchers, prev_kv, ${n(o.rate)} puts/s (${offered} events/s offered)`,
    args: ['--clients', n(s.watchStreams), '--conns', n(s.watchStreams), 'watch-latency', '--put-total', n(o.puts), '--put-rate', n(o.rate), '--streams', n(s.watchStreams), '--watchers-per-stream', n(s.watchersPerStream), '--prevkv'],
    timeoutMs: o.timeoutMs,
    section: 'Watch events summary:',
    needs: 'watch',
  };
}

/** The 1-member tool scenarios, in run order. The range scenarios read the key `foo`, put beforehand. */
export function singleMemberScenarios(s: Sizes): ToolScenario[] {
  const t = s.toolTimeoutMs;
  const n = (x: number): string => String(x);
  return [
    { id: 'put-1', label: 'put, 1 client / 1 conn (256 B values)', args: [...c1, 'put', '--total', n(s.put1), '--key-size', '8', '--val-size', '256', '--sequential-keys', '--key-space-size', n(s.put1)], timeoutMs: t },
    { id: 'put-1000', label: 'put, 1000 clients / 100 conns', args: [...c1000, 'put', '--total', n(s.put1000), '--key-size', '8', '--val-size', '256', '--key-space-size', '100000'], timeoutMs: t },
    { id: 'range-l-1', label: 'range 1 key, linearizable, 1 client', args: [...c1, 'range', 'foo', '--consistency', 'l', '--total', n(s.range1)], timeoutMs: t },
    { id: 'range-s-1', label: 'range 1 key, serializable, 1 client', args: [...c1, 'range', 'foo', '--consistency', 's', '--total', n(s.range1)], timeoutMs: t },
    { id: 'range-l-1000', label: 'range 1 key, linearizable, 1000 clients / 100 conns', args: [...c1000, 'range', 'foo', '--consistency', 'l', '--total', n(s.range1000)], timeoutMs: t },
    { id: 'range-s-1000', label: 'range 1 key, serializable, 1000 clients / 100 conns', args: [...c1000, 'range', 'foo', '--consistency', 's', '--total', n(s.range1000)], timeoutMs: t },
    { id: 'txn-put', label: 'txn-put (1 put per txn), 100 clients / 10 conns', args: ['--clients', '100', '--conns', '10', 'txn-put', '--total', n(s.txnPut), '--key-size', '8', '--val-size', '256', '--key-space-size', '100000'], timeoutMs: t },
    watchRow(s, { id: 'watch-latency', title: 'watch event latency', rate: WATCH_LATENCY_RATE, puts: s.watchLatencyPuts, timeoutMs: t }),
    watchRow(s, { id: 'watch-fanout', title: 'watch fan-out throughput', rate: WATCH_FANOUT_RATE, puts: s.watchPuts, timeoutMs: t }),
    { id: 'lease-keepalive', label: 'lease keep-alive, 1 client', args: [...c1, 'lease-keepalive', '--total', n(s.leaseKeepalives)], timeoutMs: t, needs: 'lease' },
  ];
}

/**
 * Run (unmeasured) on every fresh server, etcd and berth alike, before its first measured scenario:
 * without it the first rows of a JIT-compiled server (berth on V8) time the compiler, not the steady
 * state a long-running member is in. Puts use 16-byte keys, which no measured scenario writes or reads.
 */
export function warmUpScenarios(s: Sizes, o: { leaderOnly?: boolean } = {}): ToolScenario[] {
  const t = s.toolTimeoutMs;
  const n = String(s.warmUp);
  const leader = o.leaderOnly === true ? ['--target-leader'] : [];
  return [
    { id: 'warm-up-put-1', label: 'warm-up: put, 1 client', args: [...c1, ...leader, 'put', '--total', n, '--key-size', '16', '--val-size', '256', '--sequential-keys', '--key-space-size', n], timeoutMs: t },
    { id: 'warm-up-put-100', label: 'warm-up: put, 100 clients', args: ['--clients', '100', '--conns', '10', ...leader, 'put', '--total', n, '--key-size', '16', '--val-size', '256', '--key-space-size', n], timeoutMs: t },
    { id: 'warm-up-range-100', label: 'warm-up: range, 100 clients', args: ['--clients', '100', '--conns', '10', 'range', 'foo', '--total', n], timeoutMs: t },
  ];
}

/** The bulk load: txn-put with 100 puts per txn over a sequential key space of `bulkKeys` keys. */
export function bulkLoad(s: Sizes): ToolScenario {
  const ops = 100;
  return {
    id: 'bulk-load',
    label: `bulk load ${s.bulkKeys.toLocaleString('en-US')} keys (16 B keys, 256 B values, txn of ${String(ops)} puts, 100 clients); rate in keys/s`,
    args: ['--clients', '100', '--conns', '10', 'txn-put', '--txn-ops', String(ops), '--total', String(Math.ceil(s.bulkKeys / ops)), '--key-size', '16', '--val-size', '256', '--key-space-size', String(s.bulkKeys)],
    timeoutMs: s.bulkTimeoutMs,
  };
}

/** 3-member scenarios. */
export function threeMemberScenarios(s: Sizes): ToolScenario[] {
  const t = s.toolTimeoutMs;
  const n = String(s.cluster3Put);
  return [
    { id: '3m-put-1', label: '3 members: put, 1 client, to the leader', args: [...c1, '--target-leader', 'put', '--total', String(Math.ceil(s.cluster3Put / 10)), '--key-size', '8', '--val-size', '256'], timeoutMs: t, leaderOnly: true },
    { id: '3m-put-1000-leader', label: '3 members: put, 1000 clients / 100 conns, to the leader', args: [...c1000, '--target-leader', 'put', '--total', n, '--key-size', '8', '--val-size', '256', '--key-space-size', '100000'], timeoutMs: t, leaderOnly: true },
    { id: '3m-put-1000-all', label: '3 members: put, 1000 clients / 100 conns, to all members', args: [...c1000, 'put', '--total', n, '--key-size', '8', '--val-size', '256', '--key-space-size', '100000'], timeoutMs: t },
    { id: '3m-range-l-1000', label: '3 members: range linearizable, 1000 clients, all members', args: [...c1000, 'range', 'foo', '--consistency', 'l', '--total', n], timeoutMs: t },
  ];
}
