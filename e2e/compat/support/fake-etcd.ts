/**
 * A recording gRPC server that speaks etcd's client protocol through berth's generated code
 * (pkg/proto/gen). It stores no data: every call is recorded (path, decoded request, metadata) and
 * answered from a table of canned replies. Wire-compat tests point real etcd clients at it to check
 * both directions of our .proto files: what the client sends decodes to what the command means, and
 * what we encode is rendered by the client as intended.
 *
 * Listens on 127.0.0.1 with an ephemeral port only.
 */
import * as grpc from '@grpc/grpc-js';

import {
  AuthService,
  ClusterService,
  KVService,
  LeaseService,
  MaintenanceService,
  WatchService,
} from '../../../pkg/proto/gen/etcdserverpb/rpc.js';
import { ElectionService } from '../../../pkg/proto/gen/v3electionpb/v3election.js';
import { LockService } from '../../../pkg/proto/gen/v3lockpb/v3lock.js';

/** One request as the server decoded it. */
export interface RecordedRequest {
  readonly path: string;
  readonly request: unknown;
  readonly metadata: Readonly<Record<string, string>>;
}

/** The generated definition of one method: enough to type its requests and replies. */
export interface Method<Req, Res> {
  readonly path: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
  readonly requestDeserialize: (b: Buffer) => Req;
  readonly responseSerialize: (v: Res) => Buffer;
}

/** How the server answers a unary call, or one message of a bidi stream (zero or more replies). */
export type UnaryReply<Req, Res> = (req: Req) => Res | grpc.StatusObject;
export type StreamReply<Req, Res> = (req: Req) => readonly Res[];

interface ReplyTable {
  unary: Map<string, (req: unknown) => unknown>;
  stream: Map<string, (req: unknown) => readonly unknown[]>;
  serverStream: Map<string, (req: unknown) => readonly unknown[]>;
}

const SERVICES = [
  KVService,
  WatchService,
  LeaseService,
  ClusterService,
  MaintenanceService,
  AuthService,
  LockService,
  ElectionService,
] as const;

function isStatus(v: unknown): v is grpc.StatusObject {
  return typeof v === 'object' && v !== null && 'code' in v && 'details' in v && 'metadata' in v;
}

function flatMetadata(md: grpc.Metadata): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(md.getMap())) out[k] = typeof v === 'string' ? v : v.toString('base64');
  return out;
}

/** Lifecycle: construct, start() once, stop() once. */
export class FakeEtcd {
  readonly #server = new grpc.Server();
  readonly #replies: ReplyTable = { unary: new Map(), stream: new Map(), serverStream: new Map() };
  readonly #recorded: RecordedRequest[] = [];
  #port = 0;

  constructor() {
    for (const service of SERVICES) {
      const impl: grpc.UntypedServiceImplementation = {};
      for (const [name, def] of Object.entries(service)) impl[name] = this.#handler(def);
      this.#server.addService(service, impl);
    }
  }

  get port(): number {
    return this.#port;
  }

  get endpoint(): string {
    return `127.0.0.1:${this.#port}`;
  }

  /** Every request so far, oldest first. */
  get recorded(): readonly RecordedRequest[] {
    return this.#recorded;
  }

  /** Sets the canned answer of a unary method (a StatusObject answers with that error). */
  onUnary<Req, Res>(method: Method<Req, Res>, reply: UnaryReply<Req, Res>): void {
    if (method.requestStream || method.responseStream) throw new Error(`${method.path} is not unary`);
    this.#replies.unary.set(method.path, reply as (req: unknown) => unknown);
  }

  /** Sets the canned answers of a bidi-streaming method, per received message. */
  onStream<Req, Res>(method: Method<Req, Res>, reply: StreamReply<Req, Res>): void {
    if (!method.requestStream || !method.responseStream) throw new Error(`${method.path} is not bidi`);
    this.#replies.stream.set(method.path, reply as (req: unknown) => readonly unknown[]);
  }

  /** Sets the canned answers of a server-streaming method: all are written, then the stream ends. */
  onServerStream<Req, Res>(method: Method<Req, Res>, reply: StreamReply<Req, Res>): void {
    if (method.requestStream || !method.responseStream) throw new Error(`${method.path} is not server-streaming`);
    this.#replies.serverStream.set(method.path, reply as (req: unknown) => readonly unknown[]);
  }

  /**
   * Requests recorded for `method`, typed by it. The cast is sound because the server decoded each of
   * them with that method's own deserializer.
   */
  requests<Req, Res>(method: Method<Req, Res>): Req[] {
    return this.#recorded.filter((r) => r.path === method.path).map((r) => r.request as Req);
  }

  /** Forgets what was recorded so far (between commands). */
  clear(): void {
    this.#recorded.length = 0;
  }

  async start(): Promise<void> {
    this.#port = await new Promise<number>((resolve, reject) => {
      this.#server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) =>
        err ? reject(err) : resolve(port),
      );
    });
  }

  /** Stops at once: open streams (a watch a client left) are cancelled. */
  stop(): void {
    this.#server.forceShutdown();
  }

  #record(path: string, request: unknown, md: grpc.Metadata): void {
    const rec: RecordedRequest = { path, request, metadata: flatMetadata(md) };
    this.#recorded.push(rec);
  }

  #handler(def: grpc.MethodDefinition<unknown, unknown>): grpc.UntypedHandleCall {
    const path = def.path;
    const unimplemented: grpc.StatusObject = {
      code: grpc.status.UNIMPLEMENTED,
      details: `fake-etcd: no canned reply for ${path}`,
      metadata: new grpc.Metadata(),
    };
    if (!def.requestStream && !def.responseStream) {
      const unary: grpc.handleUnaryCall<unknown, unknown> = (call, callback) => {
        this.#record(path, call.request, call.metadata);
        const reply = this.#replies.unary.get(path);
        const out = reply ? reply(call.request) : unimplemented;
        if (isStatus(out)) callback(out);
        else callback(null, out);
      };
      return unary;
    }
    if (def.requestStream && def.responseStream) {
      const bidi: grpc.handleBidiStreamingCall<unknown, unknown> = (call) => {
        call.on('data', (req: unknown) => {
          this.#record(path, req, call.metadata);
          const reply = this.#replies.stream.get(path);
          if (!reply) {
            call.emit('error', unimplemented);
            return;
          }
          for (const out of reply(req)) call.write(out);
        });
        call.on('end', () => call.end());
        call.on('error', () => undefined);
      };
      return bidi;
    }
    if (!def.requestStream && def.responseStream) {
      const serverStream: grpc.handleServerStreamingCall<unknown, unknown> = (call) => {
        this.#record(path, call.request, call.metadata);
        const reply = this.#replies.serverStream.get(path);
        if (!reply) {
          call.emit('error', unimplemented);
          return;
        }
        for (const out of reply(call.request)) call.write(out);
        call.end();
      };
      return serverStream;
    }
    // Client streaming: etcd's API has none.
    const clientStream: grpc.handleClientStreamingCall<unknown, unknown> = (call, callback) => {
      call.on('data', (req: unknown) => this.#record(path, req, call.metadata));
      call.on('end', () => callback(unimplemented));
    };
    return clientStream;
  }
}
