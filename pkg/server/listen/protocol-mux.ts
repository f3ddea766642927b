/**
 * One client port, two protocols, like etcd's cmux: gRPC (HTTP/2 with prior knowledge, or h2 over TLS
 * via ALPN) and HTTP/1.1 (health, metrics, version, JSON gateway) share a listener.
 *
 * Plain-text connections are classified by their first bytes: the HTTP/2 client preface starts with
 * "PRI * HTTP/2.0", anything else is HTTP/1.1. TLS connections are classified by the negotiated ALPN
 * protocol. The socket is then handed, unread bytes included, to the matching server.
 */
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { fixAuthority } from './authority-fix.js';
import { sniffH2 } from './h2-sniff.js';

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export type Protocol = 'h2' | 'http1';

export interface ProtocolHandlers {
  /** Receives connections that speak HTTP/2 (gRPC). */
  h2(conn: Duplex): void;
  /** Receives connections that speak HTTP/1.x. */
  http1(conn: Duplex): void;
  /**
   * Receives plain-text HTTP/2 connections whose first request is gRPC, when set (berth's own HTTP/2
   * server, listen/h2/server.ts; experimental, see docs/grpc-h2.md). Needs `fixAuthority` (the sniffer).
   */
  grpc?(conn: Socket): void;
}

/**
 * Classifies a prefix of a plain-text connection. Returns undefined while the prefix is too short to
 * decide (it is a strict prefix of the HTTP/2 preface).
 */
export function classifyPrefix(prefix: Uint8Array): Protocol | undefined {
  const n = Math.min(prefix.length, H2_PREFACE.length);
  for (let i = 0; i < n; i++) {
    if (prefix[i] !== H2_PREFACE[i]) return 'http1';
  }
  return prefix.length >= H2_PREFACE.length ? 'h2' : undefined;
}

export interface DispatchOptions {
  /**
   * Accept etcdctl 3.4's URL-shaped `:authority` ("http://127.0.0.1:2379"): HTTP/2 connections are
   * sniffed (h2-sniff.ts) and those whose first request carries one go behind {@link fixAuthority};
   * the rest are handed over natively. Off by default.
   */
  fixAuthority?: boolean;
  /**
   * Called (then the socket is destroyed) when a plain-text port receives a TLS ClientHello: the
   * client was configured for https against an http URL. Without it, such bytes would reach the
   * HTTP/1 parser and get a 400.
   */
  onTlsHandshake?: (socket: Socket) => void;
}

/** The first byte of a TLS record carrying a handshake message (a ClientHello opens every TLS connection). */
const TLS_HANDSHAKE_RECORD = 0x16;

/**
 * Reads just enough of a plain socket to classify it, puts the bytes back, and dispatches it.
 * A connection that closes or errors before it can be classified is dropped silently.
 */
export function dispatchPlain(socket: Socket, handlers: ProtocolHandlers, opts: DispatchOptions = {}): void {
  let buffered: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    if (buffered[0] === TLS_HANDSHAKE_RECORD && opts.onTlsHandshake !== undefined) {
      socket.off('data', onData);
      opts.onTlsHandshake(socket);
      socket.destroy();
      return;
    }
    const proto = classifyPrefix(buffered);
    if (proto === undefined) return;
    socket.off('data', onData);
    socket.off('error', onError);
    if (proto === 'h2' && opts.fixAuthority === true) {
      // Only a connection whose first request needs the repair goes behind the (slower) wrapper.
      const grpc = handlers.grpc;
      sniffH2(
        socket,
        buffered,
        (verdict) => {
          if (verdict === 'grpc' && grpc !== undefined) grpc(socket);
          else handlers.h2(verdict === 'fix' ? fixAuthority(socket) : socket);
        },
        undefined,
        grpc !== undefined,
      );
      return;
    }
    socket.pause();
    socket.unshift(buffered);
    if (proto === 'h2') {
      handlers.h2(socket);
    } else {
      handlers.http1(socket);
      // node:http attaches its parser without resuming a paused socket; HTTP/2 resumes by itself.
      socket.resume();
    }
  };
  const onError = (): void => {
    socket.destroy();
  };
  socket.on('data', onData);
  socket.on('error', onError);
}

/**
 * Dispatches a TLS socket by its negotiated ALPN protocol (no ALPN means HTTP/1.1). With
 * `fixAuthority`, HTTP/2 goes behind the authority fix like plain text does (the handlers then no
 * longer see the TLSSocket itself, so grpc-js cannot report the client certificate).
 */
export function dispatchTls(socket: TLSSocket, handlers: ProtocolHandlers, opts: DispatchOptions = {}): void {
  if (socket.alpnProtocol !== 'h2') return void handlers.http1(socket);
  const toNode = (): void => handlers.h2(opts.fixAuthority === true ? fixAuthority(socket) : socket);
  const grpc = handlers.grpc;
  if (grpc === undefined) return toNode();
  // As on plain text: read the preface, then sniff the first request (h2-sniff.ts).
  let buffered: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    if (buffered.length < H2_PREFACE.length) return;
    socket.off('data', onData);
    sniffH2(socket, buffered, (verdict) => (verdict === 'grpc' ? grpc(socket) : toNode()), undefined, true);
  };
  socket.on('data', onData);
}
