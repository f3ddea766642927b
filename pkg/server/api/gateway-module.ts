/**
 * etcd's JSON gateway (`/v3/...`, POST + JSON) on the client port, dispatching in process to the
 * gRPC handlers the other modules register (see pkg/server/gateway). Off with --enable-grpc-gateway=false.
 */
import type { ServiceModule, HttpRoute } from '../services.js';
import { gatewayHandler } from '../gateway/handler.js';
import { GATEWAY_ROUTES, GATEWAY_STREAM_ROUTES } from '../gateway/routes.js';
import { gatewayStreamHandler } from '../gateway/stream.js';
import { recordServices } from '../gateway/unary-registry.js';

export const gatewayModule: ServiceModule = {
  name: 'gateway',
  register(ctx, grpcServer) {
    // Normally done by the composition root right after creating the server; idempotent.
    recordServices(grpcServer);
    if (!ctx.config.enableGrpcGateway) return;
    const http: Record<string, HttpRoute> = {};
    const limit = ctx.config.maxRequestBytes + 512 * 1024;
    for (const [path, route] of Object.entries(GATEWAY_ROUTES)) {
      const h = gatewayHandler(grpcServer, route, limit);
      http[path] = h;
      http[path.replace('/v3/', '/v3beta/')] = h;
    }
    for (const [path, route] of Object.entries(GATEWAY_STREAM_ROUTES)) {
      const h = gatewayStreamHandler(grpcServer, route);
      http[path] = h;
      http[path.replace('/v3/', '/v3beta/')] = h;
    }
    return { http };
  },
};
