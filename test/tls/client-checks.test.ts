import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { checkAllowedCn, checkAllowedHostname, checkClientSan, generateSelfSigned, subjectAltNames } from '../../pkg/tls/index.js';

function cert(hosts: string[]): X509Certificate {
  return new X509Certificate(generateSelfSigned({ hosts, notBefore: new Date(), notAfter: new Date(Date.now() + 3600_000) }).certPem);
}

const resolver = (table: Record<string, string[]>) => async (h: string): Promise<readonly string[]> => {
  const r = table[h];
  if (r === undefined) throw new Error(`ENOTFOUND ${h}`);
  return r;
};

test('allowed CNs', () => {
  assert.equal(checkAllowedCn('a', []), undefined);
  assert.equal(checkAllowedCn(undefined, []), undefined);
  assert.equal(checkAllowedCn('a', ['a', 'b']), undefined);
  assert.match(checkAllowedCn('c', ['a']) ?? '', /"c" is not allowed/);
  assert.match(checkAllowedCn(undefined, ['a']) ?? '', /"" is not allowed/);
});

test('allowed hostnames match DNS or IP SANs', () => {
  const c = cert(['node1.example', '10.0.0.1']);
  assert.deepEqual(subjectAltNames(c), { dns: ['node1.example'], ip: ['10.0.0.1'] });
  assert.equal(checkAllowedHostname(c, []), undefined);
  assert.equal(checkAllowedHostname(c, ['node1.example']), undefined);
  assert.equal(checkAllowedHostname(c, ['other', '10.0.0.1']), undefined);
  assert.match(checkAllowedHostname(c, ['node2.example']) ?? '', /not valid for any allowed hostname/);
});

test('client SAN check: IP SANs, DNS SANs resolving to the remote, mapped IPv4, no SANs', async () => {
  const c = cert(['10.0.0.1', 'peer.example']);
  const r = resolver({ 'peer.example': ['10.0.0.2'] });
  assert.equal(await checkClientSan(c, '10.0.0.1', r), undefined);
  assert.equal(await checkClientSan(c, '::ffff:10.0.0.1', r), undefined);
  assert.equal(await checkClientSan(c, '10.0.0.2', r), undefined, 'via DNS');
  assert.match((await checkClientSan(c, '10.0.0.3', r)) ?? '', /do not cover the remote address 10\.0\.0\.3/);
  assert.match((await checkClientSan(c, '10.0.0.2', resolver({}))) ?? '', /do not cover/, 'unresolvable name');
  const none = new X509Certificate(generateSelfSigned({ hosts: [], notBefore: new Date(), notAfter: new Date(Date.now() + 3600_000) }).certPem);
  assert.equal(await checkClientSan(none, '10.9.9.9', r), undefined);
});
