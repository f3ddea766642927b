/**
 * The client seam berthctl (and later tools) use: one connection to one of several endpoints, tried
 * in order (failover to the next when one cannot be reached within the dial timeout or a call finds
 * it unreachable), every unary call bounded by the command timeout, failures as ClientError with
 * etcdctl's messages.
 */
import * as grpc from '@grpc/grpc-js';
import {
  ClusterClient,
  KVClient,
  LeaseClient,
  MaintenanceClient,
  WatchClient,
} from '../proto/gen/etcdserverpb/rpc.js';
import { ClientError, isUnreachable, toClientError } from './errors.js';

export interface ClientOptions {
  /** host:port or http://host:port, tried in this order. */
  readonly endpoints: readonly string[];
  /** Bound on connecting to one endpoint. */
  readonly dialTimeoutMs: number;
  /** Bound on each unary call (streams are bounded by their caller). */
  readonly commandTimeoutMs: number;
}

/** The generated service clients of one endpoint. */
export interface Services {
  readonly kv: KVClient;
  readonly watch: WatchClient;
  readonly lease: LeaseClient;
  readonly cluster: ClusterClient;
  readonly maintenance: MaintenanceClient;
}

type Callback<Res> = (err: grpc.ServiceError | null, res: Res) => void;

/** One unary call on the services, with the call options (deadline) to pass through. */
export type UnaryCall<Res> = (s: Services, md: grpc.Metadata, opts: Partial<grpc.CallOptions>, cb: Callback<Res>) => void;

/** `http://host:port` / `https://…` / `host:port` → the grpc-js target `host:port`. */
export function grpcTarget(endpoint: string): string {
  return endpoint.replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, '');
}

function open(endpoint: string): Services {
  const target = grpcTarget(endpoint);
  const creds = grpc.credentials.createInsecure();
  const kv = new KVClient(target, creds);
  // One channel for all services of the endpoint.
  const channelOverride = kv.getChannel();
  return {
    kv,
    watch: new WatchClient(target, creds, { channelOverride }),
    lease: new LeaseClient(target, creds, { channelOverride }),
    cluster: new ClusterClient(target, creds, { channelOverride }),
    maintenance: new MaintenanceClient(target, creds, { channelOverride }),
  };
}

function ready(s: Services, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => s.kv.waitForReady(Date.now() + timeoutMs, (err) => resolve(err === undefined || err === null)));
}

export class Client {
  readonly #opts: ClientOptions;
  #at: number;
  #services: Services;

  private constructor(opts: ClientOptions, at: number, services: Services) {
    this.#opts = opts;
    this.#at = at;
    this.#services = services;
  }

  /**
   * Connects to the first endpoint (in order, from `start`) that answers within the dial timeout.
   * Rejects with ClientError "context deadline exceeded" when none does (what etcdctl prints).
   */
  static async connect(opts: ClientOptions, start = 0): Promise<Client> {
    if (opts.endpoints.length === 0) throw new ClientError('no endpoints given');
    for (let i = 0; i < opts.endpoints.length; i++) {
      const at = (start + i) % opts.endpoints.length;
      const s = open(opts.endpoints[at] as string);
      if (await ready(s, opts.dialTimeoutMs)) return new Client(opts, at, s);
      s.kv.close();
    }
    throw new ClientError('context deadline exceeded', grpc.status.DEADLINE_EXCEEDED);
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
  }

  close(): void {
    this.#services.kv.close();
  }
}
