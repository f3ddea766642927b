/**
 * `user add|delete|get|list|passwd|grant-role|revoke-role`, `role add|delete|get|list|grant-permission|
 * revoke-permission` and `auth enable|disable|status`, with etcdctl 3.4's argument rules, messages,
 * password prompts (prompt.ts) and outputs: simple, json, protobuf, and fields where etcdctl has a
 * fields rendering (output/response.ts for the rest). `auth status` is etcdctl 3.5's (3.4 has none).
 */
import { Permission_Type, type Permission } from '../../../pkg/proto/gen/authpb/auth.js';
import {
  AuthRoleAddResponse,
  AuthRoleDeleteResponse,
  AuthRoleGetResponse,
  AuthRoleGrantPermissionResponse,
  AuthRoleListResponse,
  AuthRoleRevokePermissionResponse,
  AuthStatusResponse,
  AuthUserAddResponse,
  AuthUserChangePasswordResponse,
  AuthUserDeleteResponse,
  AuthUserGetResponse,
  AuthUserGrantRoleResponse,
  AuthUserListResponse,
  AuthUserRevokeRoleResponse,
  type ResponseHeader,
} from '../../../pkg/proto/gen/etcdserverpb/rpc.js';
import type { MessageFns ,
  AuthDisableResponse,
  AuthEnableResponse} from '../../../pkg/proto/gen/etcdserverpb/rpc.js';
import { errorMessage } from '../../../pkg/client/index.js';
import { CommandError, Exit, type Context } from '../io.js';
import { fieldsHeader, goQuote } from '../output/fields.js';
import type { JsonValue } from '../output/json.js';
import { jsonHeader } from '../output/kv.js';
import { EXIT_BAD_FEATURE, printResponse, raw } from '../output/response.js';
import { askPassword, readWord } from '../prompt.js';
import { prefixEnd } from './kv.js';
import type { Command } from './command.js';

type Headed = { header: ResponseHeader | undefined };

/** A response with only a header: simple text, json/protobuf, and (for most) the fields header. */
function printHeaded<T extends Headed>(ctx: Context, fns: MessageFns<T>, r: T, simple: string, fields = true): void {
  if (ctx.writeOut === 'fields' && fields) ctx.io.stdout.write(fieldsHeader(r.header));
  else printResponse(ctx, fns, r, () => ({ header: jsonHeader(r.header) }), () => simple);
}

function args(ctx: Context, n: number, message: string): string[] {
  if (ctx.flags.args.length !== n) throw new CommandError(message, Exit.badArgs);
  return [...ctx.flags.args];
}

// ---- users ----

/** etcdctl's readPasswordInteractive: asked twice, must be non-empty and equal. */
async function newPassword(ctx: Context, name: string): Promise<string> {
  if (!ctx.flags.bool('interactive')) return readWord(ctx.io);
  const failed = new CommandError('failed to ask password: interrupted', Exit.badArgs);
  const p1 = await askPassword(ctx.io, `Password of ${name}: `);
  if (p1 === undefined) throw failed;
  if (p1 === '') throw new CommandError('empty password', Exit.badArgs);
  const p2 = await askPassword(ctx.io, `Type password of ${name} again for confirmation: `);
  if (p2 === undefined) throw failed;
  if (p1 !== p2) throw new CommandError('given passwords are different', Exit.badArgs);
  return p1;
}

async function userAdd(ctx: Context): Promise<number> {
  const [arg] = args(ctx, 1, 'user add command requires user name as its argument') as [string];
  let name = arg;
  let password = '';
  const noPassword = ctx.flags.bool('no-password');
  if (!noPassword) {
    const fromFlag = ctx.flags.str('new-user-password');
    const colon = arg.indexOf(':');
    if (fromFlag !== '') password = fromFlag;
    else if (colon < 0) password = await newPassword(ctx, arg);
    else {
      name = arg.slice(0, colon);
      password = arg.slice(colon + 1);
      if (name === '') throw new CommandError('empty user name is not allowed', Exit.badArgs);
    }
  }
  const c = await ctx.client();
  const r = await c.unary<AuthUserAddResponse>((s, md, o, cb) => s.auth.userAdd({ name, password, options: { noPassword }, hashedPassword: '' }, md, o, cb));
  printHeaded(ctx, AuthUserAddResponse, r, `User ${raw(name)} created\n`);
  return Exit.ok;
}

async function userDelete(ctx: Context): Promise<number> {
  const [name] = args(ctx, 1, 'user delete command requires user name as its argument') as [string];
  const r = await (await ctx.client()).unary<AuthUserDeleteResponse>((s, md, o, cb) => s.auth.userDelete({ name }, md, o, cb));
  printHeaded(ctx, AuthUserDeleteResponse, r, `User ${raw(name)} deleted\n`);
  return Exit.ok;
}

async function userGet(ctx: Context): Promise<number> {
  const [name] = args(ctx, 1, 'user get command requires user name as its argument') as [string];
  const c = await ctx.client();
  const r = await c.unary<AuthUserGetResponse>((s, md, o, cb) => s.auth.userGet({ name }, md, o, cb));
  if (ctx.flags.bool('detail')) {
    ctx.io.stdout.write(Buffer.from(`User: ${raw(name)}\n`, 'latin1'));
    for (const role of r.roles) {
      ctx.io.stdout.write('\n');
      const rr = await c.unary<AuthRoleGetResponse>((s, md, o, cb) => s.auth.roleGet({ role }, md, o, cb));
      printRole(ctx, role, rr);
    }
    return Exit.ok;
  }
  printResponse(ctx, AuthUserGetResponse, r, () => ({ header: jsonHeader(r.header), roles: r.roles.length === 0 ? undefined : r.roles }), () =>
    `User: ${raw(name)}\nRoles:${r.roles.map((x) => ` ${raw(x)}`).join('')}\n`);
  return Exit.ok;
}

async function userList(ctx: Context): Promise<number> {
  args(ctx, 0, 'user list command requires no arguments');
  const r = await (await ctx.client()).unary<AuthUserListResponse>((s, md, o, cb) => s.auth.userList({}, md, o, cb));
  printResponse(ctx, AuthUserListResponse, r, () => ({ header: jsonHeader(r.header), users: r.users.length === 0 ? undefined : r.users }), () =>
    r.users.map((u) => `${raw(u)}\n`).join(''));
  return Exit.ok;
}

async function userPasswd(ctx: Context): Promise<number> {
  const [name] = args(ctx, 1, 'user passwd command requires user name as its argument') as [string];
  const password = await newPassword(ctx, name);
  const r = await (await ctx.client()).unary<AuthUserChangePasswordResponse>((s, md, o, cb) =>
    s.auth.userChangePassword({ name, password, hashedPassword: '' }, md, o, cb));
  printHeaded(ctx, AuthUserChangePasswordResponse, r, 'Password updated\n');
  return Exit.ok;
}

async function userGrantRole(ctx: Context): Promise<number> {
  const [user, role] = args(ctx, 2, 'user grant command requires user name and role name as its argument') as [string, string];
  const r = await (await ctx.client()).unary<AuthUserGrantRoleResponse>((s, md, o, cb) => s.auth.userGrantRole({ user, role }, md, o, cb));
  printHeaded(ctx, AuthUserGrantRoleResponse, r, `Role ${raw(role)} is granted to user ${raw(user)}\n`);
  return Exit.ok;
}

async function userRevokeRole(ctx: Context): Promise<number> {
  const [name, role] = args(ctx, 2, 'user revoke-role requires user name and role name as its argument') as [string, string];
  const r = await (await ctx.client()).unary<AuthUserRevokeRoleResponse>((s, md, o, cb) => s.auth.userRevokeRole({ name, role }, md, o, cb));
  printHeaded(ctx, AuthUserRevokeRoleResponse, r, `Role ${raw(role)} is revoked from user ${raw(name)}\n`);
  return Exit.ok;
}

// ---- roles ----

const bytes = (s: string): Buffer => Buffer.from(s, 'utf8');
const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
const PERM_NAMES: Record<number, string> = { [Permission_Type.READ]: 'READ', [Permission_Type.WRITE]: 'WRITE', [Permission_Type.READWRITE]: 'READWRITE' };

/** etcdctl's simple RoleGet: the read and the write permissions, ranges as [key, end) or open ended. */
function simpleRole(role: string, perms: readonly Permission[]): string {
  const line = (p: Permission): string => {
    const key = latin1(p.key);
    if (p.rangeEnd.length === 0) return `\t${key}\n`;
    const end = latin1(p.rangeEnd);
    const range = end !== '\x00' ? `\t[${key}, ${end})` : `\t[${key}, <open ended>`;
    return `${range}${latin1(prefixEnd(p.key)) === end ? ` (prefix ${key})` : ''}\n`;
  };
  const reads = perms.filter((p) => p.permType === Permission_Type.READ || p.permType === Permission_Type.READWRITE);
  const writes = perms.filter((p) => p.permType === Permission_Type.WRITE || p.permType === Permission_Type.READWRITE);
  return `Role ${raw(role)}\nKV Read:\n${reads.map(line).join('')}KV Write:\n${writes.map(line).join('')}`;
}

function printRole(ctx: Context, role: string, r: AuthRoleGetResponse): void {
  if (ctx.writeOut === 'fields') {
    // Go's Println of `"PermType" : ` and the name: two spaces.
    const perms = r.perm.map((p) => `"PermType" :  ${PERM_NAMES[p.permType] ?? p.permType}\n"Key" : ${goQuote(p.key)}\n"RangeEnd" : ${goQuote(p.rangeEnd)}\n`);
    ctx.io.stdout.write(Buffer.from(fieldsHeader(r.header) + perms.join(''), 'latin1'));
    return;
  }
  const perm = (p: Permission): JsonValue => ({
    permType: p.permType === Permission_Type.READ ? undefined : p.permType,
    key: p.key.length === 0 ? undefined : p.key,
    range_end: p.rangeEnd.length === 0 ? undefined : p.rangeEnd,
  });
  printResponse(ctx, AuthRoleGetResponse, r, () => ({ header: jsonHeader(r.header), perm: r.perm.length === 0 ? undefined : r.perm.map(perm) }), () => simpleRole(role, r.perm));
}

async function roleAdd(ctx: Context): Promise<number> {
  const [name] = args(ctx, 1, 'role add command requires role name as its argument') as [string];
  const r = await (await ctx.client()).unary<AuthRoleAddResponse>((s, md, o, cb) => s.auth.roleAdd({ name }, md, o, cb));
  printHeaded(ctx, AuthRoleAddResponse, r, `Role ${raw(name)} created\n`);
  return Exit.ok;
}

async function roleDelete(ctx: Context): Promise<number> {
  const [role] = args(ctx, 1, 'role delete command requires role name as its argument') as [string];
  const r = await (await ctx.client()).unary<AuthRoleDeleteResponse>((s, md, o, cb) => s.auth.roleDelete({ role }, md, o, cb));
  printHeaded(ctx, AuthRoleDeleteResponse, r, `Role ${raw(role)} deleted\n`);
  return Exit.ok;
}

async function roleGet(ctx: Context): Promise<number> {
  const [role] = args(ctx, 1, 'role get command requires role name as its argument') as [string];
  const r = await (await ctx.client()).unary<AuthRoleGetResponse>((s, md, o, cb) => s.auth.roleGet({ role }, md, o, cb));
  printRole(ctx, role, r);
  return Exit.ok;
}

async function roleList(ctx: Context): Promise<number> {
  args(ctx, 0, 'role list command requires no arguments');
  const r = await (await ctx.client()).unary<AuthRoleListResponse>((s, md, o, cb) => s.auth.roleList({}, md, o, cb));
  if (ctx.writeOut === 'fields') {
    ctx.io.stdout.write(Buffer.from(`${fieldsHeader(r.header)}"Roles" :${r.roles.map((x) => ` ${goQuote(x)}`).join('')}\n`, 'latin1'));
    return Exit.ok;
  }
  printResponse(ctx, AuthRoleListResponse, r, () => ({ header: jsonHeader(r.header), roles: r.roles.length === 0 ? undefined : r.roles }), () =>
    r.roles.map((x) => `${raw(x)}\n`).join(''));
  return Exit.ok;
}

/**
 * etcdctl's permRange: key and range end of a permission from `<key> [endkey]` and --prefix /
 * --from-key. An empty key means the whole key space from "\x00"; "\x00" as range end is open ended.
 */
export function permRange(a: readonly string[], prefix: boolean, fromKey: boolean): { key: Buffer; rangeEnd: Buffer } {
  const key = a[0] as string;
  const exclusive = new CommandError('--from-key and --prefix flags are mutually exclusive', Exit.badArgs);
  if (key === '') {
    if (prefix && fromKey) throw exclusive;
    return { key: Buffer.from([0]), rangeEnd: prefix || fromKey ? Buffer.from([0]) : Buffer.alloc(0) };
  }
  if (a.length === 1) {
    if (prefix && fromKey) throw exclusive;
    if (prefix) return { key: bytes(key), rangeEnd: Buffer.from(prefixEnd(bytes(key))) };
    return { key: bytes(key), rangeEnd: fromKey ? Buffer.from([0]) : Buffer.alloc(0) };
  }
  if (prefix) throw new CommandError('unexpected endkey argument with --prefix flag', Exit.badArgs);
  if (fromKey) throw new CommandError('unexpected endkey argument with --from-key flag', Exit.badArgs);
  return { key: bytes(key), rangeEnd: bytes(a[1] as string) };
}

async function roleGrantPermission(ctx: Context): Promise<number> {
  const a = ctx.flags.args;
  if (a.length < 3) throw new CommandError('role grant command requires role name, permission type, and key [endkey] as its argument', Exit.badArgs);
  const type = (a[1] as string).toUpperCase();
  const permType = Object.entries(PERM_NAMES).find(([, n]) => n === type)?.[0];
  if (permType === undefined) throw new CommandError(`invalid permission type: ${a[1] as string}`, Exit.badArgs);
  const { key, rangeEnd } = permRange(a.slice(2), ctx.flags.bool('prefix'), ctx.flags.bool('from-key'));
  const name = a[0] as string;
  const r = await (await ctx.client()).unary<AuthRoleGrantPermissionResponse>((s, md, o, cb) =>
    s.auth.roleGrantPermission({ name, perm: { permType: Number(permType) as Permission_Type, key, rangeEnd } }, md, o, cb));
  printHeaded(ctx, AuthRoleGrantPermissionResponse, r, `Role ${raw(name)} updated\n`);
  return Exit.ok;
}

async function roleRevokePermission(ctx: Context): Promise<number> {
  const a = ctx.flags.args;
  if (a.length < 2) throw new CommandError('role revoke-permission command requires role name and key [endkey] as its argument', Exit.badArgs);
  const role = a[0] as string;
  const shownKey = a[1] as string;
  const { key, rangeEnd } = permRange(a.slice(1), ctx.flags.bool('prefix'), ctx.flags.bool('from-key'));
  const r = await (await ctx.client()).unary<AuthRoleRevokePermissionResponse>((s, md, o, cb) => s.auth.roleRevokePermission({ role, key, rangeEnd }, md, o, cb));
  const end = latin1(rangeEnd);
  const text =
    rangeEnd.length === 0
      ? `Permission of key ${raw(shownKey)} is revoked from role ${raw(role)}\n`
      : end !== '\x00'
        ? `Permission of range [${raw(shownKey)}, ${end}) is revoked from role ${raw(role)}\n`
        : `Permission of range [${raw(shownKey)}, <open ended> is revoked from role ${raw(role)}\n`;
  printHeaded(ctx, AuthRoleRevokePermissionResponse, r, text);
  return Exit.ok;
}

// ---- auth ----

/** etcdctl 3.4 prints these two lines whatever the output format. */
async function authEnable(ctx: Context): Promise<number> {
  args(ctx, 0, 'auth enable command does not accept any arguments');
  const c = await ctx.client();
  // The root user must hold the root role: etcdctl creates and grants it when the server says so.
  for (let tries = 0; ; tries++) {
    try {
      await c.unary<AuthEnableResponse>((s, md, o, cb) => s.auth.authEnable({}, md, o, cb));
      break;
    } catch (err) {
      if (tries > 0 || errorMessage(err) !== 'etcdserver: root user does not have root role') throw err;
      await c.unary<AuthRoleAddResponse>((s, md, o, cb) => s.auth.roleAdd({ name: 'root' }, md, o, cb));
      await c.unary<AuthUserGrantRoleResponse>((s, md, o, cb) => s.auth.userGrantRole({ user: 'root', role: 'root' }, md, o, cb));
    }
  }
  ctx.io.stdout.write('Authentication Enabled\n');
  return Exit.ok;
}

async function authDisable(ctx: Context): Promise<number> {
  args(ctx, 0, 'auth disable command does not accept any arguments');
  await (await ctx.client()).unary<AuthDisableResponse>((s, md, o, cb) => s.auth.authDisable({}, md, o, cb));
  ctx.io.stdout.write('Authentication Disabled\n');
  return Exit.ok;
}

async function authStatus(ctx: Context): Promise<number> {
  args(ctx, 0, 'auth status command does not accept any arguments');
  const r = await (await ctx.client()).unary<AuthStatusResponse>((s, md, o, cb) => s.auth.authStatus({}, md, o, cb));
  if (ctx.writeOut === 'fields') throw new CommandError('fields not supported as output format', EXIT_BAD_FEATURE);
  printResponse(ctx, AuthStatusResponse, r, () => ({ header: jsonHeader(r.header), enabled: r.enabled ? true : undefined, authRevision: r.authRevision === 0n ? undefined : r.authRevision }), () =>
    `Authentication Status: ${r.enabled}\nAuthRevision: ${r.authRevision}\n`);
  return Exit.ok;
}

const interactive = { name: 'interactive', kind: 'bool', def: 'true', help: 'Read password from stdin instead of interactive terminal' } as const;
const permFlags = (verb: string) =>
  [
    { name: 'prefix', kind: 'bool', def: 'false', help: `${verb} a prefix permission` },
    { name: 'from-key', kind: 'bool', def: 'false', help: `${verb} a permission of keys that are greater than or equal to the given key using byte compare` },
  ] as const;

export const authCommands: readonly Command[] = [
  {
    path: ['user', 'add'],
    usage: 'user add <user name or user:password> [options]',
    short: 'Adds a new user',
    flags: [
      interactive,
      { name: 'new-user-password', kind: 'string', def: '', help: 'Supply password from the command line flag' },
      { name: 'no-password', kind: 'bool', def: 'false', help: 'Create a user without password (CN based auth only)' },
    ],
    run: userAdd,
  },
  { path: ['user', 'delete'], usage: 'user delete <user name>', short: 'Deletes a user', flags: [], run: userDelete },
  {
    path: ['user', 'get'],
    usage: 'user get <user name> [options]',
    short: 'Gets detailed information of a user',
    flags: [{ name: 'detail', kind: 'bool', def: 'false', help: 'Show permissions of roles granted to the user' }],
    run: userGet,
  },
  { path: ['user', 'list'], usage: 'user list', short: 'Lists all users', flags: [], run: userList },
  { path: ['user', 'passwd'], usage: 'user passwd <user name> [options]', short: 'Changes password of user', flags: [interactive], run: userPasswd },
  { path: ['user', 'grant-role'], usage: 'user grant-role <user name> <role name>', short: 'Grants a role to a user', flags: [], run: userGrantRole },
  { path: ['user', 'revoke-role'], usage: 'user revoke-role <user name> <role name>', short: 'Revokes a role from a user', flags: [], run: userRevokeRole },
  { path: ['role', 'add'], usage: 'role add <role name>', short: 'Adds a new role', flags: [], run: roleAdd },
  { path: ['role', 'delete'], usage: 'role delete <role name>', short: 'Deletes a role', flags: [], run: roleDelete },
  { path: ['role', 'get'], usage: 'role get <role name>', short: 'Gets detailed information of a role', flags: [], run: roleGet },
  { path: ['role', 'list'], usage: 'role list', short: 'Lists all roles', flags: [], run: roleList },
  {
    path: ['role', 'grant-permission'],
    usage: 'role grant-permission [options] <role name> <permission type> <key> [endkey]',
    short: 'Grants a key to a role',
    flags: permFlags('grant'),
    run: roleGrantPermission,
  },
  {
    path: ['role', 'revoke-permission'],
    usage: 'role revoke-permission <role name> <key> [endkey]',
    short: 'Revokes a key from a role',
    flags: permFlags('revoke'),
    run: roleRevokePermission,
  },
  { path: ['auth', 'enable'], usage: 'auth enable', short: 'Enables authentication', flags: [], run: authEnable },
  { path: ['auth', 'disable'], usage: 'auth disable', short: 'Disables authentication', flags: [], run: authDisable },
  { path: ['auth', 'status'], usage: 'auth status', short: 'Returns authentication status', flags: [], run: authStatus },
];
