/**
 * Test harness: PeerTransports on 127.0.0.1 ephemeral ports with every callback recorded, and
 * event-driven waiting (each callback or log line re-checks the awaited condition; a bounded poll
 * covers state that changes without one).
 */
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { routePlainPeerConnection } from '../../../pkg/server/transport/stream.js';
import type { Message } from '../../../pkg/raft/index.js';
import { PEER_SERVER_OPTIONS, PeerTransport, type PeerTransportOptions, type ReceivedSnapshot, type TransportLimits, type TransportLogger } from '../../../pkg/server/transport/index.js';

export interface LogLine {
  readonly level: string;
  readonly msg: string;
  readonly fields: Record<string, unknown>;
}

export class Recorder {
  readonly events = new EventEmitter();
  readonly logs: LogLine[] = [];
  readonly messages: Message[] = [];
  readonly snapshots: ReceivedSnapshot[] = [];
  readonly unreachable = new Map<bigint, number>();
  readonly snapshotStatus: { id: bigint; ok: boolean }[] = [];
  readonly sent = new Map<bigint, number>();
  readonly received = new Map<bigint, number>();
  /** Calls of the bytesReceived hook: one per batch (or snapshot chunk). */
  readonly receivedCalls = new Map<bigint, number>();
  readonly dropped = new Map<bigint, number>();
  /** Calls of onRemoved (a peer refused this member as removed). */
  removed = 0;

  readonly logger: TransportLogger = {
    debug: (o, m) => this.#log('debug', o, m),
    info: (o, m) => this.#log('info', o, m),
    warn: (o, m) => this.#log('warn', o, m),
    error: (o, m) => this.#log('error', o, m),
  };

  #log(level: string, fields: object, msg: string): void {
    this.logs.push({ level, msg, fields: fields as Record<string, unknown> });
    this.changed();
  }

  changed(): void {
    this.events.emit('change');
  }

  static add(m: Map<bigint, number>, id: bigint, n: number): void {
    m.set(id, (m.get(id) ?? 0) + n);
  }

  logged(msg: string): LogLine[] {
    return this.logs.filter((l) => l.msg === msg);
  }
}

/** Resolves when `cond()` holds; rejects after `timeoutMs` naming `what`. */
export function waitFor(recorders: readonly Recorder[], cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  if (cond()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (!cond()) return;
      cleanup();
      resolve();
    };
    const poll = setInterval(check, 20);
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    const cleanup = (): void => {
      clearInterval(poll);
      clearTimeout(timer);
      for (const r of recorders) r.events.off('change', check);
    };
    for (const r of recorders) r.events.on('change', check);
  });
}

export interface BoundServer {
  readonly server: Server;
  readonly port: number;
  readonly url: string;
  /** Where raft streams on this port go (set by startNode); until then they are closed. */
  onStream: ((conn: Duplex, rest: Uint8Array) => void) | undefined;
  /** Closes the listener, every connection and the gRPC server at once. */
  shutdown(): void;
}

/**
 * A peer port like the member's (pkg/server/member.ts): one plain-text listener routing HTTP/2 to
 * the gRPC server and raft streams to `onStream` by the first bytes. With `grpcOnly`, the gRPC
 * server binds the port itself, as before raft streams existed (an older member).
 */
export async function bindServer(port = 0, opts: { grpcOnly?: boolean } = {}): Promise<BoundServer> {
  const server = new Server(PEER_SERVER_OPTIONS);
  if (opts.grpcOnly === true) {
    const bound = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    return { server, port: bound, url: `http://127.0.0.1:${bound}`, onStream: undefined, shutdown: () => server.forceShutdown() };
  }
  const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
  const sockets = new Set<Socket>();
  const b: BoundServer = {
    server,
    port: 0,
    url: '',
    onStream: undefined,
    shutdown: () => {
      listener.close();
      for (const sock of sockets) sock.destroy();
      injector.destroy();
      server.forceShutdown();
    },
  };
  const listener: NetServer = createNetServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    routePlainPeerConnection(socket, {
      h2: (conn) => injector.injectConnection(conn),
      stream: (conn, rest) => (b.onStream !== undefined ? b.onStream(conn, rest) : conn.destroy()),
    });
  });
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = (listener.address() as AddressInfo).port;
  return Object.assign(b, { port: bound, url: `http://127.0.0.1:${bound}` });
}

export function shutdown(server: Server): Promise<void> {
  return new Promise((resolve) => server.tryShutdown(() => resolve()));
}

/** Fast retries so tests that wait for a reconnect stay short. */
export const FAST: Partial<TransportLimits> = { backoffBaseMs: 20, backoffMaxMs: 200, refusedRetryMs: 50, helloTimeoutMs: 2000 };

export interface Node {
  readonly id: bigint;
  readonly transport: PeerTransport;
  readonly rec: Recorder;
  readonly server: Server | undefined;
  readonly url: string;
  readonly dir: string;
  close(): Promise<void>;
}

export interface NodeOptions {
  readonly id: bigint;
  readonly clusterId?: bigint;
  readonly limits?: Partial<TransportLimits>;
  readonly snapshotSource?: PeerTransportOptions['snapshotSource'];
  readonly onSnapshot?: (s: ReceivedSnapshot) => void | Promise<void>;
  /** Bind on this port (a peer that comes back at its old address). */
  readonly port?: number;
  /** No server: a send-only transport. */
  readonly noServer?: boolean;
  /** Senders this node refuses as removed from the cluster (checked on every Hello and batch). */
  readonly isRemoved?: (id: bigint) => boolean;
  /** The peer port as an older member's: gRPC only, Hello does not offer raft streams. */
  readonly grpcOnly?: boolean;
  /** Replaces the recording logger (e.g. a real pino logger from pkg/log). */
  readonly logger?: TransportLogger;
}

export const CLUSTER = 0x5eed_c1a5_7e00_0001n;

export async function startNode(o: NodeOptions): Promise<Node> {
  const rec = new Recorder();
  const dir = mkdtempSync(join(tmpdir(), 'berth-transport-'));
  const s = o.noServer === true ? undefined : await bindServer(o.port ?? 0, { grpcOnly: o.grpcOnly === true });
  const transport = new PeerTransport({
    clusterId: o.clusterId ?? CLUSTER,
    memberId: o.id,
    ...(s !== undefined ? { server: s.server } : {}),
    snapshotDir: join(dir, 'snap'),
    onMessage: (m) => {
      rec.messages.push(m);
      rec.changed();
    },
    onSnapshot: async (snap) => {
      rec.snapshots.push(snap);
      rec.changed();
      await o.onSnapshot?.(snap);
    },
    onUnreachable: (id) => {
      Recorder.add(rec.unreachable, id, 1);
      rec.changed();
    },
    onSnapshotStatus: (id, ok) => {
      rec.snapshotStatus.push({ id, ok });
      rec.changed();
    },
    snapshotSource:
      o.snapshotSource ??
      (() => {
        throw new Error('no snapshot source in this test');
      }),
    logger: o.logger ?? rec.logger,
    metrics: {
      bytesSent: (id, n) => Recorder.add(rec.sent, id, n),
      bytesReceived: (id, n) => {
        Recorder.add(rec.received, id, n);
        Recorder.add(rec.receivedCalls, id, 1);
      },
      messagesDropped: (id, n) => {
        Recorder.add(rec.dropped, id, n);
        rec.changed();
      },
    },
    serverVersion: 'test',
    limits: { ...FAST, ...o.limits },
    acceptsStreams: s !== undefined && o.grpcOnly !== true,
    ...(o.isRemoved !== undefined ? { isRemoved: o.isRemoved } : {}),
    onRemoved: () => {
      rec.removed++;
      rec.changed();
    },
  });
  if (s !== undefined) s.onStream = (conn, rest) => transport.serveStream(conn, rest);
  transport.start();
  return {
    id: o.id,
    transport,
    rec,
    server: s?.server,
    url: s?.url ?? 'http://127.0.0.1:1',
    dir,
    close: async () => {
      await transport.stop();
      s?.shutdown();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Tells every node about every other (full mesh). */
export function mesh(nodes: readonly Node[]): void {
  const peers = new Map(nodes.map((n) => [n.id, [n.url]]));
  for (const n of nodes) n.transport.setPeers(peers);
}
