/**
 * One HTTP route of the JSON gateway: POST a JSON request body, get the JSON response, with etcd's
 * grpc-gateway v1 conventions (see json-names.ts). Errors come back as
 * `{"error": msg, "message": msg, "code": grpcCode}` with grpc-gateway's HTTP status for the code
 * (key order as etcd 3.4.23 emits it).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Metadata, status, type Server } from '@grpc/grpc-js';
import { callUnary } from './unary-registry.js';
import { toProtoNames } from './json-names.js';
import type { GatewayRoute } from './routes.js';

/** grpc-gateway v1's HTTPStatusFromCode. */
export function httpStatusOf(code: status): number {
  switch (code) {
    case status.OK:
      return 200;
    case status.CANCELLED:
      return 408;
    case status.INVALID_ARGUMENT:
    case status.FAILED_PRECONDITION:
    case status.OUT_OF_RANGE:
      return 400;
    case status.DEADLINE_EXCEEDED:
      return 504;
    case status.NOT_FOUND:
      return 404;
    case status.ALREADY_EXISTS:
    case status.ABORTED:
      return 409;
    case status.PERMISSION_DENIED:
      return 403;
    case status.UNAUTHENTICATED:
      return 401;
    case status.RESOURCE_EXHAUSTED:
      return 429;
    case status.UNIMPLEMENTED:
      return 501;
    case status.UNAVAILABLE:
      return 503;
    default:
      return 500;
  }
}

function send(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** Sends grpc-gateway v1's error body with the HTTP status of `code`. */
export function sendError(res: ServerResponse, code: status, message: string): void {
  send(res, httpStatusOf(code), { error: message, message, code });
}

/** etcd 3.4.23 answers another method on a gateway path with a plain-text 405. */
export function methodNotAllowed(res: ServerResponse): void {
  res.writeHead(405, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end('Method Not Allowed\n');
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        resolve(undefined);
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The HTTP handler of one gateway route; `maxBodyBytes` bounds the request body. */
export function gatewayHandler(server: Server, route: GatewayRoute, maxBodyBytes: number): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (req.method !== 'POST') return methodNotAllowed(res);
    void (async () => {
      const body = await readBody(req, maxBodyBytes);
      if (body === undefined) return sendError(res, status.INVALID_ARGUMENT, 'etcdserver: request is too large');
      let json: unknown = {};
      if (body.length > 0) {
        try {
          json = JSON.parse(body.toString('utf8'));
        } catch (e) {
          return sendError(res, status.INVALID_ARGUMENT, e instanceof Error ? e.message : 'invalid JSON');
        }
      }
      if (json === null || typeof json !== 'object' || Array.isArray(json)) {
        return sendError(res, status.INVALID_ARGUMENT, 'request body must be a JSON object');
      }
      let request: unknown;
      try {
        request = route.request.fromJSON(json);
      } catch (e) {
        return sendError(res, status.INVALID_ARGUMENT, e instanceof Error ? e.message : 'invalid request');
      }
      const md = new Metadata();
      const auth = req.headers.authorization;
      if (auth !== undefined) {
        md.set('authorization', auth);
        md.set('token', auth);
      }
      const r = await callUnary(server, route.grpcPath, request, md);
      if (!r.ok) return sendError(res, r.code, r.message);
      send(res, 200, toProtoNames(route.response.toJSON(r.value as never)));
    })().catch((e: unknown) => sendError(res, status.INTERNAL, e instanceof Error ? e.message : String(e)));
  };
}
