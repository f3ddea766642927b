/**
 * Forwards a follower's lease keep-alives and time-to-live requests to the leader, where the lease
 * clock lives (etcd does the same over its peer HTTP API). berth reaches the leader through the
 * client URLs the leader published in the member list (MemberAttributesSet), with the ordinary Lease
 * gRPC service: one long-lived keep-alive stream per leader, answered in order.
 *
 * Failure model: a request that cannot be forwarded (leader unknown, no published client URL, the
 * call fails) resolves to undefined and the caller falls back to waiting for leadership locally
 * until its deadline, then answers with etcd's timeout error.
 */
import * as grpc from '@grpc/grpc-js';
import {
  LeaseService,
  type LeaseKeepAliveRequest,
  type LeaseKeepAliveResponse,
  type LeaseTimeToLiveRequest,
  type LeaseTimeToLiveResponse,
} from '../../proto/gen/etcdserverpb/rpc.js';

export interface LeaderDirectory {
  /** The current leader and the client URLs it published, or undefined when unknown. */
  leaderClientUrl(): { id: bigint; url: string } | undefined;
}

type LeaseClient = grpc.Client & {
  leaseKeepAlive(): grpc.ClientDuplexStream<LeaseKeepAliveRequest, LeaseKeepAliveResponse>;
  leaseTimeToLive(
    req: LeaseTimeToLiveRequest,
    opts: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res?: LeaseTimeToLiveResponse) => void,
  ): grpc.ClientUnaryCall;
};

interface Link {
  readonly id: bigint;
  readonly client: LeaseClient;
  stream: grpc.ClientDuplexStream<LeaseKeepAliveRequest, LeaseKeepAliveResponse> | undefined;
  /** Resolvers of keep-alives sent on the stream, in order. */
  readonly pending: ((r: LeaseKeepAliveResponse | undefined) => void)[];
}

const LeaseClientCtor = grpc.makeGenericClientConstructor(LeaseService, 'Lease');

function target(url: string): string {
  return url.replace(/^[a-z]+:\/\//, '');
}

export class LeaseForwarder {
  readonly #dir: LeaderDirectory;
  #link: Link | undefined;

  constructor(dir: LeaderDirectory) {
    this.#dir = dir;
  }

  #linkToLeader(): Link | undefined {
    const leader = this.#dir.leaderClientUrl();
    if (leader === undefined) return undefined;
    if (this.#link?.id === leader.id) return this.#link;
    this.#drop();
    const client = new LeaseClientCtor(target(leader.url), grpc.credentials.createInsecure()) as unknown as LeaseClient;
    this.#link = { id: leader.id, client, stream: undefined, pending: [] };
    return this.#link;
  }

  /** The leader's answer to a keep-alive of `id` (TTL 0 = lease not found), or undefined. */
  renew(id: bigint, timeoutMs: number): Promise<bigint | undefined> {
    const link = this.#linkToLeader();
    if (link === undefined) return Promise.resolve(undefined);
    if (link.stream === undefined) {
      const s = link.client.leaseKeepAlive();
      link.stream = s;
      s.on('data', (r: LeaseKeepAliveResponse) => link.pending.shift()?.(r));
      const broken = (): void => {
        if (link.stream !== s) return;
        link.stream = undefined;
        for (const p of link.pending.splice(0)) p(undefined);
      };
      s.on('error', broken);
      s.on('end', broken);
    }
    const stream = link.stream;
    return new Promise((resolve) => {
      let done = false;
      const finish = (r: LeaseKeepAliveResponse | undefined): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(r?.TTL);
      };
      // On timeout the stream's order is no longer known: drop it, the next call opens a fresh one.
      const timer = setTimeout(() => {
        finish(undefined);
        if (link.stream === stream) {
          link.stream = undefined;
          stream.cancel();
        }
      }, timeoutMs);
      link.pending.push(finish);
      stream.write({ ID: id });
    });
  }

  /** The leader's TimeToLive answer, or undefined when it could not be asked. */
  timeToLive(req: LeaseTimeToLiveRequest, timeoutMs: number): Promise<LeaseTimeToLiveResponse | undefined> {
    const link = this.#linkToLeader();
    if (link === undefined) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      link.client.leaseTimeToLive(req, { deadline: new Date(Date.now() + timeoutMs) }, (err, res) =>
        resolve(err === null ? res : undefined),
      );
    });
  }

  #drop(): void {
    const l = this.#link;
    if (l === undefined) return;
    this.#link = undefined;
    l.stream?.cancel();
    for (const p of l.pending.splice(0)) p(undefined);
    l.client.close();
  }

  close(): void {
    this.#drop();
  }
}
