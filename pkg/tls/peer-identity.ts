/**
 * Who is on the other end of a gRPC call, by its verified TLS client certificate.
 *
 * For the auth layer (etcd uses the client certificate's CN as the user name when a request carries
 * no token and --client-cert-auth is on). Only a certificate the server verified counts: plaintext
 * connections, connections where no certificate was asked for, and unverified ones give undefined.
 */
import { TLSSocket, type PeerCertificate } from 'node:tls';

/** What grpc-js (≥ 1.10) gives every server call: ServerUnaryCall, ServerWritableStream, ... */
export interface CallWithAuthContext {
  getAuthContext(): { readonly transportSecurityType?: string; readonly sslPeerCertificate?: PeerCertificate };
}

/** The verified client certificate of the call's connection, or undefined. */
export function peerCertificate(call: CallWithAuthContext): PeerCertificate | undefined {
  const ctx = call.getAuthContext();
  if (ctx.transportSecurityType !== 'ssl') return undefined;
  const cert = ctx.sslPeerCertificate;
  return cert !== undefined && cert.raw !== undefined && cert.raw.length > 0 ? cert : undefined;
}

/** The subject CN of a certificate ('' fields and multi-valued CNs: the first non-empty value). */
export function certificateCommonName(cert: PeerCertificate): string | undefined {
  const cn: unknown = (cert.subject as unknown as Record<string, unknown> | undefined)?.['CN'];
  if (typeof cn === 'string') return cn === '' ? undefined : cn;
  if (Array.isArray(cn)) return cn.find((v): v is string => typeof v === 'string' && v !== '');
  return undefined;
}

/** The CN of the call's verified client certificate, or undefined (no TLS, no or unverified cert). */
export function peerCertificateCommonName(call: CallWithAuthContext): string | undefined {
  const cert = peerCertificate(call);
  return cert === undefined ? undefined : certificateCommonName(cert);
}

/**
 * The same for an HTTP request on the client port (JSON gateway, HTTP/1.1 or HTTP/2): the CN of
 * the verified client certificate of its connection, or undefined.
 */
export function requestCertificateCommonName(req: { readonly socket: unknown }): string | undefined {
  const s = req.socket;
  if (!(s instanceof TLSSocket) || !s.authorized) return undefined;
  const cert = s.getPeerCertificate();
  if (cert.raw === undefined || cert.raw.length === 0) return undefined;
  return certificateCommonName(cert);
}
