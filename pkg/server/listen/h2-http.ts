/**
 * Plain HTTP requests (not gRPC) that arrive over HTTP/2 on the client port.
 *
 * Over TLS, clients pick the protocol by ALPN and curl, browsers and Go's net/http choose h2, so
 * `curl https://host:2379/health` arrives as HTTP/2 on the connection that also serves gRPC. etcd
 * answers such requests from its HTTP mux (it routes by content type); grpc-js would answer
 * 415 Unsupported Media Type. This module routes every HTTP/2 stream whose content-type is not
 * application/grpc* to the HTTP handler instead, using Node's HTTP/2 compatibility request and
 * response objects.
 *
 * grpc-js does not expose the HTTP/2 server behind a connection injector, so it is found in the
 * grpc.Server's server map (the one entry added by createConnectionInjector) and its 'stream'
 * events are filtered. If grpc-js changes that internal shape, routing is not installed and
 * {@link installH2HttpRouting} returns false (gRPC keeps working; HTTP over h2 gets 415 as before).
 */
import { Http2ServerRequest, Http2ServerResponse, type Http2Server, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type * as grpc from '@grpc/grpc-js';

type HttpHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** Whether a stream's headers are a gRPC call (content-type application/grpc, application/grpc+proto, ...). */
export function isGrpcRequest(headers: IncomingHttpHeaders): boolean {
  const ct = headers['content-type'];
  return typeof ct === 'string' && ct.startsWith('application/grpc');
}

function http2ServersOf(server: grpc.Server): Map<unknown, unknown> | undefined {
  const m = (server as unknown as { http2Servers?: unknown }).http2Servers;
  return m instanceof Map ? m : undefined;
}

/**
 * Creates a connection injector on `server` whose non-gRPC HTTP/2 requests go to `handler`, and whose
 * gRPC streams are first offered to `grpcStream` (true: taken, e.g. direct-unary.ts; false: grpc-js
 * serves it). Returns the injector and whether routing could be installed.
 */
export function createInjectorWithHttp(
  server: grpc.Server,
  credentials: grpc.ServerCredentials,
  handler: HttpHandler,
  grpcStream?: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => boolean,
): { injector: ReturnType<grpc.Server['createConnectionInjector']>; routed: boolean } {
  const servers = http2ServersOf(server);
  const before = new Set(servers?.keys() ?? []);
  const injector = server.createConnectionInjector(credentials);
  const added = [...(servers?.keys() ?? [])].filter((k) => !before.has(k));
  const h2 = added.length === 1 ? (added[0] as Http2Server) : undefined;
  if (h2 === undefined || typeof h2.emit !== 'function') return { injector, routed: false };
  const emit = h2.emit.bind(h2) as (event: string | symbol, ...args: unknown[]) => boolean;
  h2.emit = ((event: string | symbol, ...args: unknown[]): boolean => {
    if (event === 'stream') {
      const stream = args[0] as ServerHttp2Stream;
      const headers = args[1] as IncomingHttpHeaders;
      if (!isGrpcRequest(headers)) {
        const rawHeaders = args[3] as string[] | undefined;
        const req = new Http2ServerRequest(stream, headers, undefined as never, rawHeaders ?? []);
        const res = new Http2ServerResponse(stream);
        handler(req as unknown as IncomingMessage, res as unknown as ServerResponse);
        return true;
      }
      if (grpcStream?.(stream, headers) === true) return true;
    }
    return emit(event, ...args);
  }) as typeof h2.emit;
  return { injector, routed: true };
}
