/**
 * Token providers (etcd's `--auth-token`): `simple` (random prefix + "." + raft index, kept in memory
 * with a sliding TTL) and `jwt` (signed claims, verified statelessly on every member).
 *
 * Simple tokens: the proposing member picks the random prefix and replicates it in the Authenticate
 * command; every member that applies it registers `prefix.index` for the user (as etcd does). Tokens
 * live only in memory: a restart, a snapshot install, auth disable, deleting the user or changing
 * its password drops them, and each member expires unused ones on its own clock, refreshing the TTL
 * on every use.
 */
import { randomInt } from 'node:crypto';
import type { AuthInfo } from './check.js';
import type { AuthChange } from './store.js';
import type { JwtSigner } from './jwt.js';

export interface TokenProvider {
  readonly type: 'simple' | 'jwt';
  /** The random part the proposing member puts into the Authenticate command ('' for jwt). */
  newPrefix(): string;
  /** Called at apply of Authenticate on every member: the token for `username`. */
  assign(username: string, revision: bigint, prefix: string, index: number): string;
  /** The user behind a token; undefined when unknown, expired or forged. */
  info(token: string, currentRevision: bigint): AuthInfo | undefined;
  /** Auth store changes (drops tokens of changed users, or all of them). */
  onChange(change: AuthChange): void;
  stop(): void;
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

export class SimpleTokens implements TokenProvider {
  readonly type = 'simple';
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #tokens = new Map<string, { readonly username: string; expires: number }>();
  readonly #timer: NodeJS.Timeout;

  constructor(ttlMs: number, now: () => number = Date.now) {
    this.#ttlMs = ttlMs;
    this.#now = now;
    this.#timer = setInterval(() => this.sweep(), Math.min(1000, Math.max(10, ttlMs))).unref();
  }

  newPrefix(): string {
    let s = '';
    for (let i = 0; i < 16; i++) s += LETTERS[randomInt(LETTERS.length)];
    return s;
  }

  assign(username: string, _revision: bigint, prefix: string, index: number): string {
    const token = `${prefix}.${index}`;
    this.#tokens.set(token, { username, expires: this.#now() + this.#ttlMs });
    return token;
  }

  info(token: string, currentRevision: bigint): AuthInfo | undefined {
    const t = this.#tokens.get(token);
    if (t === undefined) return undefined;
    const now = this.#now();
    if (t.expires <= now) {
      this.#tokens.delete(token);
      return undefined;
    }
    t.expires = now + this.#ttlMs;
    // A simple token is checked against the current revision (etcd): it never goes "old" by itself.
    return { username: t.username, revision: currentRevision };
  }

  /** Drops expired tokens. */
  sweep(): void {
    const now = this.#now();
    for (const [k, t] of this.#tokens) if (t.expires <= now) this.#tokens.delete(k);
  }

  onChange(change: AuthChange): void {
    if (change.kind === 'user') {
      for (const [k, t] of this.#tokens) if (t.username === change.name) this.#tokens.delete(k);
    } else if (change.kind !== 'enabled') {
      this.#tokens.clear();
    }
  }

  get size(): number {
    return this.#tokens.size;
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#tokens.clear();
  }
}

export class JwtTokens implements TokenProvider {
  readonly type = 'jwt';
  readonly #signer: JwtSigner;

  constructor(signer: JwtSigner) {
    this.#signer = signer;
  }

  newPrefix(): string {
    return '';
  }

  assign(username: string, revision: bigint): string {
    return this.#signer.sign(username, revision);
  }

  info(token: string): AuthInfo | undefined {
    return this.#signer.verify(token);
  }

  onChange(): void {}

  stop(): void {}
}
