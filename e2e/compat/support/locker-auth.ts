/**
 * The auth setup of the Lock/Election permission tests: root (password rootpw, root role), alice
 * (password apw) with role `locker` = READWRITE on the prefix `lock/`, then auth enabled. Fails the
 * test on the first refused call.
 */
import assert from 'node:assert/strict';
import * as pb from '../../../pkg/proto/gen/etcdserverpb/rpc.js';
import { Permission_Type } from '../../../pkg/proto/gen/authpb/auth.js';
import type { EtcdRpc, RpcResult } from './etcd-rpc.js';

export async function enableAuthWithLocker(c: EtcdRpc): Promise<void> {
  const must = async (what: string, p: Promise<RpcResult<unknown>>): Promise<void> => {
    const r = await p;
    if (!r.ok) assert.fail(`${what}: ${r.code} ${r.message}`);
  };
  await must('user add root', c.call(pb.AuthService.userAdd, pb.AuthUserAddRequest.fromPartial({ name: 'root', password: 'rootpw' })));
  await must('user add alice', c.call(pb.AuthService.userAdd, pb.AuthUserAddRequest.fromPartial({ name: 'alice', password: 'apw' })));
  await must('role add locker', c.call(pb.AuthService.roleAdd, pb.AuthRoleAddRequest.fromPartial({ name: 'locker' })));
  const perm = { permType: Permission_Type.READWRITE, key: Buffer.from('lock/'), rangeEnd: Buffer.from('lock0') };
  await must('grant READWRITE lock/', c.call(pb.AuthService.roleGrantPermission, pb.AuthRoleGrantPermissionRequest.fromPartial({ name: 'locker', perm })));
  await must('grant locker to alice', c.call(pb.AuthService.userGrantRole, pb.AuthUserGrantRoleRequest.fromPartial({ user: 'alice', role: 'locker' })));
  await must('grant root to root', c.call(pb.AuthService.userGrantRole, pb.AuthUserGrantRoleRequest.fromPartial({ user: 'root', role: 'root' })));
  await must('auth enable', c.call(pb.AuthService.authEnable, {}));
}
