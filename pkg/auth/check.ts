/**
 * Permission decisions against the auth store (etcd's isOpPermitted / IsAdminPermitted), as error
 * kinds: undefined = permitted. Used at the API layer for reads and at apply time for writes, where
 * the request carries the user and the auth revision its token was checked at.
 */
import type { ErrorKind } from '../errors/index.js';
import type { AuthStore } from './store.js';
import { covers } from './range-perms.js';

/** Who sent a request: username '' and revision 0n when no token came with it. */
export interface AuthInfo {
  readonly username: string;
  readonly revision: bigint;
}

export const NO_USER: AuthInfo = Object.freeze({ username: '', revision: 0n });

export type Access = 'read' | 'write';

export function checkOp(store: AuthStore, ai: AuthInfo | undefined, key: Uint8Array, rangeEnd: Uint8Array, access: Access): ErrorKind | undefined {
  if (!store.enabled) return undefined;
  // etcd: revision 0 means no token was given.
  if (ai === undefined || ai.revision === 0n) return 'userEmpty';
  if (ai.revision < store.revision) return 'authOldRevision';
  const u = store.user(ai.username);
  if (u === undefined) return 'permissionDenied';
  if (store.isRoot(ai.username)) return undefined;
  const perms = store.permsOf(ai.username);
  return covers(access === 'read' ? perms.read : perms.write, key, rangeEnd) ? undefined : 'permissionDenied';
}

export function checkAdmin(store: AuthStore, ai: AuthInfo | undefined): ErrorKind | undefined {
  if (!store.enabled) return undefined;
  if (ai === undefined || ai.username === '') return 'userEmpty';
  if (store.user(ai.username) === undefined) return 'userNotFound';
  return store.isRoot(ai.username) ? undefined : 'permissionDenied';
}
