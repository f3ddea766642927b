/**
 * Health endpoint logic without a cluster: a member that has lost its leader, or whose reads fail.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { healthRoutes } from '../../../pkg/server/api/metrics-health.js';
import type { MemberContext } from '../../../pkg/server/context.js';
import type { SpaceQuota } from '../../../pkg/server/alarm/space-quota.js';
import { berthError } from '../../../pkg/errors/index.js';

describe('health endpoints without a leader', () => {
  let server: Server;
  let base = '';
  const state = { leader: 0n, readOk: false };
  before(async () => {
    const ctx = {
      memberId: 1n,
      leader: () => state.leader,
      members: { get: () => ({ id: 1n, name: 'a', peerUrls: [], clientUrls: [], isLearner: false }) },
      linearizableRead: () => Promise.resolve(state.readOk ? { ok: true, value: undefined } : { ok: false, error: berthError('timeout') }),
      mvcc: { range: () => Promise.resolve({ ok: true, value: { header: { revision: 1n }, kvs: [], more: false, count: 0n } }) },
    } as unknown as MemberContext;
    const quota = { store: () => undefined } as unknown as SpaceQuota;
    const routes = healthRoutes(ctx, quota, () => undefined);
    server = createServer((req, res) => {
      const r = routes[(req.url ?? '/').split('?')[0] ?? '/'];
      if (r === undefined) {
        res.writeHead(404);
        res.end();
      } else r(req, res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const a = server.address();
    base = `http://127.0.0.1:${a !== null && typeof a === 'object' ? a.port : 0}`;
  });
  after(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('/health is 503 RAFT NO LEADER, but 200 with ?serializable=true', async () => {
    const h = await fetch(`${base}/health`);
    assert.equal(h.status, 503);
    assert.deepEqual(JSON.parse(await h.text()), { health: 'false', reason: 'RAFT NO LEADER' });
    const s = await fetch(`${base}/health?serializable=true`);
    assert.equal(s.status, 200);
    assert.deepEqual(await s.json(), { health: 'true', reason: '' });
  });

  it('a failing linearizable read: /health RANGE ERROR, /readyz lists the failed check, /livez stays ok', async () => {
    state.leader = 2n;
    const h = await fetch(`${base}/health`);
    assert.equal(h.status, 503);
    assert.deepEqual(JSON.parse(await h.text()), { health: 'false', reason: 'RANGE ERROR:etcdserver: request timed out' });
    const r = await fetch(`${base}/readyz`);
    assert.equal(r.status, 503);
    assert.equal(
      await r.text(),
      '[+]data_corruption ok\n[+]serializable_read ok\n[-]linearizable_read failed: etcdserver: request timed out\n[+]non_learner ok\n\n',
    );
    assert.equal((await fetch(`${base}/readyz?exclude=linearizable_read`)).status, 200);
    assert.equal((await fetch(`${base}/livez`)).status, 200);
    state.readOk = true;
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
    assert.equal((await fetch(`${base}/health`)).status, 200);
  });
});
