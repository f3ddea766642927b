/**
 * In-process dispatch to the gRPC handlers that service modules register: the member records every
 * service added to its grpc.Server (recordServices, called once right after creating it), and the JSON
 * gateway calls a unary handler by its gRPC path with the same request object a gRPC client would
 * produce, so both front ends share one implementation. Recorded handlers are also wrapped so
 * observers (gRPC metrics) see every call's start and final status code.
 */
import { EventEmitter } from 'node:events';
import { Metadata, status, type Server, type ServiceError } from '@grpc/grpc-js';
import { wrapServices, type MethodHandler } from '../service-wrap.js';

interface Recorded {
  readonly type: CallType;
  readonly handler: (...args: unknown[]) => void;
  /** The method's (de)serializers as registered (byte counting included). */
  readonly deserialize: (bytes: Buffer) => unknown;
  readonly serialize: (value: unknown) => Buffer;
}

export type CallType = 'unary' | 'server_stream' | 'client_stream' | 'bidi_stream';

/** Told when a call starts (with its metadata); returns the function told its final status code (called once). */
export type CallObserver = (path: string, type: CallType, metadata: Metadata | undefined) => (code: status) => void;

const registries = new WeakMap<Server, Map<string, Recorded>>();
const observers = new WeakMap<Server, CallObserver[]>();

/** Adds an observer of every call to a recorded server (gRPC metrics); works for services added before too. */
export function observeCalls(server: Server, observer: CallObserver): void {
  const list = observers.get(server) ?? [];
  list.push(observer);
  observers.set(server, list);
}

interface ObservableCall {
  once(event: string, fn: (arg?: unknown) => void): unknown;
}

function instrument(server: Server, path: string, type: CallType, handler: (...args: unknown[]) => void): (...args: unknown[]) => void {
  return (call: unknown, cb?: unknown) => {
    const list = observers.get(server);
    if (list === undefined || list.length === 0) return handler(call, cb);
    const md = (call as { metadata?: unknown }).metadata;
    const metadata = md instanceof Metadata ? md : undefined;
    const ends = list.map((o) => o(path, type, metadata));
    let ended = false;
    const end = (code: status): void => {
      if (ended) return;
      ended = true;
      for (const e of ends) e(code);
    };
    if (type === 'unary' || type === 'client_stream') {
      const done = cb as (err: ServiceError | null, value?: unknown) => void;
      return handler(call, (err: ServiceError | null, value?: unknown) => {
        end(err === null || err === undefined ? status.OK : typeof err.code === 'number' ? err.code : status.UNKNOWN);
        done(err, value);
      });
    }
    const c = call as ObservableCall;
    c.once('finish', () => end(status.OK));
    c.once('cancelled', () => end(status.CANCELLED));
    c.once('error', (e) => end(typeof (e as ServiceError | undefined)?.code === 'number' ? (e as ServiceError).code : status.UNKNOWN));
    return handler(call);
  };
}

/** Wraps `server.addService` so later registrations are also recorded for in-process calls. Idempotent. */
export function recordServices(server: Server): void {
  if (registries.has(server)) return;
  const table = new Map<string, Recorded>();
  registries.set(server, table);
  wrapServices(server, (def, handler) => {
    const type: CallType = def.requestStream
      ? def.responseStream
        ? 'bidi_stream'
        : 'client_stream'
      : def.responseStream
        ? 'server_stream'
        : 'unary';
    const h = instrument(server, def.path, type, handler as (...args: unknown[]) => void);
    table.set(def.path, { type, handler: h, deserialize: def.requestDeserialize, serialize: def.responseSerialize });
    return h as MethodHandler;
  });
}

export type UnaryResult = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly code: status; readonly message: string };

/**
 * Calls the unary handler registered for `path` (e.g. `/etcdserverpb.KV/Range`). Resolves with its
 * response, or with a gRPC code and message: Unimplemented when nothing is registered for the path
 * (the same answer a gRPC client gets). Never rejects.
 */
export function callUnary(server: Server, path: string, request: unknown, metadata: Metadata = new Metadata()): Promise<UnaryResult> {
  const rec = registries.get(server)?.get(path);
  if (rec === undefined || rec.type !== 'unary') {
    return Promise.resolve({ ok: false, code: status.UNIMPLEMENTED, message: `The server does not implement the method ${path}` });
  }
  return new Promise<UnaryResult>((resolve) => {
    const call = Object.assign(new EventEmitter(), {
      request,
      metadata,
      cancelled: false,
      getPeer: () => 'gateway',
      getPath: () => path,
      getDeadline: () => Infinity,
      getHost: () => 'gateway',
      sendMetadata: () => undefined,
    });
    let settled = false;
    const cb = (err: ServiceError | null, value?: unknown): void => {
      if (settled) return;
      settled = true;
      if (err !== null && err !== undefined) {
        resolve({ ok: false, code: typeof err.code === 'number' ? err.code : status.UNKNOWN, message: err.details ?? err.message });
      } else resolve({ ok: true, value });
    };
    try {
      rec.handler(call, cb);
    } catch (e) {
      cb(Object.assign(new Error(e instanceof Error ? e.message : String(e)), { code: status.INTERNAL, details: 'etcdserver: internal error', metadata: new Metadata() }));
    }
  });
}

/** The recorded unary method at `path` with its (de)serializers, for the direct HTTP/2 path (listen/direct-unary.ts). */
export function recordedUnary(server: Server, path: string): Recorded | undefined {
  const r = registries.get(server)?.get(path);
  return r?.type === 'unary' ? r : undefined;
}

/** The recorded streaming method at `path` with its (de)serializers, for the direct HTTP/2 path (listen/direct-bidi.ts). */
export function recordedStream(server: Server, path: string): Recorded | undefined {
  const r = registries.get(server)?.get(path);
  return r === undefined || r.type === 'unary' ? undefined : r;
}

/** The recorded (instrumented) handler of a streaming method, for the gateway's stream routes. */
export function recordedHandler(server: Server, path: string): { readonly type: CallType; readonly handler: (call: unknown) => void } | undefined {
  return registries.get(server)?.get(path);
}
