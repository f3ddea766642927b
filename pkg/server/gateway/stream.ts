/**
 * Streaming routes of the JSON gateway (`/v3/watch`, `/v3/lease/keepalive`, `/v3/maintenance/snapshot`),
 * as grpc-gateway v1 serves them: the request body is a sequence of JSON request objects (read as it
 * arrives; for a server stream, exactly one), the response is chunked newline-delimited JSON, one
 * `{"result": <message>}` per message, and a stream error ends it with
 * `{"error": {"grpc_code", "http_code", "message", "http_status"}}`. Like etcd, the end of the request
 * body does not end a watch: the stream lasts until the client disconnects.
 */
import { EventEmitter } from 'node:events';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import { Metadata, status, type Server, type ServiceError } from '@grpc/grpc-js';
import { httpStatusOf, methodNotAllowed, sendError } from './handler.js';
import { toProtoNames } from './json-names.js';
import { recordedHandler } from './unary-registry.js';

export interface StreamCodec {
  fromJSON(object: unknown): unknown;
  toJSON(message: never): unknown;
  decode(input: Uint8Array): unknown;
}

export interface GatewayStreamRoute {
  readonly grpcPath: string;
  readonly request: StreamCodec;
  readonly response: StreamCodec;
}

/** Splits concatenated / newline-separated JSON values out of a growing text buffer. */
export class JsonValueSplitter {
  #buf = '';

  /** Appends text; returns the complete top-level values now available, or an error message. */
  push(text: string): { values: unknown[] } | { error: string } {
    this.#buf += text;
    const values: unknown[] = [];
    let depth = 0;
    let inString = false;
    let escaped = false;
    let start = -1;
    let consumed = 0;
    for (let i = 0; i < this.#buf.length; i++) {
      const c = this.#buf[i];
      if (inString) {
        if (escaped) escaped = false;
        else if (c === '\\') escaped = true;
        else if (c === '"') inString = false;
        continue;
      }
      if (c === '"') inString = true;
      else if (c === '{' || c === '[') {
        if (depth === 0) start = i;
        depth++;
      } else if (c === '}' || c === ']') {
        depth--;
        if (depth < 0) return { error: 'invalid JSON' };
        if (depth === 0) {
          try {
            values.push(JSON.parse(this.#buf.slice(start, i + 1)));
          } catch (e) {
            return { error: e instanceof Error ? e.message : 'invalid JSON' };
          }
          consumed = i + 1;
        }
      } else if (depth === 0 && c !== undefined && !/\s/.test(c)) return { error: `invalid character '${c}' looking for beginning of value` };
    }
    this.#buf = this.#buf.slice(consumed);
    return { values };
  }

  /** At the end of input: an error when an incomplete value is left over. */
  end(): string | undefined {
    return this.#buf.trim() === '' ? undefined : 'unexpected EOF';
  }
}

function streamErrorLine(code: status, message: string): string {
  const http = httpStatusOf(code);
  return JSON.stringify({ error: { grpc_code: code, http_code: http, message, http_status: STATUS_CODES[http] ?? '' } }) + '\n';
}

/** The HTTP handler of one streaming route. */
export function gatewayStreamHandler(server: Server, route: GatewayStreamRoute): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (req.method !== 'POST') return methodNotAllowed(res);
    const rec = recordedHandler(server, route.grpcPath);
    if (rec === undefined) return sendError(res, status.UNIMPLEMENTED, `The server does not implement the method ${route.grpcPath}`);
    const md = new Metadata();
    if (req.headers.authorization !== undefined) {
      md.set('authorization', req.headers.authorization);
      md.set('token', req.headers.authorization);
    }
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      res.end();
    };
    const call = Object.assign(new EventEmitter(), {
      metadata: md,
      cancelled: false,
      request: undefined as unknown,
      getPeer: () => 'gateway',
      getPath: () => route.grpcPath,
      getDeadline: () => Infinity,
      sendMetadata: () => undefined,
      pause: () => void req.pause(),
      resume: () => void req.resume(),
      write: (msg: unknown, cb?: (err?: Error) => void): boolean => {
        if (finished) {
          cb?.();
          return false;
        }
        const decoded = msg instanceof Uint8Array ? route.response.decode(msg) : msg;
        if (!res.headersSent) res.writeHead(200, { 'Content-Type': 'application/json' });
        const ok = res.write(JSON.stringify({ result: toProtoNames(route.response.toJSON(decoded as never)) }) + '\n', () => cb?.());
        return ok;
      },
      end: (): void => {
        if (!res.headersSent) res.writeHead(200, { 'Content-Type': 'application/json' });
        call.emit('finish');
        finish();
      },
    });
    call.on('error', (e: unknown) => {
      const err = e as Partial<ServiceError>;
      const code = typeof err.code === 'number' ? err.code : status.UNKNOWN;
      const message = err.details ?? err.message ?? 'unknown error';
      if (finished) return;
      if (!res.headersSent) {
        sendError(res, code, message);
        finished = true;
        return;
      }
      res.write(streamErrorLine(code, message));
      finish();
    });
    res.on('close', () => {
      if (call.cancelled) return;
      call.cancelled = true;
      finished = true;
      call.emit('cancelled');
      call.emit('close');
    });
    res.on('drain', () => call.emit('drain'));

    const split = new JsonValueSplitter();
    const toRequest = (v: unknown): unknown | undefined => {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
      return route.request.fromJSON(v);
    };
    if (rec.type === 'server_stream') {
      // One request: the whole body.
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8').trim();
        let v: unknown = {};
        try {
          if (text !== '') v = JSON.parse(text);
        } catch (e) {
          return sendError(res, status.INVALID_ARGUMENT, e instanceof Error ? e.message : 'invalid JSON');
        }
        const r = toRequest(v);
        if (r === undefined) return sendError(res, status.INVALID_ARGUMENT, 'request body must be a JSON object');
        call.request = r;
        rec.handler(call);
      });
      return;
    }
    rec.handler(call);
    req.setEncoding('utf8');
    req.on('data', (text: string) => {
      const out = split.push(text);
      if ('error' in out) {
        call.emit('error', Object.assign(new Error(out.error), { code: status.INVALID_ARGUMENT, details: out.error }));
        return;
      }
      for (const v of out.values) {
        const r = toRequest(v);
        if (r === undefined) continue;
        call.emit('data', r);
      }
    });
    // Like grpc-gateway: the end of the body is a half-close; the stream stays open.
    req.on('end', () => {
      const leftover = split.end();
      // etcd 3.4.23 answers a truncated body with 500, code 2 (Unknown), "unexpected EOF".
      if (leftover !== undefined) call.emit('error', Object.assign(new Error(leftover), { code: status.UNKNOWN, details: leftover }));
      else call.emit('end');
    });
  };
}
