import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, type Config } from '../../pkg/config/index.js';
import { resolveTls } from '../../pkg/tls/index.js';
import { makeTestPki, type TestPki } from '../../e2e/compat/support/certs.js';

let dir = '';
let pki: TestPki;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tls-resolve-'));
  pki = makeTestPki(dir);
});
after(() => rmSync(dir, { recursive: true, force: true }));

function config(args: string[]): Config {
  const r = parseConfig({ argv: ['--data-dir', join(dir, 'data'), ...args], env: {}, cwd: dir });
  if (!('config' in r) || r.config === undefined) throw new Error(`bad config: ${JSON.stringify(r)}`);
  return r.config;
}

const warnings: string[] = [];
const log = { info: (): void => undefined, warn: (_o: object, m: string): void => void warnings.push(m) };

const https = (p: number): string[] => ['--listen-client-urls', `https://127.0.0.1:${p}`, '--advertise-client-urls', `https://127.0.0.1:${p}`];

test('an https client URL without a certificate does not start, naming the flags', () => {
  assert.throws(() => resolveTls(config(https(2379)), 'client', log), /TLS key\/cert \(--cert-file, --key-file\) must be provided for client url https:\/\/127\.0\.0\.1:2379 with HTTPS scheme/);
  const peer = ['--listen-peer-urls', 'https://127.0.0.1:2380', '--initial-advertise-peer-urls', 'https://127.0.0.1:2380', '--initial-cluster', 'default=https://127.0.0.1:2380'];
  assert.throws(() => resolveTls(config(peer), 'peer', log), /--peer-cert-file, --peer-key-file/);
});

test('http URLs with certificate files: no TLS, a warning', () => {
  warnings.length = 0;
  assert.equal(resolveTls(config(['--cert-file', pki.server.cert, '--key-file', pki.server.key]), 'client', log), undefined);
  assert.equal(warnings.length, 1);
  assert.equal(resolveTls(config([]), 'client', log), undefined);
});

test('certificate files with an https URL; a CA file alone turns on client verification', () => {
  const m = resolveTls(config([...https(2379), '--cert-file', pki.server.cert, '--key-file', pki.server.key, '--trusted-ca-file', pki.ca.cert]), 'client', log);
  assert.ok(m !== undefined);
  assert.equal(m.requireClientCert, true);
  assert.equal(m.verifyRemote, true);
});

test('peer TLS is set up for dialing https peers even when this member listens on http', () => {
  const args = [
    '--peer-cert-file', pki.server.cert, '--peer-key-file', pki.server.key, '--peer-trusted-ca-file', pki.ca.cert,
    '--initial-cluster', 'default=http://localhost:2380,other=https://127.0.0.1:2390',
  ];
  const m = resolveTls(config(args), 'peer', log);
  assert.ok(m !== undefined);
});

test('auto TLS generates fixtures for the listen hosts and drops client verification settings (as etcd)', () => {
  warnings.length = 0;
  const cfg = config([...https(2379), '--auto-tls', '--client-cert-auth', '--trusted-ca-file', pki.ca.cert, '--self-signed-cert-validity', '2']);
  const m = resolveTls(cfg, 'client', log);
  assert.ok(m !== undefined);
  const certFile = join(dir, 'data', 'fixtures', 'client', 'cert.pem');
  assert.equal(m.settings.certFile, certFile);
  assert.ok(existsSync(join(dir, 'data', 'fixtures', 'client', 'key.pem')));
  assert.equal(m.settings.selfSigned, true);
  assert.equal(m.verifyRemote, false);
  assert.equal(m.requireClientCert, false);
  assert.ok(warnings.some((w) => /auto-tls ignores/.test(w)));
  const c = new X509Certificate(readFileSync(certFile));
  assert.equal(c.checkIP('127.0.0.1'), '127.0.0.1');
  const years = (new Date(c.validTo).getTime() - new Date(c.validFrom).getTime()) / (365.25 * 86400_000);
  assert.ok(years > 1.99 && years < 2.01, `${years}`);
  // Given files win over auto TLS.
  warnings.length = 0;
  const given = resolveTls(config([...https(2379), '--auto-tls', '--cert-file', pki.server.cert, '--key-file', pki.server.key]), 'client', log);
  assert.equal(given?.settings.certFile, pki.server.cert);
  assert.equal(given?.settings.selfSigned, false);
  assert.ok(warnings.some((w) => /ignoring --auto-tls/.test(w)));
});
