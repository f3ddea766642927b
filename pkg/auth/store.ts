/**
 * The auth store: users, roles, the enabled flag and the auth revision, as the state machine sees
 * them. It lives in keyspace 0x23 (docs/auth.md):
 *   0x23 'e'          → 1 byte, 1 = auth enabled
 *   0x23 'r'          → u64 BE auth revision
 *   0x23 'u' ‖ name   → authpb.User (password = bcrypt hash, roles sorted)
 *   0x23 'o' ‖ name   → authpb.Role (permissions sorted by key)
 * Every mutation is computed without writing: it returns the engine ops (including the revision
 * bump, except for auth enable, as in etcd) and a `commit` that updates the in-memory copy once the applier has written the ops with
 * the applied index. Rules follow etcd's auth store (root user/role, revision on every change).
 */
import { Keyspace, del, keyIn, keyspaceRange, put, type BatchOp, type Engine } from '../storage/engine/index.js';
import { Permission_Type, Role, User, type Permission } from '../proto/gen/authpb/auth.js';
import type { ErrorKind } from '../errors/index.js';
import { buildUserPerms, type UserPerms } from './range-perms.js';

export const ROOT_USER = 'root';
export const ROOT_ROLE = 'root';

const ENABLED_KEY = keyIn(Keyspace.Auth, Uint8Array.of(0x65));
const REVISION_KEY = keyIn(Keyspace.Auth, Uint8Array.of(0x72));
const USER_PREFIX = 0x75;
const ROLE_PREFIX = 0x6f;

function nameKey(prefix: number, name: string): Uint8Array {
  const n = Buffer.from(name, 'utf8');
  const k = new Uint8Array(n.byteLength + 1);
  k[0] = prefix;
  k.set(n, 1);
  return keyIn(Keyspace.Auth, k);
}

function u64(v: bigint): Uint8Array {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(v);
  return b;
}

export type Change<T> =
  | { readonly ok: false; readonly error: ErrorKind }
  | { readonly ok: true; readonly value: T; readonly ops: readonly BatchOp[]; readonly commit: () => void };

function fail(error: ErrorKind): Change<never> {
  return { ok: false, error };
}

export interface StoredUser {
  readonly name: string;
  /** bcrypt hash; empty for a no-password user. */
  readonly passwordHash: string;
  readonly roles: readonly string[];
  readonly noPassword: boolean;
}

export interface StoredRole {
  readonly name: string;
  readonly perms: readonly Permission[];
}

function userRecord(u: StoredUser): Uint8Array {
  return User.encode({
    name: Buffer.from(u.name, 'utf8'),
    password: Buffer.from(u.passwordHash, 'utf8'),
    roles: [...u.roles],
    options: { noPassword: u.noPassword },
  }).finish();
}

function roleRecord(r: StoredRole): Uint8Array {
  return Role.encode({ name: Buffer.from(r.name, 'utf8'), keyPermission: [...r.perms] }).finish();
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}

export class AuthStore {
  #enabled = false;
  /** etcd starts at 1 (its store commits a revision when created). */
  #revision = 1n;
  #users = new Map<string, StoredUser>();
  #roles = new Map<string, StoredRole>();
  #perms = new Map<string, UserPerms>();
  #listeners: ((event: AuthChange) => void)[] = [];

  static async load(engine: Pick<Engine, 'iterate'>): Promise<AuthStore> {
    const s = new AuthStore();
    await s.reload(engine);
    return s;
  }

  /** Re-reads everything from the engine (after a raft snapshot replaced the state). */
  async reload(engine: Pick<Engine, 'iterate'>): Promise<void> {
    let enabled = false;
    let revision = 1n;
    const users = new Map<string, StoredUser>();
    const roles = new Map<string, StoredRole>();
    for await (const kv of engine.iterate(keyspaceRange(Keyspace.Auth))) {
      const k = kv.key;
      if (k.byteLength === 2 && k[1] === 0x65) enabled = kv.value[0] === 1;
      else if (k.byteLength === 2 && k[1] === 0x72) revision = Buffer.from(kv.value).readBigUInt64BE(0);
      else if (k[1] === USER_PREFIX) {
        const u = User.decode(kv.value);
        const name = Buffer.from(u.name).toString('utf8');
        users.set(name, { name, passwordHash: Buffer.from(u.password).toString('utf8'), roles: u.roles, noPassword: u.options?.noPassword ?? false });
      } else if (k[1] === ROLE_PREFIX) {
        const r = Role.decode(kv.value);
        const name = Buffer.from(r.name).toString('utf8');
        roles.set(name, { name, perms: r.keyPermission });
      }
    }
    this.#enabled = enabled;
    this.#revision = revision;
    this.#users = users;
    this.#roles = roles;
    this.#perms.clear();
    this.#emit({ kind: 'reloaded' });
  }

  get enabled(): boolean {
    return this.#enabled;
  }

  get revision(): bigint {
    return this.#revision;
  }

  user(name: string): StoredUser | undefined {
    return this.#users.get(name);
  }

  role(name: string): StoredRole | undefined {
    return this.#roles.get(name);
  }

  userNames(): string[] {
    return [...this.#users.keys()].sort();
  }

  roleNames(): string[] {
    return [...this.#roles.keys()].sort();
  }

  hasRole(user: string, role: string): boolean {
    return this.#users.get(user)?.roles.includes(role) ?? false;
  }

  isRoot(user: string): boolean {
    return this.hasRole(user, ROOT_ROLE);
  }

  /** Merged READ/WRITE intervals of a user's roles (cached until the next change). */
  permsOf(user: string): UserPerms {
    const cached = this.#perms.get(user);
    if (cached !== undefined) return cached;
    const u = this.#users.get(user);
    const all: Permission[] = [];
    for (const r of u?.roles ?? []) for (const p of this.#roles.get(r)?.perms ?? []) all.push(p);
    const built = buildUserPerms(all);
    this.#perms.set(user, built);
    return built;
  }

  /** Told after a committed change (token providers drop tokens of changed users). */
  onChange(fn: (event: AuthChange) => void): void {
    this.#listeners.push(fn);
  }

  #emit(e: AuthChange): void {
    for (const l of this.#listeners) l(e);
  }

  /** Wraps a change: bumps the revision, drops the permission cache, then runs `apply`. */
  #change<T>(value: T, ops: BatchOp[], apply: () => void, event?: AuthChange, bump = true): Change<T> {
    const next = bump ? this.#revision + 1n : this.#revision;
    if (bump) ops.push(put(REVISION_KEY, u64(next)));
    return {
      ok: true,
      value,
      ops,
      commit: () => {
        apply();
        this.#revision = next;
        this.#perms.clear();
        if (event !== undefined) this.#emit(event);
      },
    };
  }

  #noChange<T>(value: T): Change<T> {
    return { ok: true, value, ops: [], commit: () => {} };
  }

  enable(): Change<void> {
    if (this.#enabled) return this.#noChange(undefined);
    const root = this.#users.get(ROOT_USER);
    if (root === undefined) return fail('rootUserNotExist');
    if (!root.roles.includes(ROOT_ROLE)) return fail('rootRoleNotExist');
    // etcd: enabling does not move the auth revision (disabling does).
    return this.#change(undefined, [put(ENABLED_KEY, Uint8Array.of(1))], () => (this.#enabled = true), { kind: 'enabled' }, false);
  }

  disable(): Change<void> {
    if (!this.#enabled) return this.#noChange(undefined);
    return this.#change(undefined, [put(ENABLED_KEY, Uint8Array.of(0))], () => (this.#enabled = false), { kind: 'disabled' });
  }

  /** `passwordHash` is computed before proposing (never the plaintext); '' with noPassword. */
  addUser(name: string, passwordHash: string, noPassword: boolean): Change<void> {
    if (name === '') return fail('userEmpty');
    if (this.#users.has(name)) return fail('userAlreadyExists');
    const u: StoredUser = { name, passwordHash: noPassword ? '' : passwordHash, roles: [], noPassword };
    return this.#change(undefined, [put(nameKey(USER_PREFIX, name), userRecord(u))], () => this.#users.set(name, u));
  }

  deleteUser(name: string): Change<void> {
    if (this.#enabled && name === ROOT_USER) return fail('invalidAuthManagement');
    if (!this.#users.has(name)) return fail('userNotFound');
    return this.#change(undefined, [del(nameKey(USER_PREFIX, name))], () => this.#users.delete(name), { kind: 'user', name });
  }

  changePassword(name: string, passwordHash: string): Change<void> {
    const old = this.#users.get(name);
    if (old === undefined) return fail('userNotFound');
    const u: StoredUser = { ...old, passwordHash };
    return this.#change(undefined, [put(nameKey(USER_PREFIX, name), userRecord(u))], () => this.#users.set(name, u), { kind: 'user', name });
  }

  grantRole(user: string, role: string): Change<void> {
    const old = this.#users.get(user);
    if (old === undefined) return fail('userNotFound');
    // etcd: the root role may be granted before it was created.
    if (role !== ROOT_ROLE && !this.#roles.has(role)) return fail('roleNotFound');
    if (old.roles.includes(role)) return this.#noChange(undefined);
    const u: StoredUser = { ...old, roles: [...old.roles, role].sort() };
    return this.#change(undefined, [put(nameKey(USER_PREFIX, user), userRecord(u))], () => this.#users.set(user, u));
  }

  revokeRole(user: string, role: string): Change<void> {
    if (this.#enabled && user === ROOT_USER && role === ROOT_ROLE) return fail('invalidAuthManagement');
    const old = this.#users.get(user);
    if (old === undefined) return fail('userNotFound');
    if (!old.roles.includes(role)) return fail('roleNotGranted');
    const u: StoredUser = { ...old, roles: old.roles.filter((r) => r !== role) };
    return this.#change(undefined, [put(nameKey(USER_PREFIX, user), userRecord(u))], () => this.#users.set(user, u));
  }

  addRole(name: string): Change<void> {
    if (name === '') return fail('roleEmpty');
    if (this.#roles.has(name)) return fail('roleAlreadyExists');
    const r: StoredRole = { name, perms: [] };
    return this.#change(undefined, [put(nameKey(ROLE_PREFIX, name), roleRecord(r))], () => this.#roles.set(name, r));
  }

  /** Deleting a role also revokes it from every user holding it (etcd). */
  deleteRole(name: string): Change<void> {
    if (this.#enabled && name === ROOT_ROLE) return fail('invalidAuthManagement');
    if (!this.#roles.has(name)) return fail('roleNotFound');
    const ops: BatchOp[] = [del(nameKey(ROLE_PREFIX, name))];
    const updated: StoredUser[] = [];
    for (const u of this.#users.values()) {
      if (!u.roles.includes(name)) continue;
      const nu: StoredUser = { ...u, roles: u.roles.filter((r) => r !== name) };
      updated.push(nu);
      ops.push(put(nameKey(USER_PREFIX, nu.name), userRecord(nu)));
    }
    return this.#change(undefined, ops, () => {
      this.#roles.delete(name);
      for (const u of updated) this.#users.set(u.name, u);
    });
  }

  /** Same key and range_end as an existing permission: its type is replaced; otherwise inserted by key. */
  grantPermission(role: string, perm: Permission): Change<void> {
    const old = this.#roles.get(role);
    if (old === undefined) return fail('roleNotFound');
    if (perm.permType !== Permission_Type.READ && perm.permType !== Permission_Type.WRITE && perm.permType !== Permission_Type.READWRITE) {
      return fail('invalidAuthManagement');
    }
    const p: Permission = { permType: perm.permType, key: Uint8Array.from(perm.key), rangeEnd: Uint8Array.from(perm.rangeEnd) };
    const perms = [...old.perms];
    const at = perms.findIndex((q) => sameBytes(q.key, p.key) && sameBytes(q.rangeEnd, p.rangeEnd));
    if (at >= 0) perms[at] = p;
    else {
      let i = 0;
      while (i < perms.length && Buffer.compare((perms[i] as Permission).key, p.key) < 0) i++;
      perms.splice(i, 0, p);
    }
    const r: StoredRole = { name: role, perms };
    return this.#change(undefined, [put(nameKey(ROLE_PREFIX, role), roleRecord(r))], () => this.#roles.set(role, r));
  }

  revokePermission(role: string, key: Uint8Array, rangeEnd: Uint8Array): Change<void> {
    const old = this.#roles.get(role);
    if (old === undefined) return fail('roleNotFound');
    const perms = old.perms.filter((q) => !(sameBytes(q.key, key) && sameBytes(q.rangeEnd, rangeEnd)));
    if (perms.length === old.perms.length) return fail('permissionNotGranted');
    const r: StoredRole = { name: role, perms };
    return this.#change(undefined, [put(nameKey(ROLE_PREFIX, role), roleRecord(r))], () => this.#roles.set(role, r));
  }
}

/** What changed, for token providers: a user's credentials/roles, enable/disable, or a reload. */
export type AuthChange =
  | { readonly kind: 'user'; readonly name: string }
  | { readonly kind: 'enabled' }
  | { readonly kind: 'disabled' }
  | { readonly kind: 'reloaded' };
