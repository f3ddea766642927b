/**
 * The list of service modules a member runs. Each module registers its gRPC services, apply handlers,
 * HTTP routes and background loops against the MemberContext. Adding a service = one line here.
 */
import type * as grpc from '@grpc/grpc-js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MemberContext } from './context.js';
import { kvModule } from './api/kv-module.js';
import { leaseModule } from './api/lease-module.js';
import { watchModule } from './api/watch-module.js';
import { maintenanceModule } from './api/maintenance-module.js';
import { clusterModule } from './api/cluster-module.js';
import { metricsModule } from './api/metrics-module.js';
import { gatewayModule } from './api/gateway-module.js';
import { concurrencyModule } from './api/concurrency-module.js';
import { authModule } from './api/auth-module.js';
import { autoCompactionModule } from './compactor/compactor-module.js';

export type HttpRoute = (req: IncomingMessage, res: ServerResponse) => void;

export interface ServiceModule {
  readonly name: string;
  /** Called once before the member starts serving; may register apply handlers and listeners. */
  register(ctx: MemberContext, grpcServer: grpc.Server): { readonly http?: Readonly<Record<string, HttpRoute>> } | void;
}

export const SERVICE_MODULES: readonly ServiceModule[] = [kvModule, maintenanceModule, clusterModule, metricsModule, gatewayModule, watchModule, leaseModule, concurrencyModule, authModule, autoCompactionModule];
