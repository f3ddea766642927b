/**
 * etcd's health endpoints on the client (and metrics) port:
 * - `/health`: JSON `{"health":"true","reason":""}`; 503 when an alarm is active (unless
 *   `?exclude=NOSPACE`...), when there is no leader, or when a linearizable read fails ("RANGE ERROR:...").
 *   `?serializable=true` skips the leader check and reads locally.
 * - `/livez` (check `serializable_read`) and `/readyz` (`data_corruption`, `serializable_read`,
 *   `linearizable_read`, `non_learner`), Kubernetes style: `ok` (with `[+]name ok` lines under
 *   `?verbose`), 503 listing `[-]name failed: reason` lines; `?exclude=name`; `/readyz/<name>` runs one.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AlarmType } from '../../proto/gen/etcdserverpb/rpc.js';
import { toGrpcStatus } from '../../errors/index.js';
import type { MemberContext } from '../context.js';
import type { SpaceQuota } from '../alarm/space-quota.js';
import type { HttpRoute } from '../services.js';
import { memberMetrics } from './metrics-registry.js';

type Check = () => Promise<string | undefined>;

const ALARM_NAMES: Readonly<Record<number, string>> = { [AlarmType.NOSPACE]: 'NOSPACE', [AlarmType.CORRUPT]: 'CORRUPT' };

function query(req: IncomingMessage): URLSearchParams {
  return new URL(req.url ?? '/', 'http://localhost').searchParams;
}

function text(res: ServerResponse, code: number, body: string): void {
  res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
  res.end(body);
}

function methodGuard(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method === 'GET' || req.method === 'HEAD') return true;
  res.setHeader('Allow', 'GET');
  text(res, 405, 'Method Not Allowed\n');
  return false;
}

export interface HealthRecorder {
  (type: 'livez' | 'readyz' | 'health', name: string, ok: boolean): void;
}

/** The health routes of a member. */
export function healthRoutes(ctx: MemberContext, quota: SpaceQuota, record: HealthRecorder): Record<string, HttpRoute> {
  const rangeTotal = memberMetrics(ctx).mvcc.rangeTotal;
  const readCheck =
    (serializable: boolean): Check =>
    async () => {
      if (!serializable) {
        const r = await ctx.linearizableRead();
        if (!r.ok) return toGrpcStatus(r.error).message;
      }
      rangeTotal.inc(); // etcd's health checks are Range requests, counted like any other
      const res = await ctx.mvcc.range({ key: Buffer.from('health'), keysOnly: true, limit: 1n });
      return res.ok ? undefined : res.error.kind;
    };
  const alarmCheck =
    (t: AlarmType): Check =>
    () =>
      Promise.resolve(quota.store()?.has(t) === true ? `alarm activated: ${ALARM_NAMES[t] ?? 'UNKNOWN'}` : undefined);

  const health: HttpRoute = (req, res) => {
    if (!methodGuard(req, res)) return;
    const q = query(req);
    const excluded = new Set(q.getAll('exclude').filter((s) => s !== ''));
    const serializable = q.get('serializable') === 'true';
    void (async (): Promise<{ health: string; reason: string }> => {
      for (const a of quota.store()?.list() ?? []) {
        const name = ALARM_NAMES[a.alarm] ?? 'UNKNOWN';
        if (excluded.has(name)) continue;
        return { health: 'false', reason: `ALARM ${name}` };
      }
      if (!serializable && ctx.leader() === 0n) return { health: 'false', reason: 'RAFT NO LEADER' };
      const err = await readCheck(serializable)();
      if (err !== undefined) return { health: 'false', reason: `RANGE ERROR:${err}` };
      return { health: 'true', reason: '' };
    })().then((h) => {
      record('health', 'health', h.health === 'true');
      const body = JSON.stringify(h);
      if (h.health === 'true') text(res, 200, body);
      else text(res, 503, body + '\n');
    });
  };

  const group = (type: 'livez' | 'readyz', checks: readonly (readonly [string, Check])[]): Record<string, HttpRoute> => {
    const run = async (names: readonly string[]): Promise<{ ok: boolean; reason: string }> => {
      let ok = true;
      let reason = '';
      for (const name of names) {
        const check = checks.find(([n]) => n === name)?.[1];
        if (check === undefined) continue;
        const err = await check().catch((e: unknown) => (e instanceof Error ? e.message : String(e)));
        record(type, name, err === undefined);
        if (err === undefined) reason += `[+]${name} ok\n`;
        else {
          ok = false;
          reason += `[-]${name} failed: ${err}\n`;
        }
      }
      return { ok, reason };
    };
    const respond = (req: IncomingMessage, res: ServerResponse, names: readonly string[]): void => {
      void run(names).then((h) => {
        if (!h.ok) return text(res, 503, h.reason + '\n');
        text(res, 200, (query(req).has('verbose') ? h.reason : '') + 'ok\n');
      });
    };
    const routes: Record<string, HttpRoute> = {
      [`/${type}`]: (req, res) => {
        if (!methodGuard(req, res)) return;
        const excluded = new Set(query(req).getAll('exclude'));
        respond(req, res, checks.map(([n]) => n).filter((n) => !excluded.has(n)));
      },
    };
    for (const [name] of checks) {
      routes[`/${type}/${name}`] = (req, res) => {
        if (methodGuard(req, res)) respond(req, res, [name]);
      };
    }
    return routes;
  };

  return {
    '/health': health,
    ...group('livez', [['serializable_read', readCheck(true)]]),
    ...group('readyz', [
      ['data_corruption', alarmCheck(AlarmType.CORRUPT)],
      ['serializable_read', readCheck(true)],
      ['linearizable_read', readCheck(false)],
      [
        'non_learner',
        () => Promise.resolve(ctx.members.get(ctx.memberId)?.isLearner === true ? 'not supported for learner' : undefined),
      ],
    ]),
  };
}
