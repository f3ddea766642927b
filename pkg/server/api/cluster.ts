/**
 * The etcdserverpb.Cluster service. MemberList is served from the applied member records
 * (optionally after a ReadIndex round). MemberAdd/Remove/Update/Promote are raft conf changes
 * (membership/reconfigure.ts); their responses carry the header and the full member list, like etcd.
 */
import type { sendUnaryData, ServerUnaryCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import type * as pb from '../../proto/gen/etcdserverpb/rpc.js';
import type { Member } from '../../membership/members.js';
import type { MemberContext } from '../context.js';
import type { Outcome } from '../wait.js';
import { unary } from './kv.js';
import { plainServiceError } from './maintenance.js';

export function memberToPb(m: Member): pb.Member {
  return { ID: m.id, name: m.name, peerURLs: [...m.peerUrls], clientURLs: [...m.clientUrls], isLearner: m.isLearner };
}

export function clusterService(ctx: MemberContext): UntypedServiceImplementation {
  // Like etcd, the Cluster service's header carries no revision.
  const header = (): pb.ResponseHeader => ctx.header(0n);
  const memberList = async (req: pb.MemberListRequest): Promise<Outcome<pb.MemberListResponse>> => {
    if (req.linearizable) {
      const r = await ctx.linearizableRead();
      if (!r.ok) return r;
    }
    return { ok: true, value: { header: header(), members: ctx.members.list().map(memberToPb) } };
  };
  const memberAdd = async (req: pb.MemberAddRequest): Promise<Outcome<pb.MemberAddResponse>> => {
    const r = await ctx.reconfig.add(req.peerURLs, req.isLearner);
    if (!r.ok) return r;
    const member = r.value.member === undefined ? undefined : memberToPb(r.value.member);
    return { ok: true, value: { header: header(), member, members: r.value.members.map(memberToPb) } };
  };
  const memberRemove = async (req: pb.MemberRemoveRequest): Promise<Outcome<pb.MemberRemoveResponse>> => {
    const r = await ctx.reconfig.remove(req.ID);
    return r.ok ? { ok: true, value: { header: header(), members: r.value.members.map(memberToPb) } } : r;
  };
  const memberUpdate = async (req: pb.MemberUpdateRequest): Promise<Outcome<pb.MemberUpdateResponse>> => {
    const r = await ctx.reconfig.update(req.ID, req.peerURLs);
    return r.ok ? { ok: true, value: { header: header(), members: r.value.members.map(memberToPb) } } : r;
  };
  // A promote forwarded to the leader may come back with the leader's own failure (code + message).
  const memberPromote = (call: ServerUnaryCall<pb.MemberPromoteRequest, pb.MemberPromoteResponse>, cb: sendUnaryData<pb.MemberPromoteResponse>): void => {
    void ctx.reconfig.promote(call.request.ID, () => ctx.leader()).then((r) => {
      if (r.ok) return cb(null, { header: header(), members: r.value.members.map(memberToPb) });
      if ('failure' in r) return cb(plainServiceError(r.failure.code, r.failure.message));
      unary<unknown, never>(() => Promise.resolve(r))(call as unknown as ServerUnaryCall<unknown, never>, cb as sendUnaryData<never>);
    });
  };
  return {
    memberList: unary(memberList),
    memberAdd: unary(memberAdd),
    memberRemove: unary(memberRemove),
    memberUpdate: unary(memberUpdate),
    memberPromote,
  };
}
