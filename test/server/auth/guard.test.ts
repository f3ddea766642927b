import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyGuard } from '../../../pkg/server/auth/guard.js';
import { apply, authWithAlice } from './fixture.js';
import type { Command, RequestHeader } from '../../../pkg/proto/gen/berthpb/command.js';
import * as pb from '../../../pkg/proto/gen/etcdserverpb/rpc.js';
import { Permission_Type } from '../../../pkg/proto/gen/authpb/auth.js';

const dir = mkdtempSync(join(tmpdir(), 'auth-guard-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const b = (s: string): Buffer => Buffer.from(s);

test('apply-time decisions: writes, prev_kv, txns (nested too), leases, admin, missing headers', async () => {
  const { engine: e, auth, close } = await authWithAlice(dir, [
    { permType: Permission_Type.WRITE, key: b('/w/'), rangeEnd: b('/w0') },
    { permType: Permission_Type.READ, key: b('/r/'), rangeEnd: b('/r0') },
  ]);
  try {
    const s = auth.store;
    const attached = new Map<bigint, Uint8Array[]>([[7n, [b('/w/a')]], [8n, [b('/w/a'), b('/secret')]]]);
    const g = applyGuard(auth, (id) => attached.get(id) ?? []);
    const cmd = (request: Command['request'], header?: RequestHeader): Command => ({ id: 1n, header, request });
    const as = (username: string, revision = s.revision): RequestHeader => ({ username, authRevision: revision });
    const decide = (c: Command): string => g.check(c)?.kind ?? 'ok';
    const put = (key: string, extra: Partial<pb.PutRequest> = {}): pb.PutRequest => pb.PutRequest.fromPartial({ key: b(key), value: b('v'), ...extra });
    const txn = (t: Partial<pb.TxnRequest>): Command['request'] => ({ $case: 'txn', value: pb.TxnRequest.fromPartial(t) });

    // Auth off: nothing is checked.
    assert.equal(decide(cmd({ $case: 'put', value: put('/secret') }, as('alice'))), 'ok');
    await apply(e, s.enable());

    assert.equal(decide(cmd({ $case: 'put', value: put('/w/a') }, as('alice'))), 'ok');
    assert.equal(decide(cmd({ $case: 'put', value: put('/r/a') }, as('alice'))), 'permissionDenied');
    assert.equal(decide(cmd({ $case: 'put', value: put('/w/a', { prevKv: true }) }, as('alice'))), 'permissionDenied', 'prev_kv needs read');
    assert.equal(decide(cmd({ $case: 'put', value: put('/w/a', { lease: 7n }) }, as('alice'))), 'ok');
    assert.equal(decide(cmd({ $case: 'put', value: put('/w/b', { lease: 8n }) }, as('alice'))), 'permissionDenied', 'lease with an unwritable key');
    assert.equal(g.barrier(cmd({ $case: 'put', value: put('/w/b', { lease: 8n }) }, as('alice'))), true);
    assert.equal(g.barrier(cmd({ $case: 'put', value: put('/w/b') }, as('alice'))), false);
    assert.equal(decide(cmd({ $case: 'leaseRevoke', value: { ID: 7n } }, as('alice'))), 'ok');
    assert.equal(decide(cmd({ $case: 'leaseRevoke', value: { ID: 8n } }, as('alice'))), 'permissionDenied');
    assert.equal(decide(cmd({ $case: 'leaseRevoke', value: { ID: 8n } })), 'ok', 'the server revoking an expired lease');
    assert.equal(decide(cmd({ $case: 'deleteRange', value: pb.DeleteRangeRequest.fromPartial({ key: b('/w/'), rangeEnd: b('/w0') }) }, as('alice'))), 'ok');
    assert.equal(decide(cmd({ $case: 'deleteRange', value: pb.DeleteRangeRequest.fromPartial({ key: b('/w/'), rangeEnd: b('/w1') }) }, as('alice'))), 'permissionDenied');
    assert.equal(decide(cmd({ $case: 'deleteRange', value: pb.DeleteRangeRequest.fromPartial({ key: b('/w/a'), prevKv: true }) }, as('alice'))), 'permissionDenied');

    const cmpOn = (key: string): pb.Compare => pb.Compare.fromPartial({ key: b(key), target: pb.Compare_CompareTarget.VERSION, targetUnion: { $case: 'version', value: 0n } });
    const opPut = (key: string): pb.RequestOp => ({ request: { $case: 'requestPut', value: put(key) } });
    const opGet = (key: string): pb.RequestOp => ({ request: { $case: 'requestRange', value: pb.RangeRequest.fromPartial({ key: b(key) }) } });
    assert.equal(decide(cmd(txn({ compare: [cmpOn('/r/x')], success: [opPut('/w/x')], failure: [opGet('/r/y')] }), as('alice'))), 'ok');
    assert.equal(decide(cmd(txn({ compare: [cmpOn('/w/x')] }), as('alice'))), 'permissionDenied', 'compare needs read');
    assert.equal(decide(cmd(txn({ failure: [opPut('/r/x')] }), as('alice'))), 'permissionDenied', 'the branch not taken counts too');
    const nested = txn({ success: [{ request: { $case: 'requestTxn', value: pb.TxnRequest.fromPartial({ failure: [opPut('/secret')] }) } }] });
    assert.equal(decide(cmd(nested, as('alice'))), 'permissionDenied', 'nested txn');

    assert.equal(decide(cmd({ $case: 'put', value: put('/w/a') }, as('alice', s.revision - 1n))), 'authOldRevision');
    assert.equal(decide(cmd({ $case: 'put', value: put('/w/a') }, as('', 0n))), 'userEmpty');
    assert.equal(decide(cmd({ $case: 'put', value: put('/w/a') })), 'userEmpty', 'a client write sent while auth was off');
    assert.equal(decide(cmd({ $case: 'authUserAdd', value: pb.AuthUserAddRequest.fromPartial({ name: 'x' }) })), 'userEmpty');
    assert.equal(decide(cmd({ $case: 'authUserAdd', value: pb.AuthUserAddRequest.fromPartial({ name: 'x' }) }, as('alice'))), 'permissionDenied');
    assert.equal(decide(cmd({ $case: 'authUserAdd', value: pb.AuthUserAddRequest.fromPartial({ name: 'x' }) }, as('root', 1n))), 'ok', 'admin ignores the revision (etcd)');
    assert.equal(decide(cmd({ $case: 'authUserGet', value: { name: 'alice' } }, as('alice'))), 'ok');
    assert.equal(decide(cmd({ $case: 'authUserGet', value: { name: 'root' } }, as('alice'))), 'permissionDenied');
    assert.equal(decide(cmd({ $case: 'authRoleGet', value: { role: 'app' } }, as('alice'))), 'ok');
    assert.equal(decide(cmd({ $case: 'authRoleGet', value: { role: 'root' } }, as('alice'))), 'permissionDenied');
    assert.equal(decide(cmd({ $case: 'authUserAdd', value: pb.AuthUserAddRequest.fromPartial({ name: 'x' }) }, as('ghost'))), 'userNotFound');
    assert.equal(decide(cmd({ $case: 'authenticate', value: { name: 'alice', password: '', simpleToken: 'p' } })), 'ok');
    assert.equal(decide(cmd({ $case: 'compaction', value: pb.CompactionRequest.fromPartial({ revision: 1n }) }, as('alice'))), 'ok', 'etcd 3.4 does not check compaction');
    assert.equal(decide(cmd({ $case: 'put', value: put('/anything', { lease: 8n, prevKv: true }) }, as('root'))), 'ok', 'root may do anything');
  } finally {
    await close();
  }
});
