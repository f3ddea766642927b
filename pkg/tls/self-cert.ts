/**
 * Self-signed certificates for --auto-tls / --peer-auto-tls, built without OpenSSL's command line:
 * an ECDSA P-256 key from node:crypto and an X.509 v3 certificate assembled in DER (der.ts) and
 * signed with ecdsa-with-SHA256.
 *
 * Like etcd's transport.SelfCert: the files are `cert.pem` and `key.pem` in the given directory
 * (etcd uses <data-dir>/fixtures/client and /peer); existing files are reused as they are, so a
 * restart keeps its certificate. The certificate names every host of the given URLs (IP literals as
 * iPAddress SANs, names as dNSName SANs) plus 127.0.0.1 and localhost, and is valid from one hour
 * ago (clock skew) for the given number of years.
 */
import { createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import * as der from './der.js';

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  organization: '2.5.4.10',
  commonName: '2.5.4.3',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  basicConstraints: '2.5.29.19',
  subjectAltName: '2.5.29.17',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

export type ExtKeyUsage = 'serverAuth' | 'clientAuth';

export interface CertificateRequest {
  /** DNS names and IP literals (v4 or v6) for the subjectAltName extension. */
  readonly hosts: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly organization?: string;
  readonly commonName?: string;
  readonly extKeyUsages?: readonly ExtKeyUsage[];
  /** Defaults to 16 random bytes (positive, non-zero first byte). */
  readonly serial?: Uint8Array;
}

export interface CertificatePair {
  readonly certPem: string;
  readonly keyPem: string;
}

/** Packs an IPv4 or IPv6 literal into its 4 or 16 network-order bytes. */
export function ipBytes(ip: string): Buffer {
  const kind = isIP(ip);
  if (kind === 4) return Buffer.from(ip.split('.').map(Number));
  if (kind !== 6) throw new Error(`not an IP address: ${ip}`);
  let text = ip.split('%')[0] as string;
  let tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4 !== null) {
    tail = (v4[1] as string).split('.').map(Number);
    text = `${text.slice(0, -(v4[1] as string).length)}0:0`;
  }
  const [head = '', rest] = text.split('::');
  const parse = (s: string): number[] => (s === '' ? [] : s.split(':').map((h) => parseInt(h, 16)));
  const hi = parse(head);
  const lo = rest === undefined ? [] : parse(rest);
  const words = rest === undefined ? hi : [...hi, ...new Array<number>(8 - hi.length - lo.length).fill(0), ...lo];
  const out = Buffer.alloc(16);
  words.forEach((w, i) => out.writeUInt16BE(w, i * 2));
  if (tail.length === 4) out.set(tail, 12);
  return out;
}

function name(organization: string | undefined, commonName: string | undefined): Buffer {
  const rdns: Buffer[] = [];
  if (organization !== undefined) rdns.push(der.set(der.sequence(der.oid(OID.organization), der.utf8String(organization))));
  if (commonName !== undefined) rdns.push(der.set(der.sequence(der.oid(OID.commonName), der.utf8String(commonName))));
  return der.sequence(...rdns);
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? der.sequence(der.oid(id), der.boolean(true), der.octetString(value)) : der.sequence(der.oid(id), der.octetString(value));
}

/** Hosts deduplicated, split into SAN entries. */
function subjectAltNames(hosts: readonly string[]): Buffer {
  const seen = new Set<string>();
  const names: Buffer[] = [];
  for (const raw of hosts) {
    const h = raw.startsWith('[') && raw.endsWith(']') ? raw.slice(1, -1) : raw;
    if (h === '' || seen.has(h)) continue;
    seen.add(h);
    names.push(isIP(h) !== 0 ? der.implicitPrimitive(7, ipBytes(h)) : der.implicitPrimitive(2, Buffer.from(h, 'ascii')));
  }
  return der.sequence(...names);
}

function randomSerial(): Buffer {
  const b = randomBytes(16);
  b[0] = ((b[0] as number) & 0x7f) | 0x01; // positive and a full 16 bytes
  return b;
}

/** Builds and signs a self-signed end-entity certificate for `key` (an EC P-256 private key). */
export function selfSignedCertificate(req: CertificateRequest, key: KeyObject): string {
  if (key.type !== 'private' || key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error('self-signed certificates use ECDSA P-256 private keys');
  }
  const publicKeyInfo = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const subject = name(req.organization, req.commonName);
  const algorithm = der.sequence(der.oid(OID.ecdsaWithSha256));
  const usages = req.extKeyUsages ?? ['serverAuth'];
  // keyUsage: digitalSignature (bit 0) and keyEncipherment (bit 2), as etcd's SelfCert sets them.
  const keyUsage = der.bitString(Buffer.from([0b1010_0000]), 5);
  const extensions = [
    extension(OID.keyUsage, true, keyUsage),
    extension(OID.extKeyUsage, false, der.sequence(...usages.map((u) => der.oid(OID[u])))),
    extension(OID.basicConstraints, true, der.sequence()),
  ];
  // RFC 5280: a subjectAltName extension holds at least one name; without hosts there is none.
  if (req.hosts.some((h) => h !== '' && h !== '[]')) extensions.push(extension(OID.subjectAltName, false, subjectAltNames(req.hosts)));
  const tbs = der.sequence(
    der.explicit(0, der.smallInteger(2)),
    der.unsignedInteger(req.serial ?? randomSerial()),
    algorithm,
    subject,
    der.sequence(der.time(req.notBefore), der.time(req.notAfter)),
    subject,
    publicKeyInfo,
    der.explicit(3, der.sequence(...extensions)),
  );
  const signature = sign('sha256', tbs, { key, dsaEncoding: 'der' });
  const cert = der.sequence(tbs, algorithm, der.bitString(signature));
  return toPem('CERTIFICATE', cert);
}

function toPem(label: string, body: Buffer): string {
  const b64 = body.toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}-----END ${label}-----\n`;
}

/** A new P-256 key and a self-signed certificate for it. */
export function generateSelfSigned(req: Omit<CertificateRequest, 'serial'>): CertificatePair {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const certPem = selfSignedCertificate(req, privateKey);
  const keyPem = privateKey.export({ type: 'sec1', format: 'pem' }) as string;
  return { certPem, keyPem };
}

export interface SelfCertFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** false when existing files were reused. */
  readonly generated: boolean;
}

/**
 * etcd's SelfCert: `<dir>/cert.pem` and `<dir>/key.pem`, reused when both exist, otherwise generated
 * (directory 0700, key 0600, written to temp names then renamed, so a crash leaves no half file).
 * `hosts` are URL hosts (`127.0.0.1`, `[::1]`, `node1.example`); 127.0.0.1 and localhost are added.
 */
export function selfCert(dir: string, hosts: readonly string[], validityYears: number, usages: readonly ExtKeyUsage[]): SelfCertFiles {
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  if (existsSync(certFile) && existsSync(keyFile)) return { certFile, keyFile, generated: false };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const now = Date.now();
  const notAfter = new Date(now);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + validityYears);
  const pair = generateSelfSigned({
    hosts: [...hosts, '127.0.0.1', 'localhost'],
    notBefore: new Date(now - 3600_000),
    notAfter,
    organization: 'berth',
    extKeyUsages: usages,
  });
  writeFileSync(`${keyFile}.tmp`, pair.keyPem, { mode: 0o600 });
  chmodSync(`${keyFile}.tmp`, 0o600);
  writeFileSync(`${certFile}.tmp`, pair.certPem, { mode: 0o644 });
  renameSync(`${keyFile}.tmp`, keyFile);
  renameSync(`${certFile}.tmp`, certFile);
  return { certFile, keyFile, generated: true };
}
