/**
 * The HTTP/1.1 side of the client port. Service modules register exact-path routes (metrics and
 * health in api/metrics-module.ts, the JSON gateway in api/gateway-module.ts); `/version` lives here.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BERTH_VERSION } from '../config/index.js';

export interface HttpDeps {
  readonly version: string;
  /** Routes by exact path, registered by service modules. */
  readonly routes?: Readonly<Record<string, (req: IncomingMessage, res: ServerResponse) => void>>;
}

export function httpHandler(d: HttpDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const route = d.routes?.[path];
    if (route !== undefined) {
      route(req, res);
      return;
    }
    if (path === '/version') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      // etcd reports the cluster version as major.minor.0.
      const cluster = `${d.version.split('.').slice(0, 2).join('.')}.0`;
      res.end(JSON.stringify({ etcdserver: d.version, etcdcluster: cluster, berth: BERTH_VERSION }));
      return;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('404 page not found\n');
  };
}
