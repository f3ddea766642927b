/** Wires the Cluster service and member-attribute publishing into a member. */
import { ClusterService } from '../../proto/gen/etcdserverpb/rpc.js';
import type { ServiceModule } from '../services.js';
import { clusterService } from './cluster.js';
import { memberAttributesHandler, publishAttributes } from './cluster-attributes.js';

export const clusterModule: ServiceModule = {
  name: 'cluster',
  register(ctx, grpcServer) {
    ctx.registerHandler('memberAttributesSet', memberAttributesHandler(ctx.members));
    grpcServer.addService(ClusterService, clusterService(ctx));
    publishAttributes(ctx);
  },
};
