/**
 * A TLS listener for the client or peer port: terminates TLS with the side's material, checks the
 * allowed client CNs, reloads the certificates when their files change, and hands every verified
 * connection on (protocol-mux dispatchTls on the client port, the gRPC injector on the peer port).
 *
 * Failed handshakes (wrong CA, no client certificate when one is required, plaintext on a TLS port)
 * never reach the handlers: the socket is destroyed and one warning line is logged per connection
 * ("rejected connection", with the remote address and the TLS error), like etcd.
 */
import type { Socket } from 'node:net';
import { createServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import type { TlsMaterial } from '../../tls/index.js';
import { X509Certificate } from 'node:crypto';
import { certificateCommonName, checkAllowedCn, checkAllowedHostname, checkClientSan } from '../../tls/index.js';

export interface ListenerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface TlsListenerOptions {
  readonly material: TlsMaterial;
  /** ALPN protocols offered, in preference order (client port: h2, http/1.1; peer port: h2). */
  readonly alpn: readonly string[];
  readonly logger: ListenerLogger;
  /** Which port, for the log lines. */
  readonly side: 'client' | 'peer';
  readonly onConnection: (socket: TLSSocket) => void;
  /**
   * Peer port: the client certificate's SANs must cover the remote address (etcd's checkSAN; off
   * with --experimental-peer-skip-client-san-verification).
   */
  readonly checkClientSan?: boolean;
  /** Bound on a handshake; default 10 s. */
  readonly handshakeTimeoutMs?: number;
}

export function createTlsListener(o: TlsListenerOptions): TlsServer {
  const m = o.material;
  const srv = createServer({
    ...m.serverOptions(),
    ALPNProtocols: [...o.alpn],
    handshakeTimeout: o.handshakeTimeoutMs ?? 10_000,
  });
  // The raw socket's address, kept for the log line of a failed handshake (by then the TLS socket may
  // be closed and no longer know its peer).
  const addresses = new WeakMap<object, string>();
  let applied = m.generation;
  // Before the TLS socket of this connection is created, so new files apply to it already.
  srv.prependListener('connection', (raw: Socket) => {
    addresses.set(raw, address(raw));
    m.reloadIfChanged(o.logger);
    if (m.generation !== applied) {
      applied = m.generation;
      srv.setSecureContext(m.serverOptions());
    }
  });
  srv.on('secureConnection', (socket: TLSSocket) => {
    void admit(socket).then(
      (reason) => {
        if (reason === undefined) {
          o.onConnection(socket);
          return;
        }
        o.logger.warn({ side: o.side, 'remote-addr': address(socket), error: reason }, 'rejected connection');
        socket.destroy();
      },
      () => socket.destroy(),
    );
  });
  /** etcd's checks of a verified client certificate beyond the chain (allowed CN/hostname, SANs). */
  const admit = async (socket: TLSSocket): Promise<string | undefined> => {
    const s = m.settings;
    if (s.allowedCns.length === 0 && s.allowedHostnames.length === 0 && o.checkClientSan !== true) return undefined;
    const peer = socket.getPeerCertificate();
    if (peer.raw === undefined || peer.raw.length === 0) return undefined; // no certificate was asked for
    const cert = new X509Certificate(peer.raw);
    return (
      checkAllowedCn(certificateCommonName(peer), s.allowedCns) ??
      checkAllowedHostname(cert, s.allowedHostnames) ??
      (o.checkClientSan === true ? await checkClientSan(cert, socket.remoteAddress ?? '') : undefined)
    );
  };
  srv.on('tlsClientError', (err: Error, socket: TLSSocket) => {
    const parent = (socket as unknown as { _parent?: object })._parent;
    const from = (parent !== undefined ? addresses.get(parent) : undefined) ?? address(socket);
    // A client certificate that fails verification (unknown CA, revoked, expired) makes Node close
    // the socket itself; the error is then a bare "socket hang up" and the reason is here.
    const authError: unknown = socket.authorizationError;
    const error = authError !== undefined && authError !== null ? `client certificate: ${String(authError)}` : tlsErrorText(err);
    o.logger.warn({ side: o.side, 'remote-addr': from, error }, 'rejected connection');
    socket.destroy();
  });
  return srv;
}

/** OpenSSL's reason ("peer did not return a certificate") rather than its multi-line error stack. */
export function tlsErrorText(err: Error): string {
  const reason = (err as Error & { reason?: unknown }).reason;
  if (typeof reason === 'string' && reason !== '') return reason;
  return err.message.split('\n')[0] ?? err.message;
}

function address(s: Socket): string {
  const a = s.remoteAddress;
  if (a === undefined) return '';
  return `${a.includes(':') ? `[${a}]` : a}:${s.remotePort ?? 0}`;
}
