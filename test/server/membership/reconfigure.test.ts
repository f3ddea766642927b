/**
 * The Reconfigurer against a real engine and member store, with raft's status faked: what the apply
 * hook decides (and how a replay decides the same), when a peer counts as removed, and the
 * proposal-side checks (strict reconfig, learner readiness) that answer before anything is proposed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../../../pkg/storage/engine/index.js';
import { MemberStore, type Member } from '../../../pkg/membership/members.js';
import { encodeConfContext } from '../../../pkg/membership/conf-context.js';
import { createLogger } from '../../../pkg/log/index.js';
import type { ConfChange, ConfState, ProgressStatus, Status, StepResult } from '../../../pkg/raft/index.js';
import { WaitRegistry } from '../../../pkg/server/wait.js';
import { HEALTH_INTERVAL_MS, Reconfigurer, type ReconfigOptions } from '../../../pkg/server/membership/reconfigure.js';

const created = createLogger({ level: 'error', outputs: ['stderr'] });
if (!created.ok) throw new Error(created.message);
const logger = created.logger;

const m = (id: bigint, o: Partial<Member> = {}): Member => ({ id, name: `n${id}`, peerUrls: [`http://10.0.0.${id}:2380`], clientUrls: [], isLearner: false, ...o });
const cs = (voters: bigint[], o: Partial<ConfState> = {}): ConfState => ({ voters, learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false, ...o });

describe('Reconfigurer', () => {
  let dir: string;
  let engine: Engine;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'reconfig-'));
    engine = await Engine.open(dir);
  });
  after(async () => {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function setup(o: Partial<ReconfigOptions> & { config?: ConfState; role?: Status['role']; progress?: Map<bigint, ProgressStatus> } = {}) {
    await engine.write([]);
    const members = await MemberStore.load(engine);
    const ops = [members.upsert(m(1n)), members.upsert(m(2n)), members.upsert(m(3n))];
    await engine.write(ops);
    const state = { config: o.config ?? cs([1n, 2n, 3n]), role: o.role ?? ('leader' as Status['role']), progress: o.progress ?? new Map<bigint, ProgressStatus>() };
    const waits = new WaitRegistry();
    const proposed: ConfChange[] = [];
    const events = { peers: 0, removedSelf: 0 };
    let reqId = 100n;
    const r = new Reconfigurer({
      memberId: 1n,
      strictReconfigCheck: true,
      timeoutMs: 500,
      pollMs: 10,
      members,
      engine,
      waits,
      nextRequestId: () => ++reqId,
      status: () => ({ config: state.config, role: state.role, progress: state.progress }) as unknown as Status,
      proposeConfChange: (cc): StepResult => {
        proposed.push(cc);
        return { ok: true };
      },
      activeSince: () => Date.now() - 2 * HEALTH_INTERVAL_MS,
      peersChanged: () => void events.peers++,
      removedSelf: () => void events.removedSelf++,
      logger,
      ...o,
    });
    return { r, members, waits, state, proposed, events };
  }

  const cc = (requestId: bigint, change: Parameters<typeof encodeConfContext>[0]['change'], type: 'add-node' | 'remove-node' | 'add-learner' = 'add-node'): ConfChange => ({
    transition: 'auto',
    changes: [{ type, nodeId: change.kind === 'add' ? change.member.id : change.id }],
    context: encodeConfContext({ requestId, change }),
  });

  it('applies a valid add (record in the batch ops, waiter answered, peers refreshed) and refuses a duplicate for good', async () => {
    const { r, members, waits, events } = await setup();
    const w1 = waits.register<void>(7n, 1000);
    const fx = await r.apply(cc(7n, { kind: 'add', member: m(4n, { name: '', isLearner: true }) }, 'add-learner'), { index: 50, term: 2, replay: false });
    assert.equal(fx.accepted, true);
    assert.equal(fx.ops.length, 1);
    assert.equal(members.get(4n)?.isLearner, true);
    fx.after?.();
    assert.deepEqual(await w1, { ok: true, value: undefined });
    assert.ok(events.peers > 0);

    const w2 = waits.register<void>(8n, 1000);
    const dup = await r.apply(cc(8n, { kind: 'add', member: m(4n, { peerUrls: ['http://z:1'] }) }), { index: 51, term: 2, replay: false });
    assert.equal(dup.accepted, false, 'raft must not take a refused change');
    await engine.write([...dup.ops]);
    dup.after?.();
    assert.deepEqual(await w2, { ok: false, error: { kind: 'memberExists' } });

    // A restart replays both entries on records that already hold their effects: the same decisions.
    assert.equal((await r.apply(cc(7n, { kind: 'add', member: m(4n, { name: '', isLearner: true }) }, 'add-learner'), { index: 50, term: 2, replay: true })).accepted, true);
    assert.equal((await r.apply(cc(8n, { kind: 'add', member: m(4n, { peerUrls: ['http://z:1'] }) }), { index: 51, term: 2, replay: true })).accepted, false);
    // Leaving a joint config has no member effects.
    const leave = await r.apply({ transition: 'auto', changes: [], context: new Uint8Array(0) }, { index: 52, term: 2, replay: false });
    assert.deepEqual({ accepted: leave.accepted, ops: leave.ops }, { accepted: true, ops: [] });
  });

  it('a removed member is refused only once it is out of the raft configuration; removing self stops once', async () => {
    const { r, state, events } = await setup({ config: cs([2n, 3n], { votersOutgoing: [1n, 2n, 3n], autoLeave: true }) });
    const fx = await r.apply(cc(9n, { kind: 'remove', id: 1n }, 'remove-node'), { index: 60, term: 3, replay: false });
    assert.equal(fx.accepted, true);
    fx.after?.();
    assert.equal(r.isRemovedPeer(1n), false, 'still an outgoing voter of the joint config');
    assert.ok(r.peers().has(1n), 'still reachable while joint');
    assert.equal(events.removedSelf, 0);
    state.config = cs([2n, 3n]);
    const leave = await r.apply({ transition: 'auto', changes: [], context: new Uint8Array(0) }, { index: 61, term: 3, replay: false });
    leave.after?.();
    assert.equal(r.isRemovedPeer(1n), true);
    assert.equal(r.peers().has(1n), false);
    assert.equal(events.removedSelf, 1);
    r.checkRemovedSelf();
    assert.equal(events.removedSelf, 1, 'reported once');
  });

  it('strict reconfig: a voter not connected for the health interval makes an add unhealthy; removing a down voter passes', async () => {
    const { r, proposed } = await setup({ activeSince: (id) => (id === 3n ? 0 : Date.now() - 2 * HEALTH_INTERVAL_MS) });
    const add = await r.add(['http://10.0.0.9:2380'], true);
    assert.deepEqual(add.ok ? 'ok' : add.error.kind, 'unhealthy');
    assert.equal(proposed.length, 0);
    const rm = r.remove(3n);
    // Proposed (the down member is not part of the active quorum); nobody applies it here: it times out.
    const res = await rm;
    assert.equal(proposed.length, 1);
    assert.deepEqual(proposed[0]?.changes, [{ type: 'remove-node', nodeId: 3n }]);
    assert.equal(proposed[0]?.transition, 'implicit', 'voter removal goes through a joint config');
    assert.equal(res.ok ? 'ok' : res.error.kind, 'timeout');
  });

  it('strict reconfig: recently connected peers make removing a live voter unhealthy', async () => {
    const { r, proposed } = await setup({ activeSince: () => Date.now() - 1000 });
    const rm = await r.remove(2n);
    assert.equal(rm.ok ? 'ok' : rm.error.kind, 'unhealthy');
    assert.equal(proposed.length, 0);
  });

  it('without --strict-reconfig-check the same add is proposed (as a simple learner change)', async () => {
    const { r, proposed } = await setup({ strictReconfigCheck: false, activeSince: () => 0 });
    const add = await r.add(['http://10.0.0.9:2380'], true);
    assert.equal(proposed.length, 1);
    assert.equal(proposed[0]?.transition, 'auto');
    assert.equal(proposed[0]?.changes[0]?.type, 'add-learner');
    assert.equal(add.ok ? 'ok' : add.error.kind, 'timeout', 'nobody applies it in this test');
  });

  it('promote: only on the leader, only a learner within 90% of the leader match', async () => {
    const pr = (match: number): ProgressStatus => ({ match, next: match + 1, state: 'replicate', recentActive: true, isLearner: false, pendingSnapshot: 0, inflight: 0, paused: false });
    const { r, members, proposed } = await setup({ progress: new Map([[1n, pr(1000)], [4n, pr(500)]]) });
    await engine.write([members.upsert(m(4n, { isLearner: true }))]);
    const notReady = await r.promoteAsLeader(4n);
    assert.equal(notReady.ok ? 'ok' : notReady.error.kind, 'learnerNotReady');
    const voter = await r.promoteAsLeader(2n);
    assert.equal(voter.ok ? 'ok' : voter.error.kind, 'memberNotLearner');
    assert.equal(proposed.length, 0);
  });
});
