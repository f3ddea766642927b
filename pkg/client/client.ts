/**
 * The client seam berthctl (and later tools) use: one connection to one of several endpoints, tried
 * in order (failover to the next when one cannot be reached within the dial timeout or a call finds
 * it unreachable), every unary call bounded by the command timeout, failures as ClientError with
 * etcdctl's messages.
 *
 * Transport security per endpoint follows etcd's client (transport.ts). With a user name and a
 * non-empty password the client calls Authenticate once it has connected and sends the token in the
 * `token` metadata of every call, unary or stream (an interceptor on every service client); a server
 * without auth enabled answers "authentication is not enabled", and the client then carries on
 * without a token, as etcd's client does.
 */
import * as grpc from '@grpc/grpc-js';
import {
  AuthClient,
  ClusterClient,
  KVClient,
  LeaseClient,
  MaintenanceClient,
  WatchClient,
} from '../proto/gen/etcdserverpb/rpc.js';
import type { AuthenticateResponse } from '../proto/gen/etcdserverpb/rpc.js';
import { ClientError, errorMessage, isUnreachable, toClientError } from './errors.js';
import { grpcTarget } from './target.js';
import { tlsFailure } from './tls-probe.js';
import { channelCredentials, loadTls, usesTls, type TlsMaterial, type TlsOptions } from './transport.js';

export { grpcTarget };

export interface ClientOptions {
  /** host:port or http://host:port, tried in this order. */
  readonly endpoints: readonly string[];
  /** Bound on connecting to one endpoint. */
  readonly dialTimeoutMs: number;
  /** Bound on each unary call (streams are bounded by their caller). */
  readonly commandTimeoutMs: number;
  /** TLS files for bare host:port endpoints (https:// endpoints use TLS regardless). Absent: plain text. */
  readonly tls?: TlsOptions;
  /** Authenticate as this user (only when the password is non-empty too, like etcd's client). */
  readonly user?: { readonly name: string; readonly password: string };
}

/** A dial that failed in the TLS handshake (bad CA, missing client certificate, …). */
export class TlsHandshakeError extends ClientError {
  constructor(message: string) {
    super(message);
    this.name = 'TlsHandshakeError';
  }
}

/** The generated service clients of one endpoint. */
export interface Services {
  readonly kv: KVClient;
  readonly watch: WatchClient;
  readonly lease: LeaseClient;
  readonly cluster: ClusterClient;
  readonly maintenance: MaintenanceClient;
  readonly auth: AuthClient;
}

type Callback<Res> = (err: grpc.ServiceError | null, res: Res) => void;

/** One unary call on the services, with the call options (deadline) to pass through. */
export type UnaryCall<Res> = (s: Services, md: grpc.Metadata, opts: Partial<grpc.CallOptions>, cb: Callback<Res>) => void;

/** Holds the auth token once there is one; read by the interceptor of every call. */
interface TokenHolder {
  token: string | undefined;
}

function tokenInterceptor(holder: TokenHolder): grpc.Interceptor {
  return (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        if (holder.token !== undefined) metadata.set('token', holder.token);
        next(metadata, listener);
      },
    });
}

function open(endpoint: string, tls: TlsMaterial | undefined, holder: TokenHolder): Services {
  const target = grpcTarget(endpoint);
  const creds = channelCredentials(endpoint, tls);
  const interceptors = [tokenInterceptor(holder)];
  const kv = new KVClient(target, creds, { interceptors });
  // One channel for all services of the endpoint.
  const channelOverride = kv.getChannel();
  return {
    kv,
    watch: new WatchClient(target, creds, { channelOverride, interceptors }),
    lease: new LeaseClient(target, creds, { channelOverride, interceptors }),
    cluster: new ClusterClient(target, creds, { channelOverride, interceptors }),
    maintenance: new MaintenanceClient(target, creds, { channelOverride, interceptors }),
    auth: new AuthClient(target, creds, { channelOverride, interceptors }),
  };
}

function ready(s: Services, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => s.kv.waitForReady(Date.now() + timeoutMs, (err) => resolve(err === undefined || err === null)));
}

export class Client {
  readonly #opts: ClientOptions;
  #holder: TokenHolder;
  #at: number;
  #services: Services;

  private constructor(opts: ClientOptions, holder: TokenHolder, at: number, services: Services) {
    this.#opts = opts;
    this.#holder = holder;
    this.#at = at;
    this.#services = services;
  }

  /**
   * Connects to the first endpoint (in order, from `start`) that answers within the dial timeout, and
   * authenticates there if a user is given. Rejects with ClientError "context deadline exceeded" when
   * no endpoint answers (what etcdctl prints), with TlsHandshakeError when a TLS endpoint refused the
   * handshake, and with the server's message when authentication fails.
   */
  static async connect(opts: ClientOptions, start = 0): Promise<Client> {
    if (opts.endpoints.length === 0) throw new ClientError('no endpoints given');
    const tls = opts.tls === undefined ? undefined : loadTls(opts.tls);
    const holder: TokenHolder = { token: undefined };
    let handshake: string | undefined;
    for (let i = 0; i < opts.endpoints.length; i++) {
      const at = (start + i) % opts.endpoints.length;
      const ep = opts.endpoints[at] as string;
      const s = open(ep, tls, holder);
      if (await ready(s, opts.dialTimeoutMs)) {
        const c = new Client(opts, holder, at, s);
        try {
          await c.#authenticate();
        } catch (err) {
          c.close();
          throw err;
        }
        return c;
      }
      s.kv.close();
      if (handshake === undefined && usesTls(ep, tls)) {
        const why = await tlsFailure(ep, tls, opts.dialTimeoutMs);
        if (why !== undefined) handshake = `TLS handshake with ${grpcTarget(ep)} failed: ${why}`;
      }
    }
    if (handshake !== undefined) throw new TlsHandshakeError(handshake);
    throw new ClientError('context deadline exceeded', grpc.status.DEADLINE_EXCEEDED);
  }

  async #authenticate(): Promise<void> {
    const u = this.#opts.user;
    if (u === undefined || u.name === '' || u.password === '') return;
    try {
      const r = await this.unary<AuthenticateResponse>((s, md, o, cb) => s.auth.authenticate({ name: u.name, password: u.password }, md, o, cb));
      this.#holder.token = r.token;
    } catch (err) {
      if (errorMessage(err) !== 'etcdserver: authentication is not enabled') throw err;
    }
  }

  /** The endpoint this client talks to now. */
  get endpoint(): string {
    return this.#opts.endpoints[this.#at] as string;
  }

  get services(): Services {
    return this.#services;
  }

  /** Options for a call bounded by the command timeout. */
  callOptions(): Partial<grpc.CallOptions> {
    return { deadline: Date.now() + this.#opts.commandTimeoutMs };
  }

  /**
   * Runs a unary call bounded by the command timeout. If the endpoint is unreachable, moves to the
   * next reachable endpoint and retries once per endpoint. Rejects with ClientError.
   */
  async unary<Res>(call: UnaryCall<Res>): Promise<Res> {
    for (let tries = 0; ; tries++) {
      try {
        return await new Promise<Res>((resolve, reject) =>
          call(this.#services, new grpc.Metadata(), this.callOptions(), (err, res) => (err !== null ? reject(err) : resolve(res))),
        );
      } catch (err) {
        if (!isUnreachable(err) || tries + 1 >= this.#opts.endpoints.length) throw toClientError(err);
        await this.#failover();
      }
    }
  }

  async #failover(): Promise<void> {
    const next = await Client.connect(this.#opts, this.#at + 1);
    this.#services.kv.close();
    this.#at = next.#at;
    this.#services = next.#services;
    this.#holder = next.#holder;
  }

  close(): void {
    this.#services.kv.close();
  }
}
