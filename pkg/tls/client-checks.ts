/**
 * Extra checks etcd applies to a verified client certificate, after the handshake:
 *  - --peer-cert-allowed-cn: the subject CN must be one of the allowed names;
 *  - --client-cert-allowed-hostname / --peer-cert-allowed-hostname: the certificate must be valid
 *    for one of the allowed host names (DNS SAN, or IP SAN for an IP literal);
 *  - peer connections: the certificate's SANs must cover the address the connection comes from (an
 *    IP SAN equal to it, or a DNS SAN resolving to it), unless the certificate has no SANs or
 *    --experimental-peer-skip-client-san-verification is set (etcd's checkSAN on the peer listener).
 * Each returns undefined when the certificate passes, or the reason it does not.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { X509Certificate } from 'node:crypto';

export function checkAllowedCn(cn: string | undefined, allowed: readonly string[]): string | undefined {
  if (allowed.length === 0) return undefined;
  return cn !== undefined && allowed.includes(cn) ? undefined : `client certificate CN ${JSON.stringify(cn ?? '')} is not allowed`;
}

export function checkAllowedHostname(cert: X509Certificate, allowed: readonly string[]): string | undefined {
  if (allowed.length === 0) return undefined;
  for (const h of allowed) {
    const ok = isIP(h) !== 0 ? cert.checkIP(h) !== undefined : cert.checkHost(h) !== undefined;
    if (ok) return undefined;
  }
  return `client certificate is not valid for any allowed hostname (${allowed.join(', ')})`;
}

/** The DNS and IP entries of a certificate's subjectAltName. */
export function subjectAltNames(cert: X509Certificate): { dns: string[]; ip: string[] } {
  const dns: string[] = [];
  const ip: string[] = [];
  for (const part of (cert.subjectAltName ?? '').split(', ')) {
    if (part.startsWith('DNS:')) dns.push(part.slice(4));
    else if (part.startsWith('IP Address:')) ip.push(part.slice(11));
  }
  return { dns, ip };
}

function normaliseIp(a: string): string {
  return a.startsWith('::ffff:') && isIP(a.slice(7)) === 4 ? a.slice(7) : a;
}

export type Resolve = (host: string) => Promise<readonly string[]>;

const resolveAll: Resolve = async (host) => (await lookup(host, { all: true })).map((r) => r.address);

export async function checkClientSan(cert: X509Certificate, remoteAddress: string, resolve: Resolve = resolveAll): Promise<string | undefined> {
  const { dns, ip } = subjectAltNames(cert);
  if (dns.length === 0 && ip.length === 0) return undefined;
  const remote = normaliseIp(remoteAddress);
  if (isIP(remote) !== 0 && cert.checkIP(remote) !== undefined) return undefined;
  for (const name of dns) {
    if (name.includes('*')) continue;
    try {
      const addrs = await resolve(name);
      if (addrs.some((a) => normaliseIp(a) === remote)) return undefined;
    } catch {
      // an unresolvable name simply does not match
    }
  }
  return `client certificate SANs (${[...ip, ...dns].join(', ')}) do not cover the remote address ${remote}`;
}
