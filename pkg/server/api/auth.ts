/**
 * The etcdserverpb.Auth service. Every RPC is a replicated command (reads too, so they are
 * linearizable and admin-checked at apply like etcd); passwords are bcrypt-hashed here, before
 * proposing, so no raft entry carries a plaintext. Authenticate checks the password on this member
 * after a ReadIndex round, then replicates only the user name and the token's random prefix.
 */
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type * as pb from '../../proto/gen/etcdserverpb/rpc.js';
import { berthError } from '../../errors/index.js';
import { checkPassword, hashPassword } from '../../auth/index.js';
import type { MemberContext } from '../context.js';
import type { CommandRequest } from '../propose.js';
import type { Outcome } from '../wait.js';
import type { MemberAuth } from '../auth/member-auth.js';
import { unary } from './kv.js';

type WithHeader = { header: pb.ResponseHeader | undefined };

export function authService(ctx: MemberContext, auth: MemberAuth): UntypedServiceImplementation {
  const call = async <R extends WithHeader>(request: CommandRequest): Promise<Outcome<R>> => {
    const o = await ctx.propose<Omit<R, 'header'>>(request);
    if (!o.ok) return o;
    return { ok: true, value: { ...o.value, header: ctx.header(ctx.mvcc.currentRevision) } as R };
  };
  const fail = (kind: Parameters<typeof berthError>[0]): Outcome<never> => ({ ok: false, error: berthError(kind) });

  const authenticate = async (r: pb.AuthenticateRequest): Promise<Outcome<pb.AuthenticateResponse>> => {
    if (!auth.store.enabled) return fail('authNotEnabled');
    const read = await ctx.linearizableRead();
    if (!read.ok) return read;
    // Like etcd: if the auth store changed between the password check and the token's issue (e.g.
    // the password was changed), check again; a token issued meanwhile is never handed out.
    for (let attempt = 0; attempt < 3; attempt++) {
      if (!auth.store.enabled) return fail('authNotEnabled');
      const checkedAt = auth.store.revision;
      const u = auth.store.user(r.name);
      if (u === undefined || u.noPassword || !(await checkPassword(r.password, u.passwordHash))) return fail('authFailed');
      if (auth.store.revision !== checkedAt) continue;
      const o = await call<pb.AuthenticateResponse>({ $case: 'authenticate', value: { name: r.name, password: '', simpleToken: auth.tokens.newPrefix() } });
      if (!o.ok || auth.store.revision === checkedAt) return o;
    }
    return fail('authFailed');
  };

  const userAdd = async (r: pb.AuthUserAddRequest): Promise<Outcome<pb.AuthUserAddResponse>> => {
    if (r.name === '') return fail('userEmpty');
    const noPassword = r.options?.noPassword ?? false;
    const hashedPassword = noPassword ? '' : await hashPassword(r.password, auth.bcryptCost);
    return call({ $case: 'authUserAdd', value: { name: r.name, password: '', options: r.options, hashedPassword } });
  };

  const userChangePassword = async (r: pb.AuthUserChangePasswordRequest): Promise<Outcome<pb.AuthUserChangePasswordResponse>> => {
    // Fail fast without burning a bcrypt round for an unknown user (apply decides again).
    if (auth.store.user(r.name) === undefined) return fail('userNotFound');
    const hashedPassword = await hashPassword(r.password, auth.bcryptCost);
    return call({ $case: 'authUserChangePassword', value: { name: r.name, password: '', hashedPassword } });
  };

  return {
    authEnable: unary((r: pb.AuthEnableRequest) => call<pb.AuthEnableResponse>({ $case: 'authEnable', value: r })),
    authDisable: unary((r: pb.AuthDisableRequest) => call<pb.AuthDisableResponse>({ $case: 'authDisable', value: r })),
    authStatus: unary((r: pb.AuthStatusRequest) => call<pb.AuthStatusResponse>({ $case: 'authStatus', value: r })),
    authenticate: unary(authenticate),
    userAdd: unary(userAdd),
    userGet: unary((r: pb.AuthUserGetRequest) => call<pb.AuthUserGetResponse>({ $case: 'authUserGet', value: r })),
    userList: unary((r: pb.AuthUserListRequest) => call<pb.AuthUserListResponse>({ $case: 'authUserList', value: r })),
    userDelete: unary((r: pb.AuthUserDeleteRequest) => call<pb.AuthUserDeleteResponse>({ $case: 'authUserDelete', value: r })),
    userChangePassword: unary(userChangePassword),
    userGrantRole: unary((r: pb.AuthUserGrantRoleRequest) => call<pb.AuthUserGrantRoleResponse>({ $case: 'authUserGrantRole', value: r })),
    userRevokeRole: unary((r: pb.AuthUserRevokeRoleRequest) => call<pb.AuthUserRevokeRoleResponse>({ $case: 'authUserRevokeRole', value: r })),
    roleAdd: unary((r: pb.AuthRoleAddRequest) => call<pb.AuthRoleAddResponse>({ $case: 'authRoleAdd', value: r })),
    roleGet: unary((r: pb.AuthRoleGetRequest) => call<pb.AuthRoleGetResponse>({ $case: 'authRoleGet', value: r })),
    roleList: unary((r: pb.AuthRoleListRequest) => call<pb.AuthRoleListResponse>({ $case: 'authRoleList', value: r })),
    roleDelete: unary((r: pb.AuthRoleDeleteRequest) => call<pb.AuthRoleDeleteResponse>({ $case: 'authRoleDelete', value: r })),
    roleGrantPermission: unary((r: pb.AuthRoleGrantPermissionRequest) => call<pb.AuthRoleGrantPermissionResponse>({ $case: 'authRoleGrantPermission', value: r })),
    roleRevokePermission: unary((r: pb.AuthRoleRevokePermissionRequest) => call<pb.AuthRoleRevokePermissionResponse>({ $case: 'authRoleRevokePermission', value: r })),
  };
}
