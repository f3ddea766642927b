import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JwtSigner, SimpleTokens, jwtKeysFromOptions, type JwtKeys } from '../../pkg/auth/index.js';

const dir = mkdtempSync(join(tmpdir(), 'auth-tokens-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('simple tokens: prefix.index, sliding TTL refreshed on use, dropped on user change and disable', () => {
  let now = 1_000_000;
  const t = new SimpleTokens(300_000, () => now);
  try {
    const prefix = t.newPrefix();
    assert.match(prefix, /^[a-zA-Z]{16}$/);
    assert.notEqual(t.newPrefix(), prefix);
    const tok = t.assign('alice', 7n, prefix, 42);
    assert.equal(tok, `${prefix}.42`);
    assert.deepEqual(t.info(tok, 9n), { username: 'alice', revision: 9n }, 'checked at the current revision');
    assert.equal(t.info('nope.1', 9n), undefined);
    now += 299_000;
    assert.ok(t.info(tok, 9n), 'still valid just before the TTL; this use refreshes it');
    now += 299_000;
    assert.ok(t.info(tok, 9n), 'refreshed by the previous use');
    now += 300_001;
    assert.equal(t.info(tok, 9n), undefined, 'expired after a TTL without use');

    const a = t.assign('alice', 1n, t.newPrefix(), 50);
    const b = t.assign('bob', 1n, t.newPrefix(), 51);
    t.onChange({ kind: 'user', name: 'alice' });
    assert.equal(t.info(a, 1n), undefined);
    assert.ok(t.info(b, 1n));
    t.onChange({ kind: 'disabled' });
    assert.equal(t.info(b, 1n), undefined);
    const c = t.assign('bob', 1n, t.newPrefix(), 52);
    now += 300_001;
    t.sweep();
    assert.equal(t.size, 0, `expired token ${c} swept`);
  } finally {
    t.stop();
  }
});

function keysFor(method: string): { sign: JwtKeys; verifyOnly: JwtKeys } {
  const m = method.slice(0, 2);
  if (m === 'HS') {
    const secret = join(dir, `${method}.secret`);
    writeFileSync(secret, 'a shared secret of some length');
    const k = jwtKeysFromOptions({ 'sign-method': method, 'priv-key': secret, ttl: '10m' });
    if (typeof k === 'string') throw new Error(k);
    return { sign: k, verifyOnly: k };
  }
  const pair =
    m === 'ES'
      ? generateKeyPairSync('ec', { namedCurve: method === 'ES256' ? 'P-256' : method === 'ES384' ? 'P-384' : 'P-521' })
      : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const priv = join(dir, `${method}.key`);
  const pub = join(dir, `${method}.pub`);
  writeFileSync(priv, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(pub, pair.publicKey.export({ type: 'spki', format: 'pem' }));
  const sign = jwtKeysFromOptions({ 'sign-method': method, 'priv-key': priv, 'pub-key': pub, ttl: '10m' });
  const verifyOnly = jwtKeysFromOptions({ 'sign-method': method, 'pub-key': pub });
  if (typeof sign === 'string') throw new Error(sign);
  if (typeof verifyOnly === 'string') throw new Error(verifyOnly);
  return { sign, verifyOnly };
}

for (const method of ['RS256', 'PS384', 'ES256', 'ES512', 'HS256']) {
  test(`jwt ${method}: signed on one member, verified on another; tampering, expiry and algorithm switches rejected`, () => {
    let now = 1_700_000_000_000;
    const { sign, verifyOnly } = keysFor(method);
    const signer = new JwtSigner(sign, () => now);
    const other = new JwtSigner(verifyOnly, () => now);
    const tok = signer.sign('alice', 12n);
    const [h = '', c = '', s = ''] = tok.split('.');
    assert.deepEqual(JSON.parse(Buffer.from(h, 'base64url').toString()), { alg: method, typ: 'JWT' });
    assert.deepEqual(JSON.parse(Buffer.from(c, 'base64url').toString()), { exp: Math.floor((now + 600_000) / 1000), revision: 12, username: 'alice' });
    assert.deepEqual(other.verify(tok), { username: 'alice', revision: 12n });

    const forged = Buffer.from(JSON.stringify({ exp: Math.floor(now / 1000) + 600, revision: 12, username: 'root' })).toString('base64url');
    assert.equal(other.verify(`${h}.${forged}.${s}`), undefined, 'claims changed under the signature');
    const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    assert.equal(other.verify(`${none}.${c}.`), undefined, 'alg none');
    assert.equal(other.verify(`${h}.${c}.${s.slice(0, -4)}AAAA`), undefined, 'bad signature');
    assert.equal(other.verify('garbage'), undefined);
    assert.equal(other.verify('a.b.c'), undefined);
    assert.equal(other.verify(''), undefined);
    if (!method.startsWith('HS')) {
      assert.equal(other.canSign, false);
      assert.throws(() => other.sign('alice', 1n), /no private key/);
      // HS256 keyed with the public key (the classic algorithm confusion) is refused.
      const hs = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
      const pem = verifyOnly.verifyKey as KeyObject;
      const mac = createHmac('sha256', pem.export({ type: 'spki', format: 'pem' })).update(`${hs}.${c}`).digest('base64url');
      assert.equal(other.verify(`${hs}.${c}.${mac}`), undefined, 'algorithm switch');
    }
    now += 600_001;
    assert.equal(other.verify(tok), undefined, 'expired');
  });
}

test('jwt options are validated', () => {
  assert.match(String(jwtKeysFromOptions({})), /sign-method/);
  assert.match(String(jwtKeysFromOptions({ 'sign-method': 'none' })), /sign-method/);
  assert.match(String(jwtKeysFromOptions({ 'sign-method': 'RS256' })), /pub-key or priv-key/);
  assert.match(String(jwtKeysFromOptions({ 'sign-method': 'RS256', 'pub-key': join(dir, 'missing.pem') })), /cannot read pub-key/);
  const { sign } = keysFor('RS256');
  assert.equal(sign.ttlMs, 600_000);
  const junk = join(dir, 'junk.pem');
  writeFileSync(junk, 'not a key');
  assert.match(String(jwtKeysFromOptions({ 'sign-method': 'RS256', 'priv-key': junk })), /unusable key/);
  assert.match(String(jwtKeysFromOptions({ 'sign-method': 'HS256', 'priv-key': junk, ttl: 'soon' })), /invalid ttl/);
});
