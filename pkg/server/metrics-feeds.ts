/**
 * Adapters from the member's storage, transport and gRPC layers to its Prometheus metrics
 * (pkg/metrics), with etcd's semantics. Labelled children are bound once per peer (or per method),
 * so the hot paths only call inc/observe. The composition root (member.ts) plugs these in.
 */
import type { Server, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Counter, Gauge, Histogram } from 'prom-client';
import { tally, type Metrics } from '../metrics/index.js';
import type { WriteInfo } from '../storage/wal/index.js';
import type { TransportMetrics } from './transport/index.js';

/**
 * etcd_disk_wal_*: berth's raft log lives in RocksDB, which writes and fsyncs its log in one call, so
 * a synced write is observed as both the write and the fsync latency (write latency is thus an upper
 * bound of etcd's buffered-write time); unsynced writes (commit index only) are writes only.
 */
export function walWriteFeed(m: Metrics): (w: WriteInfo) => void {
  const { walWriteDuration, walFsyncDuration, walWriteBytes } = m.disk;
  return (w) => {
    walWriteDuration.observe(w.seconds);
    if (w.synced) walFsyncDuration.observe(w.seconds);
    if (w.bytes > 0) walWriteBytes.inc(w.bytes);
  };
}

interface PeerChildren {
  readonly sentBytes: Counter.Internal;
  readonly receivedBytes: Counter.Internal;
  readonly sentFailures: Counter.Internal;
  readonly receivedFailures: Counter.Internal;
  readonly active: Gauge.Internal<'Local' | 'Remote'>;
  readonly disconnected: Counter.Internal;
  readonly snapshotSent: Counter.Internal;
  readonly snapshotSendFailures: Counter.Internal;
  readonly snapshotSendSeconds: Histogram.Internal<'To'>;
  readonly snapshotReceived: Counter.Internal;
  readonly snapshotReceiveFailures: Counter.Internal;
  readonly snapshotReceiveSeconds: Histogram.Internal<'From'>;
  readonly roundTrip: Histogram.Internal<'To'>;
}

/** Per-peer network metrics; peer labels are member IDs in hex, as etcd's. */
export class PeerMetrics {
  readonly #m: Metrics['network'];
  readonly #local: string;
  readonly #peers = new Map<bigint, PeerChildren>();

  constructor(m: Metrics, self: bigint) {
    this.#m = m.network;
    this.#local = self.toString(16);
  }

  #peer(id: bigint | undefined): PeerChildren {
    const key = id ?? 0n;
    let c = this.#peers.get(key);
    if (c === undefined) {
      const n = this.#m;
      const peer = id === undefined ? 'unknown' : id.toString(16);
      const pair = { Local: this.#local, Remote: peer };
      c = {
        sentBytes: n.peerSentBytes.labels({ To: peer }),
        receivedBytes: n.peerReceivedBytes.labels({ From: peer }),
        sentFailures: n.peerSentFailures.labels({ To: peer }),
        receivedFailures: n.peerReceivedFailures.labels({ From: peer }),
        active: n.activePeers.labels(pair),
        disconnected: n.disconnectedPeers.labels(pair),
        snapshotSent: n.snapshotSendSuccess.labels({ To: peer }),
        snapshotSendFailures: n.snapshotSendFailures.labels({ To: peer }),
        snapshotSendSeconds: n.snapshotSendDuration.labels({ To: peer }),
        snapshotReceived: n.snapshotReceiveSuccess.labels({ From: peer }),
        snapshotReceiveFailures: n.snapshotReceiveFailures.labels({ From: peer }),
        snapshotReceiveSeconds: n.snapshotReceiveDuration.labels({ From: peer }),
        roundTrip: n.peerRoundTripTime.labels({ To: peer }),
      };
      this.#peers.set(key, c);
    }
    return c;
  }

  roundTrip(peer: bigint, seconds: number): void {
    this.#peer(peer).roundTrip.observe(seconds);
  }

  /** The PeerTransport's metrics callbacks. */
  transport(): TransportMetrics {
    return {
      bytesSent: (id, n) => this.#peer(id).sentBytes.inc(n),
      bytesReceived: (id, n) => this.#peer(id).receivedBytes.inc(n),
      messagesDropped: (id, n) => this.#peer(id).sentFailures.inc(n),
      receiveFailed: (id) => this.#peer(id).receivedFailures.inc(),
      peerActivity: (id, change) => {
        const p = this.#peer(id);
        if (change === 'active') return p.active.inc();
        p.active.dec();
        if (change === 'lost') p.disconnected.inc();
      },
      snapshotSent: (id, ok, seconds) => {
        const p = this.#peer(id);
        if (!ok) return p.snapshotSendFailures.inc();
        p.snapshotSent.inc();
        p.snapshotSendSeconds.observe(seconds);
      },
      snapshotReceived: (id, ok, seconds) => {
        const p = this.#peer(id);
        if (!ok) {
          p.snapshotReceiveFailures.inc();
          p.receivedFailures.inc();
          return;
        }
        p.snapshotReceived.inc();
        p.snapshotReceiveSeconds.observe(seconds);
      },
    };
  }
}

/**
 * etcd_disk_backend_snapshot_duration_seconds for a raft snapshot's state stream (etcd observes its
 * backend snapshot from start to close, also for the ones sent to followers): start to end or abort.
 */
export async function* timedSnapshot(source: AsyncIterable<Uint8Array>, m: Metrics): AsyncGenerator<Uint8Array, void, undefined> {
  const t0 = performance.now();
  try {
    yield* source;
  } finally {
    m.disk.backendSnapshotDuration.observe((performance.now() - t0) / 1000);
  }
}

/**
 * etcd_network_client_grpc_{sent,received}_bytes_total: like etcd's gRPC codec, every message
 * serialised to or deserialised from a client counts its encoded size (unary and stream messages
 * alike). Wraps `server.addService` so services added later are counted; JSON gateway calls are
 * dispatched in-process without gRPC encoding and are not counted.
 */
export function countClientGrpcBytes(server: Server, m: Metrics): void {
  const sent = tally(m.network.clientGrpcSentBytes);
  const received = tally(m.network.clientGrpcReceivedBytes);
  const add = server.addService.bind(server);
  server.addService = (service: ServiceDefinition, implementation: UntypedServiceImplementation): void => {
    const counted: Record<string, ServiceDefinition[string]> = {};
    for (const [name, def] of Object.entries(service)) {
      const serialize = def.responseSerialize;
      const deserialize = def.requestDeserialize;
      counted[name] = {
        ...def,
        responseSerialize: (value: unknown): Buffer => {
          const b = serialize(value);
          sent.inc(b.byteLength);
          return b;
        },
        requestDeserialize: (bytes: Buffer): unknown => {
          received.inc(bytes.byteLength);
          return deserialize(bytes);
        },
      };
    }
    add(counted as ServiceDefinition, implementation);
  };
}
