/**
 * The etcdserverpb.Cluster service. MemberList is served from the applied member records
 * (optionally after a ReadIndex round). Membership changes need raft conf changes, the peer
 * transport and snapshot installation, which berth does not have yet: they answer Unimplemented
 * with a clear message instead of pretending to succeed.
 */
import { status, type sendUnaryData, type ServerUnaryCall, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type * as pb from '../../proto/gen/etcdserverpb/rpc.js';
import type { Member } from '../../membership/members.js';
import type { MemberContext } from '../context.js';
import type { Outcome } from '../wait.js';
import { unary } from './kv.js';
import { plainServiceError } from './maintenance.js';

export const RECONFIGURATION_UNSUPPORTED = 'etcdserver: membership changes are not supported by berth yet';

export function memberToPb(m: Member): pb.Member {
  return { ID: m.id, name: m.name, peerURLs: [...m.peerUrls], clientURLs: [...m.clientUrls], isLearner: m.isLearner };
}

export function clusterService(ctx: MemberContext): UntypedServiceImplementation {
  const memberList = async (req: pb.MemberListRequest): Promise<Outcome<pb.MemberListResponse>> => {
    if (req.linearizable) {
      const r = await ctx.linearizableRead();
      if (!r.ok) return r;
    }
    // Like etcd, the Cluster service's header carries no revision.
    return { ok: true, value: { header: ctx.header(0n), members: ctx.members.list().map(memberToPb) } };
  };
  const unsupported = (_call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>): void => {
    cb(plainServiceError(status.UNIMPLEMENTED, RECONFIGURATION_UNSUPPORTED));
  };
  return {
    memberList: unary(memberList),
    memberAdd: unsupported,
    memberRemove: unsupported,
    memberUpdate: unsupported,
    memberPromote: unsupported,
  };
}
