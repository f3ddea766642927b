/**
 * Certificates for a throw-away kube-apiserver, made with the openssl CLI: a CA, the apiserver's serving
 * certificate (127.0.0.1/localhost and the in-cluster service names), one client certificate in the
 * system:masters group (the admin used by kubectl, the raw API calls and kube-controller-manager), and the
 * service-account signing key pair.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeCa, makeLeaf } from '../../compat/support/certs.js';

export interface KubePki {
  readonly dir: string;
  readonly caCert: string;
  readonly caKey: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly adminCert: string;
  readonly adminKey: string;
  readonly saKey: string;
  readonly saPub: string;
}

function openssl(cwd: string, args: readonly string[]): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A key and a certificate signed by the CA in `dir`, with the given subject and extensions. */
function issue(dir: string, name: string, subject: string, extensions: string): void {
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, extensions);
  openssl(dir, ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
  openssl(dir, [
    'x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
    '-days', '2', '-sha256', '-out', `${name}.crt`, '-extfile', ext,
  ]);
}

export function makePki(dir: string): KubePki {
  openssl(dir, [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2',
    '-subj', '/CN=berth-e2e-kube-ca', '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  issue(dir, 'apiserver', '/CN=kube-apiserver', [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
    'subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc',
    '',
  ].join('\n'));
  issue(dir, 'admin', '/O=system:masters/CN=berth-e2e-admin', [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=clientAuth',
    '',
  ].join('\n'));
  openssl(dir, ['genrsa', '-out', 'sa.key', '2048']);
  openssl(dir, ['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub']);
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    serverCert: join(dir, 'apiserver.crt'),
    serverKey: join(dir, 'apiserver.key'),
    adminCert: join(dir, 'admin.crt'),
    adminKey: join(dir, 'admin.key'),
    saKey: join(dir, 'sa.key'),
    saPub: join(dir, 'sa.pub'),
  };
}

/**
 * The store's own PKI for the TLS flavours: a separate CA (as kubeadm keeps etcd's CA apart), the members'
 * serving certificate (127.0.0.1, localhost) and one client certificate, signed by that CA, which
 * kube-apiserver (--etcd-certfile) and the harness's etcdctl present.
 */
export interface StoreTls {
  readonly ca: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
}

export function makeStoreTls(dir: string): StoreTls {
  const ca = makeCa(dir, 'store-ca');
  // serverAuth and clientAuth: etcd's gRPC gateway dials its own client port presenting this certificate
  // (etcd 3.4 refuses it otherwise: "x509: certificate specifies an incompatible key usage").
  const server = makeLeaf(dir, 'store-server', ca, { cn: 'berth-e2e-store', usages: ['serverAuth', 'clientAuth'] });
  const client = makeLeaf(dir, 'apiserver-etcd-client', ca, { cn: 'kube-apiserver-etcd-client', sans: [], usages: ['clientAuth'] });
  return { ca: ca.cert, serverCert: server.cert, serverKey: server.key, clientCert: client.cert, clientKey: client.key };
}
