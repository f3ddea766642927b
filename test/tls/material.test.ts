import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TlsMaterial, cipherString, type TlsSettings } from '../../pkg/tls/index.js';
import { makeLeaf, makeTestPki, type TestPki } from '../../e2e/compat/support/certs.js';

let dir = '';
let pki: TestPki;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tls-material-'));
  pki = makeTestPki(dir);
});
after(() => rmSync(dir, { recursive: true, force: true }));

function settings(o: Partial<TlsSettings> = {}): TlsSettings {
  return {
    certFile: pki.server.cert,
    keyFile: pki.server.key,
    clientCertFile: '',
    clientKeyFile: '',
    trustedCaFile: '',
    crlFile: '',
    clientCertAuth: false,
    selfSigned: false,
    allowedCns: [],
    allowedHostnames: [],
    minVersion: 'TLS1.2',
    maxVersion: '',
    cipherSuites: [],
    ...o,
  };
}

const logs: { level: string; msg: string }[] = [];
const log = {
  info: (_o: object, msg: string): void => void logs.push({ level: 'info', msg }),
  warn: (_o: object, msg: string): void => void logs.push({ level: 'warn', msg }),
};

test('client certificates are required with --client-cert-auth or a trusted CA file (etcd rule)', () => {
  assert.equal(new TlsMaterial(settings()).requireClientCert, false);
  assert.equal(new TlsMaterial(settings({ clientCertAuth: true })).requireClientCert, true);
  assert.equal(new TlsMaterial(settings({ trustedCaFile: pki.ca.cert })).requireClientCert, true);
  const o = new TlsMaterial(settings({ trustedCaFile: pki.ca.cert })).serverOptions();
  assert.equal(o.requestCert, true);
  assert.equal(o.rejectUnauthorized, true);
  assert.ok(Buffer.isBuffer(o.ca));
  assert.equal(new TlsMaterial(settings()).serverOptions().requestCert, false);
});

test('self-signed material is not verified by dialers', () => {
  assert.equal(new TlsMaterial(settings({ selfSigned: true })).verifyRemote, false);
  assert.equal(new TlsMaterial(settings()).verifyRemote, true);
});

test('versions and cipher suites map to Node names; TLS 1.3 suites stay enabled', () => {
  const o = new TlsMaterial(settings({ maxVersion: 'TLS1.2', cipherSuites: ['TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256'] })).serverOptions();
  assert.equal(o.minVersion, 'TLSv1.2');
  assert.equal(o.maxVersion, 'TLSv1.2');
  const c = cipherString(['TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384']) ?? '';
  assert.ok(c.startsWith('ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:'), c);
  assert.match(c, /TLS_AES_128_GCM_SHA256/);
  assert.equal(cipherString([]), undefined);
  assert.throws(() => cipherString(['TLS_NOT_A_SUITE']), /unknown TLS cipher suite/);
});

test('missing or unusable files fail at load, naming the file', () => {
  assert.throws(() => new TlsMaterial(settings({ certFile: join(dir, 'nope.crt') })), /certificate file .*nope\.crt/);
  assert.throws(() => new TlsMaterial(settings({ trustedCaFile: join(dir, 'nope-ca.crt') })), /trusted CA file .*nope-ca\.crt/);
  // A key that does not belong to the certificate.
  assert.throws(() => new TlsMaterial(settings({ keyFile: pki.client.key })), /invalid TLS material/);
  assert.throws(() => new TlsMaterial(settings({ certFile: '' })), /certificate file and a key file/);
});

test('reloadIfChanged picks up new files, and keeps the old material when the new files are broken', () => {
  const cert = join(dir, 'reload.crt');
  const key = join(dir, 'reload.key');
  copyFileSync(pki.server.cert, cert);
  copyFileSync(pki.server.key, key);
  const m = new TlsMaterial(settings({ certFile: cert, keyFile: key }));
  const first = m.serverOptions().cert;
  assert.equal(m.reloadIfChanged(log, 0), false, 'nothing changed');
  const next = makeLeaf(dir, 'server2', pki.ca, { cn: 'berth-server-2' });
  copyFileSync(next.cert, cert);
  copyFileSync(next.key, key);
  const later = new Date(Date.now() + 5000);
  utimesSync(cert, later, later);
  assert.equal(m.reloadIfChanged(log, 0), true);
  assert.notDeepEqual(m.serverOptions().cert, first);
  assert.equal(logs.at(-1)?.msg, 'reloaded TLS certificates');
  // Broken: the key no longer matches.
  writeFileSync(key, 'garbage');
  assert.equal(m.reloadIfChanged(log, 0), false);
  assert.equal(logs.at(-1)?.level, 'warn');
  assert.deepEqual(m.serverOptions().cert, readFileSync(next.cert));
  // Throttled: a change within the interval is not looked at.
  copyFileSync(next.key, key);
  assert.equal(m.reloadIfChanged(log, 60_000), false);
});
