/**
 * A member's auth runtime: the replicated auth store, its token provider (per member), and who a
 * call is. Opened by the composition root before raft applies anything.
 *
 * Identity of a call (etcd's AuthInfoFromCtx): with auth disabled nobody is identified and tokens
 * are ignored; with auth enabled the `token` metadata (the JSON gateway sends `authorization`) names
 * the user, an unknown/expired/forged token is `invalidAuthToken`, and a call without a token is
 * anonymous (username '', revision 0), which every permission check refuses with `userEmpty`.
 * Seam for TLS: `setCertUser` installs a resolver of the verified client certificate's CN, used (as
 * etcd does) only when the call has no token.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Metadata } from '@grpc/grpc-js';
import { AuthStore, JwtSigner, JwtTokens, NO_USER, SimpleTokens, jwtKeysFromOptions, type AuthInfo, type TokenProvider } from '../../auth/index.js';
import type { Config } from '../../config/index.js';
import type { Engine } from '../../storage/engine/index.js';
import type { RequestHeader } from '../../proto/gen/berthpb/command.js';
import { berthError, type BerthError } from '../../errors/index.js';

/** Resolves the CN of a call's verified client certificate (undefined: none). */
export type CertUserResolver = (call: unknown) => string | undefined;

export type Identity = { readonly ok: true; readonly info: AuthInfo | undefined } | { readonly ok: false; readonly error: BerthError };

/** The client call being served: its auth header (stamped on proposals) and how to identify it again. */
interface CallScope {
  readonly header: RequestHeader;
  readonly identify: (() => Identity) | undefined;
}

/** Set by the service gate, read by propose and by reads done on the caller's behalf. */
const current = new AsyncLocalStorage<CallScope>();

export function currentAuthHeader(): RequestHeader | undefined {
  return current.getStore()?.header;
}

/**
 * The header to stamp on a client command whose apply-time check must tell it from the server's own
 * commands of the same kind (LeaseRevoke): the caller's, or an anonymous one for a call made while
 * auth was off.
 */
export function clientAuthHeader(): RequestHeader {
  return currentAuthHeader() ?? { username: '', authRevision: 0n };
}

/**
 * Who the client call being served is now: its credentials identified again against the current
 * auth store, as etcd's in-process client (Lock, Election) re-reads the caller's token on every KV
 * call it makes. undefined outside a client call, or for one that started while auth was off.
 */
export function currentCaller(): Identity | undefined {
  return current.getStore()?.identify?.();
}

export function runAs<T>(info: AuthInfo | undefined, fn: () => T, identify?: () => Identity): T {
  return current.run({ header: { username: info?.username ?? '', authRevision: info?.revision ?? 0n }, identify }, fn);
}

export class MemberAuth {
  readonly store: AuthStore;
  readonly tokens: TokenProvider;
  readonly bcryptCost: number;
  #certUser: CertUserResolver | undefined;

  private constructor(store: AuthStore, tokens: TokenProvider, bcryptCost: number) {
    this.store = store;
    this.tokens = tokens;
    this.bcryptCost = bcryptCost;
    store.onChange((c) => tokens.onChange(c));
  }

  static async open(engine: Pick<Engine, 'iterate'>, cfg: Pick<Config, 'authTokenType' | 'authTokenOptions' | 'authTokenTtlSeconds' | 'bcryptCost'>): Promise<MemberAuth> {
    let tokens: TokenProvider;
    if (cfg.authTokenType === 'jwt') {
      const keys = jwtKeysFromOptions(cfg.authTokenOptions);
      if (typeof keys === 'string') throw new Error(`--auth-token: ${keys}`);
      tokens = new JwtTokens(new JwtSigner(keys));
    } else {
      tokens = new SimpleTokens(cfg.authTokenTtlSeconds * 1000);
    }
    return new MemberAuth(await AuthStore.load(engine), tokens, cfg.bcryptCost);
  }

  /** TLS seam: the client certificate CN becomes the user of calls that carry no token. */
  setCertUser(resolver: CertUserResolver | undefined): void {
    this.#certUser = resolver;
  }

  /** Who sends `call` (its gRPC metadata); undefined info when auth is disabled. */
  identify(metadata: Metadata, call?: unknown): Identity {
    if (!this.store.enabled) return { ok: true, info: undefined };
    const raw = metadata.get('token')[0] ?? metadata.get('authorization')[0];
    if (raw === undefined || raw === '') {
      const cn = call === undefined ? undefined : this.#certUser?.(call);
      if (cn !== undefined && cn !== '') return { ok: true, info: { username: cn, revision: this.store.revision } };
      return { ok: true, info: NO_USER };
    }
    const info = this.tokens.info(String(raw), this.store.revision);
    return info === undefined ? { ok: false, error: berthError('invalidAuthToken') } : { ok: true, info };
  }

  stop(): void {
    this.tokens.stop();
  }
}
