import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthStore, checkAdmin, checkOp, type AuthChange, type Change } from '../../pkg/auth/index.js';
import { Engine } from '../../pkg/storage/engine/index.js';
import { Permission_Type } from '../../pkg/proto/gen/authpb/auth.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function openEngine(): Promise<Engine> {
  const dir = mkdtempSync(join(tmpdir(), 'auth-store-'));
  dirs.push(dir);
  return Engine.open(dir);
}

/** Applies a change the way the applier does: write its ops, then commit in memory. */
async function apply<T>(engine: Engine, c: Change<T>): Promise<T> {
  if (!c.ok) throw new Error(`unexpected ${c.error}`);
  if (c.ops.length > 0) await engine.write(c.ops);
  c.commit();
  return c.value;
}

const refused = <T>(c: Change<T>): string => (c.ok ? 'ok' : c.error);
const b = (s: string): Uint8Array => Buffer.from(s);

async function withRoot(engine: Engine, s: AuthStore): Promise<void> {
  await apply(engine, s.addUser('root', 'hash', false));
  await apply(engine, s.grantRole('root', 'root'));
}

test('auth enable needs a root user holding the root role; enabling twice is a no-op', async () => {
  const e = await openEngine();
  const s = await AuthStore.load(e);
  assert.equal(s.revision, 1n);
  assert.equal(refused(s.enable()), 'rootUserNotExist');
  await apply(e, s.addUser('root', 'h', false));
  assert.equal(refused(s.enable()), 'rootRoleNotExist');
  await apply(e, s.grantRole('root', 'root')); // the root role need not exist as a role record
  const rev = s.revision;
  await apply(e, s.enable());
  assert.equal(s.enabled, true);
  assert.equal(s.revision, rev, 'enabling does not move the revision (etcd)');
  const again = s.enable();
  assert.ok(again.ok && again.ops.length === 0);
  again.commit();
  assert.equal(s.revision, rev);
  await apply(e, s.disable());
  assert.equal(s.revision, rev + 1n, 'disabling does');
  await e.close();
});

test('root cannot lose the root role, be deleted, nor the root role be deleted while auth is enabled', async () => {
  const e = await openEngine();
  const s = await AuthStore.load(e);
  await withRoot(e, s);
  await apply(e, s.addRole('root'));
  await apply(e, s.enable());
  assert.equal(refused(s.revokeRole('root', 'root')), 'invalidAuthManagement');
  assert.equal(refused(s.deleteUser('root')), 'invalidAuthManagement');
  assert.equal(refused(s.deleteRole('root')), 'invalidAuthManagement');
  await apply(e, s.disable());
  assert.equal(refused(s.revokeRole('root', 'root')), 'ok');
  assert.equal(refused(s.deleteRole('root')), 'ok');
  assert.equal(refused(s.deleteUser('root')), 'ok');
  await e.close();
});

test('user and role errors follow etcd', async () => {
  const e = await openEngine();
  const s = await AuthStore.load(e);
  assert.equal(refused(s.addUser('', 'h', false)), 'userEmpty');
  assert.equal(refused(s.addRole('')), 'roleEmpty');
  await apply(e, s.addUser('u', 'h', false));
  await apply(e, s.addRole('r'));
  assert.equal(refused(s.addUser('u', 'h', false)), 'userAlreadyExists');
  assert.equal(refused(s.addRole('r')), 'roleAlreadyExists');
  assert.equal(refused(s.grantRole('nobody', 'r')), 'userNotFound');
  assert.equal(refused(s.grantRole('u', 'nope')), 'roleNotFound');
  assert.equal(refused(s.revokeRole('u', 'r')), 'roleNotGranted');
  assert.equal(refused(s.revokeRole('nobody', 'r')), 'userNotFound');
  assert.equal(refused(s.deleteUser('nobody')), 'userNotFound');
  assert.equal(refused(s.deleteRole('nope')), 'roleNotFound');
  assert.equal(refused(s.changePassword('nobody', 'h')), 'userNotFound');
  assert.equal(refused(s.grantPermission('nope', { permType: Permission_Type.READ, key: b('k'), rangeEnd: new Uint8Array() })), 'roleNotFound');
  assert.equal(refused(s.grantPermission('r', { permType: Permission_Type.UNRECOGNIZED, key: b('k'), rangeEnd: new Uint8Array() })), 'invalidAuthManagement');
  assert.equal(refused(s.revokePermission('r', b('k'), new Uint8Array())), 'permissionNotGranted');
  assert.equal(refused(s.revokePermission('nope', b('k'), new Uint8Array())), 'roleNotFound');
  await e.close();
});

test('every change bumps the revision once, a duplicate grant does not, nothing shows before commit', async () => {
  const e = await openEngine();
  const s = await AuthStore.load(e);
  const r0 = s.revision;
  const pending = s.addUser('u', 'h', false);
  assert.equal(s.user('u'), undefined, 'not visible before commit');
  assert.equal(s.revision, r0);
  await apply(e, pending);
  assert.equal(s.revision, r0 + 1n);
  await apply(e, s.addRole('r'));
  await apply(e, s.grantRole('u', 'r'));
  const r1 = s.revision;
  const dup = s.grantRole('u', 'r');
  assert.ok(dup.ok && dup.ops.length === 0);
  dup.commit();
  assert.equal(s.revision, r1);
  await e.close();
});

test('permission grants replace the type of the same range, are sorted by key, and deleting a role revokes it', async () => {
  const e = await openEngine();
  const s = await AuthStore.load(e);
  await apply(e, s.addUser('u', 'h', false));
  await apply(e, s.addRole('r'));
  await apply(e, s.grantRole('u', 'r'));
  await apply(e, s.grantPermission('r', { permType: Permission_Type.READ, key: b('m'), rangeEnd: b('n') }));
  await apply(e, s.grantPermission('r', { permType: Permission_Type.READ, key: b('a'), rangeEnd: new Uint8Array() }));
  await apply(e, s.grantPermission('r', { permType: Permission_Type.WRITE, key: b('m'), rangeEnd: b('n') }));
  assert.deepEqual(
    s.role('r')?.perms.map((p) => [Buffer.from(p.key).toString(), Buffer.from(p.rangeEnd).toString(), p.permType]),
    [['a', '', Permission_Type.READ], ['m', 'n', Permission_Type.WRITE]],
  );
  // the permission cache follows changes
  assert.equal(s.permsOf('u').write.length, 1);
  await apply(e, s.deleteRole('r'));
  assert.deepEqual(s.user('u')?.roles, []);
  assert.equal(s.permsOf('u').write.length, 0);
  await e.close();
});

test('everything survives a reload from the engine (restart or snapshot install)', async () => {
  const e = await openEngine();
  const s = await AuthStore.load(e);
  await withRoot(e, s);
  await apply(e, s.addUser('alice', 'hash-a', false));
  await apply(e, s.addUser('cn-only', '', true));
  await apply(e, s.addRole('reader'));
  await apply(e, s.grantPermission('reader', { permType: Permission_Type.READ, key: b('/app/'), rangeEnd: b('/app0') }));
  await apply(e, s.grantRole('alice', 'reader'));
  await apply(e, s.enable());
  const t = await AuthStore.load(e);
  assert.equal(t.enabled, true);
  assert.equal(t.revision, s.revision);
  assert.deepEqual(t.userNames(), ['alice', 'cn-only', 'root']);
  assert.deepEqual(t.roleNames(), ['reader']);
  assert.deepEqual(t.user('alice'), s.user('alice'));
  assert.equal(t.user('cn-only')?.noPassword, true);
  const perms = (x: AuthStore): string[] | undefined => x.role('reader')?.perms.map((p) => `${p.permType} ${Buffer.from(p.key).toString()} ${Buffer.from(p.rangeEnd).toString()}`);
  assert.deepEqual(perms(t), ['0 /app/ /app0']);
  assert.deepEqual(perms(t), perms(s));
  const alice = { username: 'alice', revision: t.revision };
  assert.equal(checkOp(t, alice, b('/app/x'), new Uint8Array(), 'read'), undefined);
  assert.equal(checkOp(t, alice, b('/app/x'), new Uint8Array(), 'write'), 'permissionDenied');
  await e.close();
});

test('permission decisions: disabled, no user, old revision, unknown user, root, admin', async () => {
  const e = await openEngine();
  const s = await AuthStore.load(e);
  const k = b('k');
  const none = new Uint8Array();
  assert.equal(checkOp(s, undefined, k, none, 'write'), undefined, 'auth disabled: everything goes');
  assert.equal(checkAdmin(s, undefined), undefined);
  await withRoot(e, s);
  await apply(e, s.addUser('u', 'h', false));
  await apply(e, s.enable());
  const rev = s.revision;
  assert.equal(checkOp(s, undefined, k, none, 'read'), 'userEmpty');
  assert.equal(checkOp(s, { username: '', revision: 0n }, k, none, 'read'), 'userEmpty');
  assert.equal(checkOp(s, { username: 'root', revision: rev - 1n }, k, none, 'read'), 'authOldRevision');
  assert.equal(checkOp(s, { username: 'ghost', revision: rev }, k, none, 'read'), 'permissionDenied');
  assert.equal(checkOp(s, { username: 'u', revision: rev }, k, none, 'read'), 'permissionDenied');
  assert.equal(checkOp(s, { username: 'root', revision: rev }, k, Uint8Array.of(0), 'write'), undefined);
  assert.equal(checkAdmin(s, { username: '', revision: 0n }), 'userEmpty');
  assert.equal(checkAdmin(s, { username: 'ghost', revision: rev }), 'userNotFound');
  assert.equal(checkAdmin(s, { username: 'u', revision: rev }), 'permissionDenied');
  assert.equal(checkAdmin(s, { username: 'root', revision: 0n }), undefined);
  await e.close();
});

test('token providers are told about deleted users, password changes and disable', async () => {
  const e = await openEngine();
  const s = await AuthStore.load(e);
  const seen: AuthChange[] = [];
  s.onChange((c) => seen.push(c));
  await withRoot(e, s);
  await apply(e, s.addUser('u', 'h', false));
  await apply(e, s.changePassword('u', 'h2'));
  await apply(e, s.enable());
  await apply(e, s.disable());
  await apply(e, s.deleteUser('u'));
  assert.deepEqual(seen, [{ kind: 'user', name: 'u' }, { kind: 'enabled' }, { kind: 'disabled' }, { kind: 'user', name: 'u' }]);
  await e.close();
});
