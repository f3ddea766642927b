import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { connect, createServer, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSelfSigned, ipBytes, selfCert, selfSignedCertificate } from '../../pkg/tls/self-cert.js';

const dir = mkdtempSync(join(tmpdir(), 'self-cert-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('ipBytes packs IPv4 and every IPv6 spelling', () => {
  assert.equal(ipBytes('127.0.0.1').toString('hex'), '7f000001');
  assert.equal(ipBytes('::1').toString('hex'), '00000000000000000000000000000001');
  assert.equal(ipBytes('::').toString('hex'), '0'.repeat(32));
  assert.equal(ipBytes('fe80::1:2').toString('hex'), 'fe800000000000000000000000010002');
  assert.equal(ipBytes('2001:db8:0:0:0:0:0:1').toString('hex'), '20010db8000000000000000000000001');
  assert.equal(ipBytes('::ffff:10.0.0.1').toString('hex'), '00000000000000000000ffff0a000001');
  assert.equal(ipBytes('fe80::1%eth0').toString('hex'), 'fe800000000000000000000000000001');
  assert.throws(() => ipBytes('example.com'), /not an IP/);
});

test('a generated certificate parses, is self-signed, and names its hosts', () => {
  const notBefore = new Date(Date.UTC(2026, 0, 1, 12, 0, 0));
  const notAfter = new Date(Date.UTC(2051, 5, 1, 0, 0, 0));
  const pair = generateSelfSigned({
    hosts: ['10.1.2.3', 'node1.example', '[::1]', '10.1.2.3', ''],
    notBefore,
    notAfter,
    organization: 'berth',
    commonName: 'member-1',
    extKeyUsages: ['serverAuth', 'clientAuth'],
  });
  const c = new X509Certificate(pair.certPem);
  assert.equal(c.subject, 'O=berth\nCN=member-1');
  assert.equal(c.issuer, c.subject);
  assert.equal(c.subjectAltName, 'IP Address:10.1.2.3, DNS:node1.example, IP Address:0:0:0:0:0:0:0:1'); // deduplicated
  assert.equal(new Date(c.validFrom).getTime(), notBefore.getTime());
  assert.equal(new Date(c.validTo).getTime(), notAfter.getTime()); // GeneralizedTime past 2049
  assert.ok(c.verify(c.publicKey));
  assert.equal(c.ca, false);
  assert.deepEqual(c.keyUsage, ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
  assert.equal(c.checkHost('node1.example'), 'node1.example');
  assert.equal(c.checkHost('other.example'), undefined);
  assert.equal(c.checkIP('10.1.2.3'), '10.1.2.3');
  assert.ok(c.checkPrivateKey(createPrivateKey(pair.keyPem)));
  assert.match(pair.keyPem, /^-----BEGIN EC PRIVATE KEY-----/); // SEC1, as etcd writes it
  assert.equal(c.serialNumber.length, 32);

  // OpenSSL reads every extension and accepts the certificate as its own trust anchor.
  const certFile = join(dir, 'gen.pem');
  writeFileSync(certFile, pair.certPem);
  const text = execFileSync('openssl', ['x509', '-in', certFile, '-noout', '-text'], { encoding: 'utf8' });
  assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
  assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature, Key Encipherment/);
  assert.match(text, /TLS Web Server Authentication, TLS Web Client Authentication/);
  assert.match(text, /CA:FALSE/);
  assert.match(text, /Version: 3/);
  const verify = execFileSync('openssl', ['verify', '-CAfile', certFile, certFile], { encoding: 'utf8' });
  assert.match(verify, /: OK/);
});

test('a tampered certificate no longer verifies', () => {
  const pair = generateSelfSigned({ hosts: ['127.0.0.1'], notBefore: new Date(), notAfter: new Date(Date.now() + 86400_000) });
  const derBytes = Buffer.from(pair.certPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  // Flip one byte inside the SAN (the IP address 127.0.0.1 -> 127.0.0.2).
  const at = derBytes.indexOf(Buffer.from([0x87, 0x04, 0x7f, 0x00, 0x00, 0x01]));
  assert.ok(at > 0);
  derBytes[at + 5] = 0x02;
  const c = new X509Certificate(derBytes);
  assert.equal(c.checkIP('127.0.0.2'), '127.0.0.2');
  assert.equal(c.verify(c.publicKey), false);
});

test('no hosts: no subjectAltName extension at all', () => {
  const c = new X509Certificate(generateSelfSigned({ hosts: [], notBefore: new Date(), notAfter: new Date(Date.now() + 3600_000) }).certPem);
  assert.equal(c.subjectAltName, undefined);
  assert.ok(c.verify(c.publicKey));
});

test('only P-256 private keys are accepted', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
  const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey;
  const req = { hosts: ['127.0.0.1'], notBefore: new Date(), notAfter: new Date() };
  assert.throws(() => selfSignedCertificate(req, rsa), /P-256/);
  assert.throws(() => selfSignedCertificate(req, p384), /P-256/);
});

test('selfCert writes cert.pem/key.pem once and reuses them', () => {
  const d = join(dir, 'fixtures', 'client');
  const first = selfCert(d, ['127.0.0.1', 'localhost', 'node1.example'], 1, ['serverAuth']);
  assert.equal(first.generated, true);
  assert.equal(first.certFile, join(d, 'cert.pem'));
  assert.equal(statSync(first.keyFile).mode & 0o777, 0o600);
  assert.equal(statSync(d).mode & 0o777, 0o700);
  const c = new X509Certificate(readFileSync(first.certFile));
  assert.equal(c.subjectAltName, 'IP Address:127.0.0.1, DNS:localhost, DNS:node1.example');
  const years = (new Date(c.validTo).getTime() - new Date(c.validFrom).getTime()) / (365.25 * 86400_000);
  assert.ok(years > 0.99 && years < 1.01, `validity ${years} years`);
  const before = readFileSync(first.certFile, 'utf8');
  const again = selfCert(d, ['10.0.0.9'], 5, ['serverAuth']);
  assert.equal(again.generated, false);
  assert.equal(readFileSync(again.certFile, 'utf8'), before);
});

test('a client that trusts the generated certificate completes a TLS handshake with it', async () => {
  const pair = generateSelfSigned({ hosts: ['127.0.0.1', 'localhost'], notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 3600_000) });
  const srv = createServer({ cert: pair.certPem, key: pair.keyPem }, (s) => s.end('hello'));
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  try {
    const port = (srv.address() as AddressInfo).port;
    const socket: TLSSocket = connect({ host: '127.0.0.1', port, ca: pair.certPem, servername: 'localhost' });
    let data = '';
    socket.setEncoding('utf8').on('data', (d: string) => (data += d));
    await once(socket, 'end');
    assert.equal(socket.authorized, true, String(socket.authorizationError));
    assert.equal(data, 'hello');
    // Without trusting it, verification fails (what --auto-tls peers skip).
    const untrusted = connect({ host: '127.0.0.1', port, servername: 'localhost' });
    const [err] = (await once(untrusted, 'error')) as [Error];
    assert.match(err.message, /self[- ]signed/i);
  } finally {
    srv.close();
  }
});
