/**
 * Apply handlers of the auth commands: each computes the store change (ops include the auth revision
 * bump) and commits it in memory once the applier has written the ops with the applied index.
 * Results are the etcd response messages without their header (the API layer fills it).
 * Permission to run them was decided by the guard (guard.ts) before these run.
 */
import type { Change } from '../../auth/index.js';
import { berthError } from '../../errors/index.js';
import type { Command } from '../../proto/gen/berthpb/command.js';
import type { CommandCase, CommandEffect, CommandHandler, ApplyContext } from '../apply/applier.js';
import type { MemberAuth } from './member-auth.js';

type Req<K extends CommandCase> = Extract<NonNullable<Command['request']>, { $case: K }>['value'];

function effect<T, V>(c: Change<T>, value: (t: T) => V): CommandEffect {
  if (!c.ok) return { outcome: { ok: false, error: berthError(c.error) } };
  return { outcome: { ok: true, value: value(c.value) }, ops: c.ops, after: c.commit };
}

const empty = (): Record<string, never> => ({});

export function authHandlers(auth: MemberAuth): Partial<Record<CommandCase, CommandHandler>> {
  const s = auth.store;
  const on = <K extends CommandCase>(kind: K, fn: (r: Req<K>, ctx: ApplyContext) => CommandEffect): CommandHandler => {
    return async (cmd, ctx) => {
      const r = cmd.request;
      if (r?.$case !== kind) return { outcome: { ok: false, error: berthError('internal', `not a ${kind} command`) } };
      return fn(r.value as Req<K>, ctx);
    };
  };
  const readOnly = (value: unknown): CommandEffect => ({ outcome: { ok: true, value } });
  return {
    authEnable: on('authEnable', () => effect(s.enable(), empty)),
    authDisable: on('authDisable', () => effect(s.disable(), empty)),
    authStatus: on('authStatus', () => readOnly({ enabled: s.enabled, authRevision: s.revision })),
    authenticate: on('authenticate', (r, ctx) => {
      if (!s.enabled) return { outcome: { ok: false, error: berthError('authNotEnabled') } };
      const u = s.user(r.name);
      if (u === undefined || u.noPassword) return { outcome: { ok: false, error: berthError('authFailed') } };
      try {
        return readOnly({ token: auth.tokens.assign(r.name, s.revision, r.simpleToken, ctx.index) });
      } catch (err) {
        return { outcome: { ok: false, error: berthError('internal', err instanceof Error ? err.message : String(err)) } };
      }
    }),
    authUserAdd: on('authUserAdd', (r) => effect(s.addUser(r.name, r.hashedPassword, r.options?.noPassword ?? false), empty)),
    authUserDelete: on('authUserDelete', (r) => effect(s.deleteUser(r.name), empty)),
    authUserChangePassword: on('authUserChangePassword', (r) => effect(s.changePassword(r.name, r.hashedPassword), empty)),
    authUserGrantRole: on('authUserGrantRole', (r) => effect(s.grantRole(r.user, r.role), empty)),
    authUserRevokeRole: on('authUserRevokeRole', (r) => effect(s.revokeRole(r.name, r.role), empty)),
    authUserGet: on('authUserGet', (r) => {
      const u = s.user(r.name);
      return u === undefined ? { outcome: { ok: false, error: berthError('userNotFound') } } : readOnly({ roles: [...u.roles] });
    }),
    authUserList: on('authUserList', () => readOnly({ users: s.userNames() })),
    authRoleAdd: on('authRoleAdd', (r) => effect(s.addRole(r.name), empty)),
    authRoleDelete: on('authRoleDelete', (r) => effect(s.deleteRole(r.role), empty)),
    authRoleGet: on('authRoleGet', (r) => {
      const role = s.role(r.role);
      return role === undefined ? { outcome: { ok: false, error: berthError('roleNotFound') } } : readOnly({ perm: [...role.perms] });
    }),
    authRoleList: on('authRoleList', () => readOnly({ roles: s.roleNames() })),
    // etcd checks the role first; a missing permission is then refused (etcd 3.4 crashes on it).
    authRoleGrantPermission: on('authRoleGrantPermission', (r) =>
      s.role(r.name) === undefined
        ? { outcome: { ok: false, error: berthError('roleNotFound') } }
        : r.perm === undefined
          ? { outcome: { ok: false, error: berthError('permissionNotGiven') } }
          : effect(s.grantPermission(r.name, r.perm), empty),
    ),
    authRoleRevokePermission: on('authRoleRevokePermission', (r) => effect(s.revokePermission(r.role, r.key, r.rangeEnd), empty)),
  };
}
