/**
 * JWT tokens (`--auth-token jwt,pub-key=...,priv-key=...,sign-method=RS256,ttl=10m`), with node:crypto.
 * Claims as etcd writes them: {"exp": unix seconds, "revision": auth revision, "username": name}.
 * Verification accepts only the configured algorithm (never "none" or an algorithm switch), checks
 * the signature, then `exp`. A verify-only member (pub-key without priv-key) refuses to sign.
 */
import { constants, createHmac, createPrivateKey, createPublicKey, sign, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseGoDuration } from '../config/go-values.js';
import type { AuthInfo } from './check.js';

export const JWT_METHODS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'HS256', 'HS384', 'HS512'] as const;
export type JwtMethod = (typeof JWT_METHODS)[number];

const DEFAULT_TTL_MS = 5 * 60_000;

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

function digestOf(m: JwtMethod): string {
  return `sha${m.slice(2)}`;
}

export interface JwtKeys {
  readonly method: JwtMethod;
  readonly ttlMs: number;
  /** Private key (asymmetric) or the shared secret (HS*); undefined = verify only. */
  readonly signKey: KeyObject | Buffer | undefined;
  readonly verifyKey: KeyObject | Buffer;
}

/** Reads `--auth-token` jwt options; a string is the reason they are unusable. */
export function jwtKeysFromOptions(options: Readonly<Record<string, string>>): JwtKeys | string {
  const method = options['sign-method'];
  if (method === undefined || !(JWT_METHODS as readonly string[]).includes(method)) {
    return `jwt: sign-method must be one of ${JWT_METHODS.join(', ')}`;
  }
  const m = method as JwtMethod;
  let ttlMs = DEFAULT_TTL_MS;
  if (options['ttl'] !== undefined) {
    const d = parseGoDuration(options['ttl']);
    if (!d.ok || d.value <= 0) return `jwt: invalid ttl ${JSON.stringify(options['ttl'])}`;
    ttlMs = d.value;
  }
  const read = (opt: string): Buffer | string | undefined => {
    const path = options[opt];
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      return `jwt: cannot read ${opt} ${path}: ${err instanceof Error ? err.message : String(err)}`;
    }
  };
  const priv = read('priv-key');
  const pub = read('pub-key');
  if (typeof priv === 'string') return priv;
  if (typeof pub === 'string') return pub;
  try {
    if (m.startsWith('HS')) {
      const secret = priv ?? pub;
      if (secret === undefined) return 'jwt: HS* needs a key file (priv-key)';
      return { method: m, ttlMs, signKey: secret, verifyKey: secret };
    }
    const signKey = priv === undefined ? undefined : createPrivateKey(priv);
    const verifyKey = pub !== undefined ? createPublicKey(pub) : signKey !== undefined ? createPublicKey(signKey) : undefined;
    if (verifyKey === undefined) return 'jwt: pub-key or priv-key is required';
    return { method: m, ttlMs, signKey, verifyKey };
  } catch (err) {
    return `jwt: unusable key: ${err instanceof Error ? err.message : String(err)}`;
  }
}

export class JwtSigner {
  readonly #k: JwtKeys;
  readonly #now: () => number;

  constructor(keys: JwtKeys, now: () => number = Date.now) {
    this.#k = keys;
    this.#now = now;
  }

  get canSign(): boolean {
    return this.#k.signKey !== undefined;
  }

  #signature(input: string, key: KeyObject | Buffer): Buffer {
    const m = this.#k.method;
    if (m.startsWith('HS')) return createHmac(digestOf(m), key as Buffer).update(input).digest();
    const k = key as KeyObject;
    if (m.startsWith('PS')) return sign(digestOf(m), Buffer.from(input), { key: k, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST });
    if (m.startsWith('ES')) return sign(digestOf(m), Buffer.from(input), { key: k, dsaEncoding: 'ieee-p1363' });
    return sign(digestOf(m), Buffer.from(input), k);
  }

  #valid(input: string, sig: Buffer): boolean {
    const m = this.#k.method;
    const key = this.#k.verifyKey;
    try {
      if (m.startsWith('HS')) {
        const want = createHmac(digestOf(m), key as Buffer).update(input).digest();
        return want.length === sig.length && timingSafeEqual(want, sig);
      }
      const k = key as KeyObject;
      if (m.startsWith('PS')) return verify(digestOf(m), Buffer.from(input), { key: k, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, sig);
      if (m.startsWith('ES')) return verify(digestOf(m), Buffer.from(input), { key: k, dsaEncoding: 'ieee-p1363' }, sig);
      return verify(digestOf(m), Buffer.from(input), k, sig);
    } catch {
      return false;
    }
  }

  /** Throws when this member only verifies (no private key). */
  sign(username: string, revision: bigint): string {
    if (this.#k.signKey === undefined) throw new Error('jwt: no private key to sign with');
    const header = b64url(JSON.stringify({ alg: this.#k.method, typ: 'JWT' }));
    const exp = Math.floor((this.#now() + this.#k.ttlMs) / 1000);
    const claims = b64url(`{"exp":${exp},"revision":${revision.toString()},"username":${JSON.stringify(username)}}`);
    const input = `${header}.${claims}`;
    return `${input}.${b64url(this.#signature(input, this.#k.signKey))}`;
  }

  verify(token: string): AuthInfo | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const [h = '', c = '', s = ''] = parts;
    let header: unknown;
    let claims: unknown;
    try {
      header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
      claims = JSON.parse(Buffer.from(c, 'base64url').toString('utf8'));
    } catch {
      return undefined;
    }
    if (typeof header !== 'object' || header === null || (header as { alg?: unknown }).alg !== this.#k.method) return undefined;
    if (!this.#valid(`${h}.${c}`, Buffer.from(s, 'base64url'))) return undefined;
    if (typeof claims !== 'object' || claims === null) return undefined;
    const { exp, revision, username } = claims as { exp?: unknown; revision?: unknown; username?: unknown };
    if (typeof exp !== 'number' || exp * 1000 <= this.#now()) return undefined;
    if (typeof username !== 'string' || typeof revision !== 'number' || !Number.isSafeInteger(revision) || revision < 0) return undefined;
    return { username, revision: BigInt(revision) };
  }
}
