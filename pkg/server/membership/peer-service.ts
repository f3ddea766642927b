/**
 * berthpb.Membership: a small service on the peer port, the counterpart of etcd's peer HTTP
 * endpoints GET /members (a joining member learns the cluster ID and member list) and
 * POST /members/promote/<id> (a follower forwards MemberPromote to the leader, which alone knows
 * whether the learner has caught up). Bodies are JSON; IDs travel as lowercase hex strings.
 *
 * Calls to another member dial its peer URL with the member's peer credentials (PeerCredentials:
 * an https peer URL gets the --peer-* certificate, key and trusted CA, like the raft transport), so
 * joining and promote forwarding work on a cluster whose peers speak TLS.
 */
import {
  Client,
  Metadata,
  type ChannelCredentials,
  credentials as grpcCredentials,
  status as Status,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServiceDefinition,
  type ServiceError,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { Member } from '../../membership/members.js';

export interface WireMember {
  readonly id: string;
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
  readonly isLearner: boolean;
}

export interface MembersResponse {
  readonly clusterId: string;
  readonly members: readonly WireMember[];
}

export interface PromoteRequest {
  readonly id: string;
}

const json = {
  requestSerialize: (v: unknown): Buffer => Buffer.from(JSON.stringify(v)),
  requestDeserialize: (b: Buffer): unknown => JSON.parse(b.toString('utf8')) as unknown,
  responseSerialize: (v: unknown): Buffer => Buffer.from(JSON.stringify(v)),
  responseDeserialize: (b: Buffer): unknown => JSON.parse(b.toString('utf8')) as unknown,
};

export const MEMBERSHIP_SERVICE = {
  members: { path: '/berthpb.Membership/Members', requestStream: false, responseStream: false, ...json },
  promote: { path: '/berthpb.Membership/Promote', requestStream: false, responseStream: false, ...json },
} as const satisfies ServiceDefinition;

export function toWire(m: Member): WireMember {
  return { id: m.id.toString(16), name: m.name, peerUrls: [...m.peerUrls], clientUrls: [...m.clientUrls], isLearner: m.isLearner };
}

export function fromWire(w: WireMember): Member {
  return { id: BigInt(`0x${w.id}`), name: w.name, peerUrls: [...w.peerUrls], clientUrls: [...w.clientUrls], isLearner: w.isLearner };
}

/** A failure to hand back to the peer: a gRPC code and etcd's message. */
export interface PeerFailure {
  readonly code: Status;
  readonly message: string;
}

export interface MembershipServiceOptions {
  readonly clusterId: () => bigint;
  readonly members: () => readonly Member[];
  /** Promotes on this member (which should be the leader); resolves with the members or a failure. */
  readonly promote: (id: bigint) => Promise<{ ok: true; members: readonly Member[] } | { ok: false; failure: PeerFailure }>;
}

function failure(f: PeerFailure): ServiceError {
  return Object.assign(new Error(f.message), { code: f.code, details: f.message, metadata: new Metadata() });
}

export function membershipHandlers(o: MembershipServiceOptions): UntypedServiceImplementation {
  return {
    members: (_call: ServerUnaryCall<unknown, MembersResponse>, cb: sendUnaryData<MembersResponse>) => {
      cb(null, { clusterId: o.clusterId().toString(16), members: o.members().map(toWire) });
    },
    promote: (call: ServerUnaryCall<PromoteRequest, { members: WireMember[] }>, cb: sendUnaryData<{ members: WireMember[] }>) => {
      let id: bigint;
      try {
        id = BigInt(`0x${call.request.id}`);
      } catch {
        return cb(failure({ code: Status.INVALID_ARGUMENT, message: 'membership: bad member id' }));
      }
      void o.promote(id).then((r) => (r.ok ? cb(null, { members: r.members.map(toWire) }) : cb(failure(r.failure))));
    },
  };
}

/** How to dial one peer URL (plain text for http, the peer TLS material for https). */
export type PeerCredentials = (peerUrl: string) => ChannelCredentials;

/** Without TLS material: plain text for http, the system CAs and no client certificate for https. */
export const defaultPeerCredentials: PeerCredentials = (url) => (url.startsWith('https://') ? grpcCredentials.createSsl() : grpcCredentials.createInsecure());

function hostOf(url: string): string {
  const u = new URL(url);
  return u.host;
}

function unary<Req, Res>(
  url: string,
  d: (typeof MEMBERSHIP_SERVICE)[keyof typeof MEMBERSHIP_SERVICE],
  req: Req,
  deadlineMs: number,
  creds: PeerCredentials,
): Promise<{ ok: true; value: Res } | { ok: false; error: ServiceError }> {
  let client: Client;
  try {
    client = new Client(hostOf(url), creds(url));
  } catch (err) {
    // E.g. unreadable TLS material: a failed call, not an exception.
    const message = err instanceof Error ? err.message : String(err);
    return Promise.resolve({ ok: false, error: Object.assign(new Error(message), { code: Status.UNAVAILABLE, details: message, metadata: new Metadata() }) });
  }
  return new Promise((resolve) => {
    client.makeUnaryRequest(d.path, d.requestSerialize, d.responseDeserialize, req, new Metadata(), { deadline: Date.now() + deadlineMs }, (err, value) => {
      client.close();
      if (err !== null) resolve({ ok: false, error: err });
      else resolve({ ok: true, value: value as Res });
    });
  });
}

/** Asks the member at `peerUrl` for the cluster ID and member list (or says why it could not). */
export async function fetchMembers(
  peerUrl: string,
  deadlineMs: number,
  creds: PeerCredentials = defaultPeerCredentials,
): Promise<{ ok: true; clusterId: bigint; members: Member[] } | { ok: false; error: string }> {
  const r = await unary<object, MembersResponse>(peerUrl, MEMBERSHIP_SERVICE.members, {}, deadlineMs, creds);
  if (!r.ok) return { ok: false, error: r.error.details };
  return { ok: true, clusterId: BigInt(`0x${r.value.clusterId}`), members: r.value.members.map(fromWire) };
}

/** Forwards a promote to the member at `peerUrl` (the leader). */
export async function forwardPromote(
  peerUrl: string,
  id: bigint,
  deadlineMs: number,
  creds: PeerCredentials = defaultPeerCredentials,
): Promise<{ ok: true; members: Member[] } | { ok: false; failure: PeerFailure; transport: boolean }> {
  const r = await unary<PromoteRequest, { members: WireMember[] }>(peerUrl, MEMBERSHIP_SERVICE.promote, { id: id.toString(16) }, deadlineMs, creds);
  if (r.ok) return { ok: true, members: r.value.members.map(fromWire) };
  // Unreachable, or no longer the leader: the caller tries again (with the leader it knows by then).
  const transport = (r.error.code === Status.UNAVAILABLE && !r.error.details.startsWith('etcdserver:')) || r.error.details === 'etcdserver: not leader';
  return { ok: false, failure: { code: r.error.code, message: r.error.details }, transport };
}
