/**
 * Which transport an endpoint is dialled with, by etcd's client 3.4 rule: `http://` is always plain
 * text, `https://` is always TLS (with the configured files, else the system roots), and a bare
 * `host:port` uses TLS exactly when TLS is configured (a CA, a certificate or `--insecure-transport=false`).
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { ClientError } from './errors.js';

export interface TlsOptions {
  /** PEM file of the CAs that may sign the server certificate (default: the system roots). */
  readonly caFile?: string;
  /** PEM client certificate and key (both or neither). */
  readonly certFile?: string;
  readonly keyFile?: string;
  /** Accept any server certificate (etcdctl --insecure-skip-tls-verify). */
  readonly insecureSkipVerify?: boolean;
}

/** The file contents of a TLS configuration, read once. */
export interface TlsMaterial {
  readonly ca: Buffer | undefined;
  readonly cert: Buffer | undefined;
  readonly key: Buffer | undefined;
  readonly insecureSkipVerify: boolean;
}

function readPem(file: string | undefined): Buffer | undefined {
  if (file === undefined) return undefined;
  try {
    return readFileSync(file);
  } catch (err) {
    // Go's os.Open error text, which etcdctl prints.
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new ClientError(`open ${file}: ${why}`);
  }
}

/** Reads the files; rejects a certificate without its key (etcd's TLSInfo message). */
export function loadTls(o: TlsOptions): TlsMaterial {
  if ((o.certFile === undefined) !== (o.keyFile === undefined)) {
    throw new ClientError(`KeyFile and CertFile must both be present[key: ${o.keyFile ?? ''}, cert: ${o.certFile ?? ''}]`);
  }
  return { ca: readPem(o.caFile), cert: readPem(o.certFile), key: readPem(o.keyFile), insecureSkipVerify: o.insecureSkipVerify === true };
}

/** Whether `endpoint` is dialled with TLS, given the configured TLS (undefined: none configured). */
export function usesTls(endpoint: string, tls: TlsMaterial | undefined): boolean {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(endpoint)?.[1]?.toLowerCase();
  if (scheme === 'https' || scheme === 'unixs') return true;
  if (scheme !== undefined) return false;
  return tls !== undefined;
}

export function channelCredentials(endpoint: string, tls: TlsMaterial | undefined): grpc.ChannelCredentials {
  if (!usesTls(endpoint, tls)) return grpc.credentials.createInsecure();
  const t = tls ?? { ca: undefined, cert: undefined, key: undefined, insecureSkipVerify: false };
  return grpc.credentials.createSsl(t.ca ?? null, t.key ?? null, t.cert ?? null, t.insecureSkipVerify ? { rejectUnauthorized: false } : {});
}
