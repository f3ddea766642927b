/**
 * A small raw gRPC client for etcd's v3 API (berth's generated definitions over grpc-js), for tests
 * that must control exactly what goes on the wire: the `token` metadata, malformed request bytes.
 * Every call resolves (never rejects) with the response or the gRPC code and message.
 */
import * as grpc from '@grpc/grpc-js';
import { WatchCreateRequest, WatchRequest, WatchService, type WatchResponse } from '../../../pkg/proto/gen/etcdserverpb/rpc.js';

export type RpcResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly code: number; readonly message: string };

interface UnaryDef<Req, Res> {
  readonly path: string;
  readonly requestSerialize: (value: Req) => Buffer;
  readonly responseDeserialize: (value: Buffer) => Res;
}

export class EtcdRpc {
  readonly #client: grpc.Client;
  readonly #deadlineMs: number;

  constructor(endpoint: string, deadlineMs = 8000) {
    this.#client = new grpc.Client(endpoint, grpc.credentials.createInsecure());
    this.#deadlineMs = deadlineMs;
  }

  #metadata(token: string | undefined): grpc.Metadata {
    const md = new grpc.Metadata();
    if (token !== undefined) md.set('token', token);
    return md;
  }

  call<Req, Res>(def: UnaryDef<Req, Res>, req: Req, token?: string): Promise<RpcResult<Res>> {
    return this.#unary(def.path, def.requestSerialize, def.responseDeserialize, req, token);
  }

  /** Sends `bytes` as the request message, unparsed (malformed-input tests). */
  raw(path: string, bytes: Buffer, token?: string): Promise<RpcResult<Buffer>> {
    return this.#unary(path, (b: Buffer) => b, (b: Buffer) => b, bytes, token);
  }

  #unary<Req, Res>(path: string, ser: (v: Req) => Buffer, de: (b: Buffer) => Res, req: Req, token: string | undefined): Promise<RpcResult<Res>> {
    return new Promise((resolve) => {
      this.#client.makeUnaryRequest(path, ser, de, req, this.#metadata(token), { deadline: new Date(Date.now() + this.#deadlineMs) }, (err, res) => {
        if (err !== null) resolve({ ok: false, code: err.code, message: err.details });
        else resolve({ ok: true, value: res as Res });
      });
    });
  }

  /** Opens a watch stream, sends one create request and resolves with the first response. */
  watchOnce(create: Partial<WatchCreateRequest>, token?: string): Promise<RpcResult<WatchResponse>> {
    const def = WatchService.watch;
    return new Promise((resolve) => {
      const call = this.#client.makeBidiStreamRequest(def.path, def.requestSerialize, def.responseDeserialize, this.#metadata(token), {
        deadline: new Date(Date.now() + this.#deadlineMs),
      });
      let done = false;
      const finish = (r: RpcResult<WatchResponse>): void => {
        if (done) return;
        done = true;
        call.cancel();
        resolve(r);
      };
      call.on('data', (res: WatchResponse) => finish({ ok: true, value: res }));
      call.on('error', (err: grpc.ServiceError) => finish({ ok: false, code: err.code, message: err.details }));
      call.write(WatchRequest.fromPartial({ requestUnion: { $case: 'createRequest', value: WatchCreateRequest.fromPartial(create) } }));
    });
  }

  /**
   * A server-streaming call: resolves with the first message, with the status the stream ended with
   * before any message (code 0 = ended cleanly without a message), or 'open' when neither happened
   * within `openMs` (the call is then cancelled).
   */
  firstOfStream<Req, Res>(def: UnaryDef<Req, Res>, req: Req, token: string | undefined, openMs: number): Promise<RpcResult<Res> | 'open'> {
    return new Promise((resolve) => {
      const call = this.#client.makeServerStreamRequest(def.path, def.requestSerialize, def.responseDeserialize, req, this.#metadata(token), {
        deadline: new Date(Date.now() + this.#deadlineMs),
      });
      let done = false;
      const finish = (r: RpcResult<Res> | 'open'): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        call.cancel();
        resolve(r);
      };
      const timer = setTimeout(() => finish('open'), openMs);
      call.on('data', (res: Res) => finish({ ok: true, value: res }));
      call.on('status', (s: grpc.StatusObject) => finish({ ok: false, code: s.code, message: s.details }));
      call.on('error', (err: grpc.ServiceError) => finish({ ok: false, code: err.code, message: err.details }));
    });
  }

  close(): void {
    this.#client.close();
  }
}
