/**
 * The race of a client write proposed while auth is off and applied after AuthEnable: etcd stamps
 * every client request with a header (empty user, auth revision 0 when auth is off), so its applier
 * then refuses the write with "user name is empty" — for a LeaseRevoke only when keys are attached
 * to the lease (checkLeasePuts). The leader's own expiry revokes are proposed as root and pass.
 * Here: the command the Lease service proposes (encoded as raft carries it) fed to the apply-time
 * guard after the store is enabled, and KV writes without a header.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import { runAs } from '../../../pkg/server/auth/member-auth.js';
import { applyGuard } from '../../../pkg/server/auth/guard.js';
import { apply, authWithAlice } from './fixture.js';
import { leaseService } from '../../../pkg/server/api/lease.js';
import type { Lessor } from '../../../pkg/lease/index.js';
import { Command, type RequestHeader } from '../../../pkg/proto/gen/berthpb/command.js';
import type { CommandRequest } from '../../../pkg/server/propose.js';
import * as pb from '../../../pkg/proto/gen/etcdserverpb/rpc.js';
import { Permission_Type } from '../../../pkg/proto/gen/authpb/auth.js';

const dir = mkdtempSync(join(tmpdir(), 'auth-before-enable-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const b = (s: string): Buffer => Buffer.from(s);

/** The Lease service with a proposer that records what it is asked to replicate. */
function recordingLeaseService(): { revoke(id: bigint): Promise<Command> } {
  const proposed: Command[] = [];
  const svc = leaseService({
    lessor: {} as Lessor,
    proposer: {
      propose: <T>(request: CommandRequest, header?: RequestHeader) => {
        // As raft carries it: encoded, then decoded by every member's applier.
        proposed.push(Command.decode(Command.encode({ id: 1n, header, request }).finish()));
        return Promise.resolve({ ok: true as const, value: { revision: 1n } as T });
      },
    },
    appliedCommitted: () => Promise.resolve({ ok: true, value: undefined }),
    header: (revision) => pb.ResponseHeader.fromPartial({ revision }),
    currentRevision: () => 1n,
    nextId: () => 1n,
    leader: () => 1n,
    self: 1n,
    requestTimeoutMs: 1000,
  });
  const handler = svc['leaseRevoke'] as (call: Pick<ServerUnaryCall<pb.LeaseRevokeRequest, unknown>, 'request'>, cb: sendUnaryData<unknown>) => void;
  return {
    revoke: (id) =>
      new Promise((resolve, reject) => {
        handler({ request: pb.LeaseRevokeRequest.fromPartial({ ID: id }) }, (err) => {
          const cmd = proposed.pop();
          if (err !== null || cmd === undefined) reject(new Error(`revoke failed: ${err?.details ?? 'nothing proposed'}`));
          else resolve(cmd);
        });
      }),
  };
}

test('a LeaseRevoke or KV write sent while auth is off and applied after AuthEnable is refused like etcd', async () => {
  const { engine: e, auth, close } = await authWithAlice(dir, [
    { permType: Permission_Type.READWRITE, key: b('/w/'), rangeEnd: b('/w0') },
  ]);
  try {
    const s = auth.store;
    // Lease 7 has alice's key, 8 a key only root may write, 9 none.
    const attached = new Map<bigint, Uint8Array[]>([[7n, [b('/w/a')]], [8n, [b('/secret')]], [9n, []]]);
    const g = applyGuard(auth, (id) => attached.get(id) ?? []);
    const decide = (c: Command): string => g.check(c)?.kind ?? 'ok';
    const lease = recordingLeaseService();

    // Proposed while auth is off (no call scope: the gate does not identify anyone then).
    const sentBefore = [await lease.revoke(7n), await lease.revoke(8n), await lease.revoke(9n)];
    for (const c of sentBefore) assert.deepEqual(c.header, { username: '', authRevision: 0n }, 'an empty header survives the encoding');
    const headerless = (request: Command['request']): Command => Command.decode(Command.encode({ id: 2n, header: undefined, request }).finish());
    const put = headerless({ $case: 'put', value: pb.PutRequest.fromPartial({ key: b('/w/a'), value: b('v') }) });
    const del = headerless({ $case: 'deleteRange', value: pb.DeleteRangeRequest.fromPartial({ key: b('/w/a') }) });
    const txn = headerless({ $case: 'txn', value: pb.TxnRequest.fromPartial({ success: [{ request: { $case: 'requestPut', value: pb.PutRequest.fromPartial({ key: b('/w/a') }) } }] }) });
    const expiry = headerless({ $case: 'leaseRevoke', value: { ID: 8n } });

    // Applied before AuthEnable: nothing is checked.
    for (const c of [...sentBefore, put, del, txn, expiry]) assert.equal(decide(c), 'ok');

    await apply(e, s.enable());
    // Applied after it: etcd's empty user.
    assert.deepEqual(sentBefore.map(decide), ['userEmpty', 'userEmpty', 'ok'], 'revokes of leases 7, 8 (keys attached) and 9 (none)');
    assert.equal(decide(put), 'userEmpty');
    assert.equal(decide(del), 'userEmpty');
    assert.equal(decide(txn), 'userEmpty');
    assert.equal(decide(expiry), 'ok', "the leader's expiry revoke (no header) is not refused");

    // With auth on, the caller's identity is what the revoke carries.
    const asAlice = await runAs({ username: 'alice', revision: s.revision }, () => lease.revoke(7n));
    assert.deepEqual(asAlice.header, { username: 'alice', authRevision: s.revision });
    assert.equal(decide(asAlice), 'ok');
    const aliceOn8 = await runAs({ username: 'alice', revision: s.revision }, () => lease.revoke(8n));
    assert.equal(decide(aliceOn8), 'permissionDenied');
  } finally {
    await close();
  }
});
