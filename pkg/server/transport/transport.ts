/**
 * PeerTransport: raft's messages to and from the other members.
 *
 * Sending: send() groups a Ready's messages by destination and hands each peer one encoded RaftBatch
 * per call (split only above maxBatchBytes) — it never blocks and never throws; a peer writes them on
 * its raft stream (stream.ts), or on the gRPC Send stream when the peer's port does not take raft
 * streams; snap messages go through a separate checksummed gRPC upload. Receiving: raft streams
 * handed to serveStream() and the Raft service registered on the given grpc.Server check the cluster
 * id, decode, and hand each message to onMessage.
 * All callbacks into the caller (onUnreachable, onSnapshotStatus) run from a microtask, never from
 * inside send(), and never after stop().
 */
import { credentials as grpcCredentials, type ChannelCredentials } from '@grpc/grpc-js';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { RaftBatch } from '../../proto/gen/berthpb/transport.js';
import { encodeMessage } from '../../proto/encode.js';
import type * as pb from '../../proto/gen/berthpb/raft.js';
import type { Message } from '../../raft/index.js';
import type { Transport } from '../raft-node.js';
import { messageToPb } from './codec.js';
import { DEFAULT_LIMITS, type PeerTransportOptions, type TransportLimits } from './options.js';
import { Peer, type EncodedBatch, type PeerContext, type PeerStatus } from './peer.js';
import { Receiver } from './receiver.js';
import { dialPlain } from './stream.js';
import { RAW_RAFT_SERVICE, hex } from './wire.js';

function credentialsFor(c: PeerTransportOptions['credentials']): (url: string) => ChannelCredentials {
  if (typeof c === 'function') return c;
  const fixed = c ?? grpcCredentials.createInsecure();
  return () => fixed;
}

/** A cheap upper-bound guess of a message's encoded size, used only to split large batches. */
function estimateSize(m: Message): number {
  let n = 64 + m.context.byteLength;
  for (const e of m.entries) n += e.data.byteLength + 24;
  if (m.snapshot !== undefined) n += m.snapshot.data.byteLength + 64;
  return n;
}

export class PeerTransport implements Transport {
  readonly #o: PeerTransportOptions;
  readonly #limits: TransportLimits;
  readonly #peers = new Map<bigint, Peer>();
  readonly #peerCtx: PeerContext;
  readonly #receiver: Receiver;
  #wanted: ReadonlyMap<bigint, readonly string[]> = new Map();
  #state: 'new' | 'started' | 'stopped' = 'new';
  #pendingUnreachable = new Set<bigint>();
  #unreachableScheduled = false;

  constructor(opts: PeerTransportOptions) {
    this.#o = opts;
    this.#limits = { ...DEFAULT_LIMITS, ...opts.limits };
    const m = opts.metrics;
    this.#peerCtx = {
      clusterId: opts.clusterId,
      memberId: opts.memberId,
      serverVersion: opts.serverVersion ?? '',
      credentials: credentialsFor(opts.credentials),
      dialStream: opts.dialStream ?? dialPlain,
      limits: this.#limits,
      random: opts.random ?? Math.random,
      logger: opts.logger,
      unreachable: (id) => this.#unreachable(id),
      snapshotStatus: (id, ok) =>
        queueMicrotask(() => {
          if (this.#state !== 'stopped') this.#call(() => opts.onSnapshotStatus(id, ok));
        }),
      snapshotSource: opts.snapshotSource,
      bytesSent: (id, n) => m?.bytesSent?.(id, n),
      dropped: (id, n) => m?.messagesDropped?.(id, n),
      activity: (id, change) => m?.peerActivity?.(id, change),
      snapshotSent: (id, ok, seconds) => m?.snapshotSent?.(id, ok, seconds),
      removed: () =>
        queueMicrotask(() => {
          if (this.#state !== 'stopped' && opts.onRemoved !== undefined) this.#call(opts.onRemoved);
        }),
    };
    this.#receiver = new Receiver({
      clusterId: opts.clusterId,
      memberId: opts.memberId,
      serverVersion: opts.serverVersion ?? '',
      snapshotDir: opts.snapshotDir,
      maxSnapshotBytes: this.#limits.maxSnapshotBytes,
      onMessage: opts.onMessage,
      onSnapshot: opts.onSnapshot,
      isRemoved: opts.isRemoved ?? (() => false),
      bytesReceived: (id, n) => m?.bytesReceived?.(id, n),
      snapshotReceived: (id, ok, seconds) => m?.snapshotReceived?.(id, ok, seconds),
      receiveFailed: (id) => m?.receiveFailed?.(id),
      logger: opts.logger,
      acceptsStreams: opts.acceptsStreams === true,
    });
  }

  /**
   * An incoming raft stream (stream.ts), routed here by the peer port after its preface; `rest` is
   * what followed the preface. Refused (closed) unless the transport is started.
   */
  serveStream(conn: Duplex, rest: Uint8Array): void {
    if (this.#state !== 'started') {
      conn.destroy();
      return;
    }
    this.#receiver.serveStream(conn, rest);
  }

  /** Registers the Raft service on the server (if one was given) and starts connecting to peers. */
  start(): void {
    if (this.#state !== 'new') throw new Error('transport: start() called twice');
    this.#state = 'started';
    mkdirSync(this.#o.snapshotDir, { recursive: true });
    // Uploads cut short by a crash leave `.part` files; `.snap` files belong to onSnapshot's owner.
    for (const f of readdirSync(this.#o.snapshotDir)) if (f.endsWith('.part')) rmSync(join(this.#o.snapshotDir, f), { force: true });
    this.#o.server?.addService(RAW_RAFT_SERVICE, this.#receiver.handlers());
    this.#reconcile();
  }

  /**
   * Closes every stream, cancels uploads and retry timers, unregisters the service and ends incoming
   * streams with UNAVAILABLE. Afterwards nothing of the transport keeps the event loop alive and no
   * callback fires. The grpc.Server itself belongs to the caller.
   */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    const wasStarted = this.#state === 'started';
    this.#state = 'stopped';
    this.#pendingUnreachable.clear();
    const peers = [...this.#peers.values()];
    this.#peers.clear();
    if (wasStarted) this.#o.server?.removeService(RAW_RAFT_SERVICE);
    await Promise.all([...peers.map((p) => p.stop()), this.#receiver.stop()]);
  }

  /** The members to talk to (id → peer URLs), excluding or including this member (it is skipped). */
  setPeers(peers: ReadonlyMap<bigint, readonly string[]>): void {
    this.#wanted = new Map(peers);
    if (this.#state === 'started') this.#reconcile();
  }

  /** For health checks and tests: the sending side's view of one peer. */
  peerStatus(id: bigint): PeerStatus | undefined {
    return this.#peers.get(id)?.status();
  }

  /** When the stream to peer `id` became active (ms since epoch), 0 when it is not (etcd's ActiveSince). */
  activeSince(id: bigint): number {
    return this.#peers.get(id)?.activeSince() ?? 0;
  }

  send(msgs: readonly Message[]): void {
    if (this.#state !== 'started') return;
    const groups = new Map<bigint, { batches: pb.Message[][]; size: number }>();
    for (const m of msgs) {
      const peer = this.#peers.get(m.to);
      if (peer === undefined) {
        this.#o.metrics?.messagesDropped?.(m.to, 1);
        if (m.type === 'snap') this.#peerCtx.snapshotStatus(m.to, false);
        else this.#unreachable(m.to);
        continue;
      }
      if (m.type === 'snap') {
        peer.sendSnapshot(m);
        continue;
      }
      const size = estimateSize(m);
      let g = groups.get(m.to);
      if (g === undefined) {
        g = { batches: [[]], size: 0 };
        groups.set(m.to, g);
      }
      if (g.size > 0 && g.size + size > this.#limits.maxBatchBytes) {
        g.batches.push([]);
        g.size = 0;
      }
      (g.batches[g.batches.length - 1] as pb.Message[]).push(messageToPb(m));
      g.size += size;
    }
    for (const [to, g] of groups) {
      const peer = this.#peers.get(to) as Peer;
      for (const messages of g.batches) {
        const bytes = encodeMessage(RaftBatch, { clusterId: this.#o.clusterId, from: this.#o.memberId, to, messages });
        const b: EncodedBatch = { bytes, count: messages.length };
        peer.enqueue(b);
      }
    }
  }

  #reconcile(): void {
    for (const [id, peer] of this.#peers) {
      if (!this.#wanted.has(id)) {
        this.#peers.delete(id);
        this.#o.logger.info({ 'remote-peer-id': hex(id) }, 'removed remote peer');
        void peer.stop();
      }
    }
    for (const [id, urls] of this.#wanted) {
      if (id === this.#o.memberId) continue;
      const peer = this.#peers.get(id);
      if (peer !== undefined) {
        peer.setUrls(urls);
        continue;
      }
      const p = new Peer(id, urls, this.#peerCtx);
      this.#peers.set(id, p);
      this.#o.logger.info({ 'remote-peer-id': hex(id), urls }, 'added remote peer');
      p.start();
    }
  }

  #unreachable(id: bigint): void {
    if (this.#state !== 'started') return;
    this.#pendingUnreachable.add(id);
    if (this.#unreachableScheduled) return;
    this.#unreachableScheduled = true;
    queueMicrotask(() => {
      this.#unreachableScheduled = false;
      const ids = [...this.#pendingUnreachable];
      this.#pendingUnreachable.clear();
      if (this.#state !== 'started') return;
      for (const i of ids) this.#call(() => this.#o.onUnreachable(i));
    });
  }

  #call(f: () => void): void {
    try {
      f();
    } catch (err) {
      this.#o.logger.error({ err }, 'transport callback failed');
    }
  }
}
