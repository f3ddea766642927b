/**
 * An auth store on a fresh engine with root (root role) and alice holding role `app` with the given
 * permissions; auth itself is still disabled. For apply-time guard tests.
 */
import { Engine } from '../../../pkg/storage/engine/index.js';
import { MemberAuth } from '../../../pkg/server/auth/member-auth.js';
import type { Change } from '../../../pkg/auth/index.js';
import type { Permission } from '../../../pkg/proto/gen/authpb/auth.js';

export async function apply(e: Engine, c: Change<unknown>): Promise<void> {
  if (!c.ok) throw new Error(c.error);
  if (c.ops.length > 0) await e.write(c.ops);
  c.commit();
}

export async function authWithAlice(dir: string, appPermissions: readonly Permission[]): Promise<{ engine: Engine; auth: MemberAuth; close(): Promise<void> }> {
  const engine = await Engine.open(dir);
  const auth = await MemberAuth.open(engine, { authTokenType: 'simple', authTokenOptions: {}, authTokenTtlSeconds: 300, bcryptCost: 4 });
  const s = auth.store;
  await apply(engine, s.addUser('root', 'h', false));
  await apply(engine, s.grantRole('root', 'root'));
  await apply(engine, s.addUser('alice', 'h', false));
  await apply(engine, s.addRole('app'));
  for (const p of appPermissions) await apply(engine, s.grantPermission('app', p));
  await apply(engine, s.grantRole('alice', 'app'));
  return {
    engine,
    auth,
    close: async () => {
      auth.stop();
      await engine.close();
    },
  };
}
