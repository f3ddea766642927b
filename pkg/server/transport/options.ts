/**
 * What the composition root gives a PeerTransport, and the bounds it enforces. All callbacks are
 * invoked asynchronously (never from inside send()), so raft is never re-entered while it hands out
 * a Ready.
 */
import type { ChannelCredentials, Server } from '@grpc/grpc-js';
import type { Socket } from 'node:net';
import type { Message } from '../../raft/index.js';

/** pino-compatible: `logger.warn({ fields }, 'stable message')`. */
export interface TransportLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Optional counters, per peer member id (e.g. etcd_network_peer_sent_bytes_total). */
export interface TransportMetrics {
  readonly bytesSent?: (peer: bigint, bytes: number) => void;
  readonly bytesReceived?: (peer: bigint, bytes: number) => void;
  /** Messages not delivered because the per-peer buffer was full or the peer unknown. */
  readonly messagesDropped?: (peer: bigint, count: number) => void;
  /** The stream to `peer` became active, was lost (it will be retried), or was closed by stop/removal. */
  readonly peerActivity?: (peer: bigint, change: PeerActivity) => void;
  /** A snapshot upload to `peer` finished; `seconds` from its start. */
  readonly snapshotSent?: (peer: bigint, ok: boolean, seconds: number) => void;
  /** A snapshot upload from `peer` (undefined before its header was read) finished, handed over or refused. */
  readonly snapshotReceived?: (peer: bigint | undefined, ok: boolean, seconds: number) => void;
  /** An incoming raft stream from `peer` (undefined if unknown yet) failed or carried a malformed batch. */
  readonly receiveFailed?: (peer: bigint | undefined) => void;
}

export type PeerActivity = 'active' | 'lost' | 'closed';

/** A verified snapshot payload written to disk; the file now belongs to the callee. */
export interface ReceivedSnapshot {
  /** The snap message raft produced on the sender (message.snapshot holds the metadata). */
  readonly message: Message;
  /** Absolute path of the fsynced payload file inside snapshotDir. */
  readonly path: string;
  readonly bytes: number;
}

export interface TransportLimits {
  /** Per-peer buffer while the stream is down or not writable; beyond it messages are dropped. */
  readonly maxQueuedMessages: number;
  readonly maxQueuedBytes: number;
  /** A peer's messages from one send() call are split into batches of at most this many bytes. */
  readonly maxBatchBytes: number;
  readonly snapshotChunkBytes: number;
  /** Upper bound on an incoming snapshot payload. */
  readonly maxSnapshotBytes: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  /** Retry interval after a peer refused us for a cluster/member id or protocol mismatch. */
  readonly refusedRetryMs: number;
  readonly helloTimeoutMs: number;
}

export const DEFAULT_LIMITS: TransportLimits = {
  maxQueuedMessages: 4096,
  maxQueuedBytes: 64 * 1024 * 1024,
  maxBatchBytes: 1024 * 1024,
  snapshotChunkBytes: 1024 * 1024,
  maxSnapshotBytes: 64 * 1024 * 1024 * 1024,
  backoffBaseMs: 100,
  backoffMaxMs: 5000,
  refusedRetryMs: 30_000,
  helloTimeoutMs: 5000,
};

/**
 * Options for the grpc.Server that serves the peer port. grpc-js refuses incoming messages above
 * 4 MiB by default; a RaftBatch is split at maxBatchBytes, but one message holding a large entry is
 * never split, so the peer server accepts up to 64 MiB per message.
 */
export const PEER_SERVER_OPTIONS = {
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
} as const;

export interface PeerTransportOptions {
  readonly clusterId: bigint;
  /** This member's id. */
  readonly memberId: bigint;
  /** Where the Raft service is registered by start(); omit for a send-only transport. */
  readonly server?: Server;
  /** Incoming snapshot payloads are streamed into files here (created if missing). */
  readonly snapshotDir: string;
  /** Each message of each accepted batch, in the order the sender produced them. */
  readonly onMessage: (m: Message) => void;
  /**
   * A snapshot upload arrived complete and verified. The sender is answered once this returns (or its
   * promise resolves); a throw or rejection answers INTERNAL and deletes the file.
   */
  readonly onSnapshot: (s: ReceivedSnapshot) => void | Promise<void>;
  /** A message to `id` was dropped or could not be delivered (call raft's reportUnreachable). */
  readonly onUnreachable: (id: bigint) => void;
  /** Outcome of a snap message's upload to `id` (call raft's reportSnapshot). */
  readonly onSnapshotStatus: (id: bigint, ok: boolean) => void;
  /** The checkpoint payload for an outgoing snap message, read lazily in any chunk sizes. */
  readonly snapshotSource: (m: Message) => AsyncIterable<Uint8Array>;
  /** Senders removed from the cluster: their Hello, batches and uploads are refused ('member-removed'). */
  readonly isRemoved?: (id: bigint) => boolean;
  /** A peer refused this member as removed from the cluster (it must stop). Called from a microtask. */
  readonly onRemoved?: () => void;
  readonly logger: TransportLogger;
  readonly metrics?: TransportMetrics;
  /**
   * Channel credentials for outgoing calls, or a function choosing them per peer URL (called on every
   * connection attempt, so reloaded certificates apply to the next attempt); insecure by default.
   */
  readonly credentials?: ChannelCredentials | ((url: string) => ChannelCredentials);
  /**
   * How to reach a peer's raft stream (stream.ts) at a peer URL: a connecting net or TLS socket, or
   * undefined to use the gRPC Send stream for that peer. Default: plain TCP for http:// URLs, gRPC
   * for https:// (the composition root passes a TLS dialer).
   */
  readonly dialStream?: (url: string) => Socket | undefined;
  /**
   * The peer port routes raft streams to serveStream() (plain text: by the preface; TLS: by ALPN),
   * so Hello tells senders to use them. Default false: senders use the gRPC Send stream.
   */
  readonly acceptsStreams?: boolean;
  /** Reported in Hello, e.g. "0.1.0". */
  readonly serverVersion?: string;
  readonly limits?: Partial<TransportLimits>;
  /** Jitter source in [0, 1); tests inject a fixed one. */
  readonly random?: () => number;
}
