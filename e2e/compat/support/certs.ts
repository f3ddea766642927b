/**
 * Test PKI made with the openssl command line: a CA, server/peer certificates with SANs for
 * 127.0.0.1 and localhost, client certificates with a chosen CN, and a second, unrelated CA (to test
 * "wrong CA" refusals). Files are PEM under the given directory. Test code only; the product builds
 * its self-signed certificates without openssl (pkg/tls/self-cert.ts).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CaFiles {
  readonly cert: string;
  readonly key: string;
}

export interface LeafFiles {
  readonly cert: string;
  readonly key: string;
}

function openssl(args: readonly string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
}

/** A self-signed CA (EC P-256), valid for a day. */
export function makeCa(dir: string, name: string): CaFiles {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
  openssl([
    'req', '-x509', '-new', '-key', key, '-out', cert, '-days', '1', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { cert, key };
}

export interface LeafOptions {
  readonly cn: string;
  /** SAN entries, e.g. ['IP:127.0.0.1', 'DNS:localhost']; default both of those. */
  readonly sans?: readonly string[];
  /** Extended key usages; default serverAuth and clientAuth. */
  readonly usages?: readonly ('serverAuth' | 'clientAuth')[];
}

/** A leaf certificate signed by `ca`. */
export function makeLeaf(dir: string, name: string, ca: CaFiles, o: LeafOptions): LeafFiles {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.crt`);
  const ext = join(dir, `${name}.ext`);
  const sans = o.sans ?? ['IP:127.0.0.1', 'DNS:localhost'];
  const usages = o.usages ?? ['serverAuth', 'clientAuth'];
  writeFileSync(
    ext,
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      `extendedKeyUsage=${usages.join(',')}`,
      ...(sans.length > 0 ? [`subjectAltName=${sans.join(',')}`] : []),
      '',
    ].join('\n'),
  );
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
  openssl(['req', '-new', '-key', key, '-out', csr, '-subj', `/CN=${o.cn}`]);
  openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', cert, '-days', '1', '-extfile', ext]);
  return { cert, key };
}

export interface TestPki {
  readonly ca: CaFiles;
  /** An unrelated CA: certificates it signs are refused, and it cannot verify the server. */
  readonly otherCa: CaFiles;
  readonly server: LeafFiles;
  /** Client certificate with CN "root". */
  readonly client: LeafFiles;
  /** Client certificate signed by otherCa (CN "intruder"). */
  readonly foreignClient: LeafFiles;
}

export function makeTestPki(dir: string): TestPki {
  const ca = makeCa(dir, 'ca');
  const otherCa = makeCa(dir, 'other-ca');
  return {
    ca,
    otherCa,
    server: makeLeaf(dir, 'server', ca, { cn: 'berth-server' }),
    client: makeLeaf(dir, 'client', ca, { cn: 'root', sans: [], usages: ['clientAuth'] }),
    foreignClient: makeLeaf(dir, 'foreign-client', otherCa, { cn: 'intruder', sans: [], usages: ['clientAuth'] }),
  };
}

/** A CRL signed by `ca` that revokes `revoked` (PEM), made with `openssl ca`. */
export function makeCrl(dir: string, name: string, ca: CaFiles, revoked: readonly LeafFiles[]): string {
  const db = join(dir, `${name}.index.txt`);
  const cnf = join(dir, `${name}.cnf`);
  const crl = join(dir, `${name}.crl`);
  writeFileSync(db, '');
  writeFileSync(join(dir, `${name}.crlnumber`), '01\n');
  writeFileSync(
    cnf,
    [
      '[ ca ]',
      'default_ca = test_ca',
      '[ test_ca ]',
      `database = ${db}`,
      `crlnumber = ${join(dir, `${name}.crlnumber`)}`,
      'default_md = sha256',
      'default_crl_days = 1',
      '',
    ].join('\n'),
  );
  for (const r of revoked) openssl(['ca', '-config', cnf, '-keyfile', ca.key, '-cert', ca.cert, '-revoke', r.cert]);
  openssl(['ca', '-config', cnf, '-keyfile', ca.key, '-cert', ca.cert, '-gencrl', '-out', crl]);
  return crl;
}
