/**
 * The sending side for one remote member: one long-lived Raft.Send stream, a bounded buffer in front
 * of it, and reconnection with backoff.
 *
 * States: connecting (first attempt) → active (Hello accepted, stream open) ⇄ inactive (attempt or
 * stream failed; retrying with backoff) and refused (the peer answered Hello with a cluster id,
 * member id or protocol mismatch; retried slowly, nothing is sent, the mismatch is logged once).
 * Invariants: messages to this peer leave in the order send() was called; the buffer never holds
 * more than maxQueuedMessages / maxQueuedBytes; every dropped message and every message handed over
 * while the peer is inactive or refused is followed by an unreachable report.
 */
import { Client, type ChannelCredentials, type ClientUnaryCall, type ServiceError } from '@grpc/grpc-js';
import type { Socket } from 'node:net';
import type { HelloResponse } from '../../proto/gen/berthpb/transport.js';
import type { Message } from '../../raft/index.js';
import { backoffDelay } from './backoff.js';
import type { PeerActivity, TransportLimits, TransportLogger } from './options.js';
import { peerAddress } from './peer-url.js';
import { uploadSnapshot } from './snapshot-sender.js';
import { openStreamConduit, type Conduit } from './stream.js';
import { PROTOCOL_VERSION, callHello, hex, openSendStream, refusalOf, type Refusal } from './wire.js';
import { failpoint } from '../../failpoint/index.js';

export interface PeerContext {
  readonly clusterId: bigint;
  readonly memberId: bigint;
  readonly serverVersion: string;
  readonly credentials: (url: string) => ChannelCredentials;
  /**
   * A connecting socket to the peer's raft stream (stream.ts) at `url`, or undefined to use the gRPC
   * Send stream. Used only when the peer's Hello answer says its port takes raft streams.
   */
  readonly dialStream: (url: string) => Socket | undefined;
  readonly limits: TransportLimits;
  readonly random: () => number;
  readonly logger: TransportLogger;
  /** Deferred by the transport: never re-enters raft from inside send(). */
  readonly unreachable: (id: bigint) => void;
  readonly snapshotStatus: (id: bigint, ok: boolean) => void;
  readonly snapshotSource: (m: Message) => AsyncIterable<Uint8Array>;
  readonly bytesSent: (id: bigint, n: number) => void;
  readonly dropped: (id: bigint, n: number) => void;
  readonly activity: (id: bigint, change: PeerActivity) => void;
  readonly snapshotSent: (id: bigint, ok: boolean, seconds: number) => void;
  /** The peer refused us as a removed member. */
  readonly removed?: () => void;
}

/** One encoded RaftBatch and how many messages it holds. */
export interface EncodedBatch {
  readonly bytes: Uint8Array;
  readonly count: number;
}

export type PeerState = 'connecting' | 'active' | 'inactive' | 'refused' | 'stopped';

export interface PeerStatus {
  readonly state: PeerState;
  readonly url: string | undefined;
  readonly queuedMessages: number;
  readonly queuedBytes: number;
  readonly snapshotInFlight: boolean;
  /** While active: a raft stream (stream.ts) or the gRPC Send stream. */
  readonly stream?: 'stream' | 'grpc';
}

const REFUSAL_LOG: Readonly<Record<Refusal, string>> = {
  'cluster-id-mismatch': 'peer cluster ID mismatch',
  'member-id-mismatch': 'peer member ID mismatch',
  'protocol-version-mismatch': 'peer protocol version mismatch',
  'member-removed': 'the member has been permanently removed from the cluster',
};

export class Peer {
  readonly id: bigint;
  readonly #ctx: PeerContext;
  #urls: readonly string[];
  #urlIndex = 0;
  #state: PeerState = 'connecting';
  #queue: EncodedBatch[] = [];
  #queuedMessages = 0;
  #queuedBytes = 0;
  #dropping = false;
  /** Bumped whenever the current attempt is abandoned, so its late callbacks are ignored. */
  #gen = 0;
  #attempt = 0;
  #client: Client | undefined;
  #hello: ClientUnaryCall | undefined;
  #conduit: Conduit | undefined;
  /** Which kind of stream the current/last one was (for peerStatus and the log). */
  #kind: 'stream' | 'grpc' | undefined;
  #writable = false;
  #timer: NodeJS.Timeout | undefined;
  #refusalLogged: string | undefined;
  /** When the current stream opened; a stream that keeps failing soon after opening keeps backing off. */
  #activeSince = 0;
  #snapshot: { readonly abort: AbortController; readonly done: Promise<void> } | undefined;

  constructor(id: bigint, urls: readonly string[], ctx: PeerContext) {
    this.id = id;
    this.#urls = [...urls];
    this.#ctx = ctx;
  }

  start(): void {
    this.#connect();
  }

  status(): PeerStatus {
    return {
      state: this.#state,
      url: this.#url(),
      queuedMessages: this.#queuedMessages,
      queuedBytes: this.#queuedBytes,
      snapshotInFlight: this.#snapshot !== undefined,
      ...(this.#state === 'active' && this.#kind !== undefined ? { stream: this.#kind } : {}),
    };
  }

  /** When the current stream to the peer opened (ms since epoch); 0 when it is not active. */
  activeSince(): number {
    return this.#state === 'active' ? this.#activeSince : 0;
  }

  /** New advertised URLs. The open stream is kept when its URL is still listed. */
  setUrls(urls: readonly string[]): void {
    if (this.#state === 'stopped' || (urls.length === this.#urls.length && urls.every((u, i) => u === this.#urls[i]))) return;
    const current = this.#url();
    this.#urls = [...urls];
    const keep = current !== undefined ? urls.indexOf(current) : -1;
    if (keep >= 0) {
      this.#urlIndex = keep;
      return;
    }
    this.#urlIndex = 0;
    this.#attempt = 0;
    this.#abandon();
    this.#connect();
  }

  enqueue(b: EncodedBatch): void {
    if (this.#state === 'stopped') return;
    const l = this.#ctx.limits;
    if (this.#state === 'refused') {
      this.#ctx.dropped(this.id, b.count);
      this.#ctx.unreachable(this.id);
      return;
    }
    if (this.#queuedMessages + b.count > l.maxQueuedMessages || this.#queuedBytes + b.bytes.byteLength > l.maxQueuedBytes) {
      this.#ctx.dropped(this.id, b.count);
      this.#ctx.unreachable(this.id);
      if (!this.#dropping) {
        this.#dropping = true;
        this.#ctx.logger.warn(
          {
            'remote-peer-id': hex(this.id),
            'queued-messages': this.#queuedMessages,
            'queued-bytes': this.#queuedBytes,
            state: this.#state,
          },
          'dropped internal raft message since sending buffer is full',
        );
      }
      return;
    }
    this.#queue.push(b);
    this.#queuedMessages += b.count;
    this.#queuedBytes += b.bytes.byteLength;
    if (this.#state === 'inactive') this.#ctx.unreachable(this.id);
    this.#flush();
  }

  /** Uploads the snapshot for snap message `m` on a channel of its own; one at a time per peer. */
  sendSnapshot(m: Message): void {
    if (this.#state === 'stopped') return;
    const url = this.#url();
    const target = url === undefined ? undefined : peerAddress(url);
    if (this.#snapshot !== undefined || this.#state === 'refused' || target === undefined || !target.ok) {
      this.#ctx.logger.warn(
        { 'remote-peer-id': hex(this.id), state: this.#state, 'snapshot-in-flight': this.#snapshot !== undefined },
        'snapshot not sent',
      );
      this.#ctx.snapshotStatus(this.id, false);
      return;
    }
    const abort = new AbortController();
    const client = new Client(target.target, this.#ctx.credentials(url as string), this.#channelOptions());
    const index = m.snapshot?.metadata.index;
    const run = async (): Promise<void> => {
      let ok = false;
      const t0 = performance.now();
      try {
        failpoint('snapshot-send-before');
        const payload = this.#ctx.snapshotSource(m);
        const r = await uploadSnapshot(client, {
          message: m,
          payload,
          clusterId: this.#ctx.clusterId,
          from: this.#ctx.memberId,
          chunkBytes: this.#ctx.limits.snapshotChunkBytes,
          bytesSent: (n) => this.#ctx.bytesSent(this.id, n),
          signal: abort.signal,
        });
        ok = r.ok;
        if (r.ok) failpoint('snapshot-send-after');
        if (r.ok) this.#ctx.logger.info({ 'remote-peer-id': hex(this.id), index, bytes: r.bytes }, 'sent snapshot');
        else if (!abort.signal.aborted) {
          this.#ctx.logger.warn({ 'remote-peer-id': hex(this.id), index, error: r.reason }, 'failed to send snapshot');
        }
      } catch (err) {
        this.#ctx.logger.warn({ 'remote-peer-id': hex(this.id), index, err }, 'failed to send snapshot');
      } finally {
        client.close();
        if (this.#snapshot?.abort === abort) this.#snapshot = undefined;
        if (!abort.signal.aborted) {
          this.#ctx.snapshotSent(this.id, ok, (performance.now() - t0) / 1000);
          this.#ctx.snapshotStatus(this.id, ok);
        }
      }
    };
    // Started from a microtask so that a source throwing synchronously still finds #snapshot set.
    this.#snapshot = { abort, done: Promise.resolve().then(run) };
  }

  /** Cancels the stream, any upload and the retry timer; drops the buffer. No callbacks afterwards. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    if (this.#state === 'active') this.#ctx.activity(this.id, 'closed');
    this.#state = 'stopped';
    this.#abandon();
    this.#queue = [];
    this.#queuedMessages = 0;
    this.#queuedBytes = 0;
    const s = this.#snapshot;
    if (s !== undefined) {
      s.abort.abort();
      await s.done;
    }
  }

  #url(): string | undefined {
    return this.#urls.length === 0 ? undefined : this.#urls[this.#urlIndex % this.#urls.length];
  }

  #channelOptions(): Record<string, number> {
    return {
      // A private subchannel per client, so a fresh attempt is not held back by grpc-js's own
      // (global, up to 120 s) reconnect backoff for the same address; our backoff governs.
      'grpc.use_local_subchannel_pool': 1,
      'grpc.initial_reconnect_backoff_ms': this.#ctx.limits.backoffBaseMs,
      'grpc.max_reconnect_backoff_ms': this.#ctx.limits.backoffMaxMs,
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      // Our own reconnection re-sends nothing: raft recovers lost messages. grpc-js's retry layer
      // would only copy every message of the long-lived Send stream into its replay buffer.
      'grpc.enable_retries': 0,
    };
  }

  /** Drops the current attempt: timer, Hello, stream and channel. */
  #abandon(): void {
    this.#gen++;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#hello?.cancel();
    this.#hello = undefined;
    this.#conduit?.close();
    this.#conduit = undefined;
    this.#writable = false;
    this.#client?.close();
    this.#client = undefined;
  }

  #connect(): void {
    if (this.#state === 'stopped') return;
    this.#abandon();
    const gen = this.#gen;
    const url = this.#url();
    const target = url === undefined ? undefined : peerAddress(url);
    if (target === undefined || !target.ok) {
      const msg = target === undefined ? 'transport: peer has no URLs' : target.message;
      this.#refuse(`bad-url/${url ?? ''}`, 'invalid peer URL', { url, error: msg });
      return;
    }
    const client = new Client(target.target, this.#ctx.credentials(url as string), this.#channelOptions());
    this.#client = client;
    const req = {
      clusterId: this.#ctx.clusterId,
      from: this.#ctx.memberId,
      to: this.id,
      serverVersion: this.#ctx.serverVersion,
      protocolVersion: PROTOCOL_VERSION,
    };
    this.#hello = callHello(client, req, {
      deadlineMs: this.#ctx.limits.helloTimeoutMs,
      callback: (err, res) => {
        if (gen !== this.#gen) return;
        this.#hello = undefined;
        this.#helloAnswered(gen, client, url as string, err, res);
      },
    });
  }

  #helloAnswered(gen: number, client: Client, url: string, err: ServiceError | null, res: HelloResponse | undefined): void {
    if (err !== null) {
      const r = refusalOf(err);
      if (r === undefined) return this.#fail(err);
      if (r.reason === 'member-removed') this.#ctx.removed?.();
      return this.#refuse(`${r.reason}/${r.clusterId}/${r.memberId}`, REFUSAL_LOG[r.reason], {
        url,
        'remote-cluster-id': r.clusterId,
        'remote-member-id': r.memberId,
        error: err.details,
      });
    }
    // Our receiver refuses these itself; checked again in case the peer is not a berth receiver.
    if (res === undefined || res.clusterId !== this.#ctx.clusterId || res.memberId !== this.id) {
      const remoteCluster = hex(res?.clusterId ?? 0n);
      const remoteMember = hex(res?.memberId ?? 0n);
      const reason: Refusal = res?.clusterId !== this.#ctx.clusterId ? 'cluster-id-mismatch' : 'member-id-mismatch';
      return this.#refuse(`${reason}/${remoteCluster}/${remoteMember}`, REFUSAL_LOG[reason], {
        url,
        'remote-cluster-id': remoteCluster,
        'remote-member-id': remoteMember,
      });
    }
    let sock: Socket | undefined;
    try {
      sock = res.raftStream ? this.#ctx.dialStream(url) : undefined;
    } catch (err) {
      return this.#fail(err instanceof Error ? err : new Error(String(err)));
    }
    if (sock !== undefined) {
      // Hello's channel is not needed by the raft stream.
      client.close();
      this.#client = undefined;
      this.#conduit = openStreamConduit(sock, {
        drain: () => this.#drained(gen),
        closed: (err, refusal) => this.#streamEnded(gen, err, refusal?.reason === 'member-removed'),
      });
      this.#kind = 'stream';
    } else {
      const call = openSendStream(client, (err) => this.#streamEnded(gen, err ?? new Error('transport: stream closed by peer'), err !== null && refusalOf(err)?.reason === 'member-removed'));
      call.on('drain', () => this.#drained(gen));
      this.#conduit = { write: (b) => call.write(b), cork: () => {}, uncork: () => {}, close: () => call.cancel() };
      this.#kind = 'grpc';
    }
    this.#opened(url, res.serverVersion);
  }

  #drained(gen: number): void {
    if (gen !== this.#gen) return;
    this.#writable = true;
    this.#flush();
  }

  #streamEnded(gen: number, err: ServiceError | Error, removed: boolean): void {
    if (gen !== this.#gen) return;
    this.#conduit = undefined;
    this.#writable = false;
    if (removed) this.#ctx.removed?.();
    this.#fail(err);
  }

  #opened(url: string, remoteVersion: string): void {
    this.#writable = true;
    this.#activeSince = Date.now();
    this.#refusalLogged = undefined;
    if (this.#state !== 'active') {
      this.#ctx.logger.info({ 'remote-peer-id': hex(this.id), url, 'remote-version': remoteVersion, stream: this.#kind }, 'peer became active');
      this.#state = 'active';
      this.#ctx.activity(this.id, 'active');
    }
    this.#flush();
  }

  #flush(): void {
    const c = this.#conduit;
    if (c === undefined) return;
    if (this.#writable && this.#queue.length > 0) {
      c.cork();
      while (this.#writable && this.#queue.length > 0) {
        const b = this.#queue.shift() as EncodedBatch;
        this.#queuedMessages -= b.count;
        this.#queuedBytes -= b.bytes.byteLength;
        this.#ctx.bytesSent(this.id, b.bytes.byteLength);
        if (!c.write(b.bytes)) this.#writable = false;
      }
      c.uncork();
    }
    if (this.#queue.length === 0) this.#dropping = false;
  }

  /** The attempt or the stream failed: whatever was in flight may be lost. */
  #fail(err: ServiceError | Error): void {
    const error = 'details' in err && err.details !== '' ? err.details : err.message;
    if (this.#state === 'active' || this.#state === 'connecting') {
      this.#ctx.logger.warn({ 'remote-peer-id': hex(this.id), url: this.#url(), error }, 'peer became inactive');
    } else {
      this.#ctx.logger.debug(
        { 'remote-peer-id': hex(this.id), url: this.#url(), error, attempt: this.#attempt },
        'peer connection attempt failed',
      );
    }
    if (this.#state === 'active' && Date.now() - this.#activeSince >= this.#ctx.limits.backoffMaxMs) this.#attempt = 0;
    if (this.#state === 'active') this.#ctx.activity(this.id, 'lost');
    this.#state = 'inactive';
    this.#abandon();
    this.#ctx.unreachable(this.id);
    if (this.#urls.length > 1) this.#urlIndex = (this.#urlIndex + 1) % this.#urls.length;
    const delay = backoffDelay(this.#attempt++, {
      baseMs: this.#ctx.limits.backoffBaseMs,
      maxMs: this.#ctx.limits.backoffMaxMs,
      random: this.#ctx.random,
    });
    this.#timer = setTimeout(() => this.#connect(), delay);
  }

  /**
   * The peer is not a member of our cluster as we know it (or its URL is unusable). Nothing is sent
   * to it: the buffer is dropped. Logged once per distinct refusal; retried slowly.
   */
  #refuse(key: string, msg: string, fields: Record<string, unknown>): void {
    if (this.#refusalLogged !== key) {
      this.#refusalLogged = key;
      this.#ctx.logger.error(
        {
          'local-member-id': hex(this.#ctx.memberId),
          'remote-peer-id': hex(this.id),
          'local-cluster-id': hex(this.#ctx.clusterId),
          ...fields,
        },
        msg,
      );
    }
    if (this.#state === 'active') this.#ctx.activity(this.id, 'lost');
    this.#state = 'refused';
    this.#abandon();
    if (this.#queuedMessages > 0) this.#ctx.dropped(this.id, this.#queuedMessages);
    this.#queue = [];
    this.#queuedMessages = 0;
    this.#queuedBytes = 0;
    this.#ctx.unreachable(this.id);
    const d = this.#ctx.limits.refusedRetryMs;
    this.#timer = setTimeout(() => this.#connect(), d / 2 + this.#ctx.random() * (d / 2));
  }
}
