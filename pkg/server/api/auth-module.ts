/** Wires the Auth service and the apply handlers of auth commands into a member (ctx.auth is opened by member.ts). */
import { AuthService } from '../../proto/gen/etcdserverpb/rpc.js';
import type { CommandHandler } from '../apply/applier.js';
import { authHandlers } from '../auth/handlers.js';
import type { ServiceModule } from '../services.js';
import { authService } from './auth.js';

export const authModule: ServiceModule = {
  name: 'auth',
  register(ctx, grpcServer) {
    const auth = ctx.auth;
    if (auth === undefined) return;
    for (const [kind, h] of Object.entries(authHandlers(auth))) ctx.registerHandler(kind as Parameters<typeof ctx.registerHandler>[0], h as CommandHandler);
    ctx.onSnapshotInstalled?.(() => auth.store.reload(ctx.engine));
    grpcServer.addService(AuthService, authService(ctx, auth));
  },
};
