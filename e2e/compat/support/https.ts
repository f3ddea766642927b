/**
 * curl-style HTTPS requests for tests: node:https (HTTP/1.1) or node:http2 (h2, as curl negotiates
 * over TLS), with a chosen CA and client certificate. Bounded in time.
 */
import { request as httpsRequest } from 'node:https';
import { connect as http2Connect } from 'node:http2';

export interface TlsClientOptions {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /** false: do not verify the server (curl -k, etcdctl --insecure-skip-tls-verify). */
  readonly rejectUnauthorized?: boolean;
}

export interface HttpResult {
  readonly status: number;
  readonly body: string;
  /** The protocol actually used: 'http/1.1' or 'h2'. */
  readonly protocol: string;
}

/** One request over HTTPS/1.1. Rejects on TLS or connection failure, or after timeoutMs. */
export function https1(url: string, tls: TlsClientOptions, init: { method?: string; body?: string; timeoutMs?: number } = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method: init.method ?? (init.body !== undefined ? 'POST' : 'GET'),
        ...tls,
        agent: false,
        timeout: init.timeoutMs ?? 5000,
        headers: init.body !== undefined ? { 'content-type': 'application/json' } : {},
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, protocol: 'http/1.1' }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(init.body);
  });
}

/** One request over HTTP/2 with TLS (ALPN h2), like curl's default for https. */
export function https2(url: string, tls: TlsClientOptions, init: { method?: string; body?: string; timeoutMs?: number } = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const session = http2Connect(u.origin, { ...tls });
    const timer = setTimeout(() => {
      session.destroy();
      reject(new Error('request timed out'));
    }, init.timeoutMs ?? 5000);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      session.destroy();
      reject(err);
    };
    session.on('error', fail);
    const headers: Record<string, string> = {
      ':method': init.method ?? (init.body !== undefined ? 'POST' : 'GET'),
      ':path': u.pathname + u.search,
    };
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    const stream = session.request(headers);
    let status = 0;
    let body = '';
    stream.setEncoding('utf8');
    stream.on('response', (h) => (status = Number(h[':status'] ?? 0)));
    stream.on('data', (d: string) => (body += d));
    stream.on('end', () => {
      clearTimeout(timer);
      session.close();
      resolve({ status, body, protocol: 'h2' });
    });
    stream.on('error', fail);
    stream.end(init.body);
  });
}

/**
 * Opens a streaming HTTP/2 request (e.g. the gateway's /v3/watch) and collects its response as
 * newline-separated chunks; `lines(n)` resolves once n lines arrived (rejects after timeoutMs).
 */
export function https2Stream(url: string, tls: TlsClientOptions, body: string): { lines(n: number, timeoutMs?: number): Promise<string[]>; close(): void } {
  const u = new URL(url);
  const session = http2Connect(u.origin, { ...tls });
  session.on('error', () => undefined);
  const stream = session.request({ ':method': 'POST', ':path': u.pathname, 'content-type': 'application/json' });
  stream.on('error', () => undefined);
  stream.end(body);
  let text = '';
  const waiters = new Set<() => void>();
  stream.setEncoding('utf8');
  stream.on('data', (d: string) => {
    text += d;
    for (const w of [...waiters]) w();
  });
  return {
    lines: (n, timeoutMs = 5000) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const ls = text.split('\n').filter((l) => l.trim() !== '');
          if (ls.length >= n) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(ls);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`wanted ${n} lines, got: ${text}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
    close: () => {
      stream.close();
      session.destroy();
    },
  };
}
