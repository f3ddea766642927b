/**
 * Why a TLS endpoint could not be dialled. grpc-js only reports that the channel never became ready;
 * after a failed dial one direct TLS connection with the same files (and HTTP/2's preface) finds the
 * handshake's reason (unknown CA, missing or refused client certificate, plain-text port), so the user
 * sees one clean line.
 */
import { connect, type TLSSocket } from 'node:tls';
import { grpcTarget } from './target.js';
import type { TlsMaterial } from './transport.js';

/** "…:error:0A000412:SSL routines:ssl3_read_bytes:sslv3 alert bad certificate:../deps/…" → the reason. */
export function cleanTlsMessage(message: string): string {
  const ssl = /SSL routines:[^:]*:([^:\n]+)/.exec(message);
  return (ssl?.[1] ?? message).trim();
}

/** The client connection preface and an empty SETTINGS frame (RFC 9113 §3.4). */
const PREFACE = Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]);

/**
 * Resolves to the handshake failure's text, or undefined when the server accepts the connection (or
 * the probe does not finish within `timeoutMs`). Never rejects.
 */
export function tlsFailure(endpoint: string, tls: TlsMaterial | undefined, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    let socket: TLSSocket | undefined;
    let done = false;
    const finish = (why: string | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket?.destroy();
      resolve(why);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    const target = grpcTarget(endpoint);
    const colon = target.lastIndexOf(':');
    try {
      socket = connect({
        host: target.slice(0, colon).replace(/^\[|\]$/g, ''),
        port: Number(target.slice(colon + 1)),
        ALPNProtocols: ['h2'],
        ...(tls?.ca !== undefined ? { ca: tls.ca } : {}),
        ...(tls?.cert !== undefined && tls.key !== undefined ? { cert: tls.cert, key: tls.key } : {}),
        rejectUnauthorized: tls?.insecureSkipVerify !== true,
      });
    } catch (err) {
      finish(cleanTlsMessage((err as Error).message));
      return;
    }
    const s = socket;
    // In TLS 1.3 the server judges the client certificate after the client's side of the handshake is
    // complete: only the server's first HTTP/2 bytes show that the connection was accepted.
    // Nothing to say about TLS when not even TCP connects (the caller reports the deadline).
    let tcp = false;
    s.once('connect', () => (tcp = true));
    s.on('secureConnect', () => s.write(PREFACE));
    s.on('data', () => finish(undefined));
    s.on('error', (err: Error) => finish(tcp ? cleanTlsMessage(err.message) : undefined));
    s.on('close', () => finish(tcp ? 'connection closed by the server during the TLS handshake' : undefined));
  });
}
