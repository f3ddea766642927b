/**
 * The JSON gateway (/v3/*) against a real member: etcd's grpc-gateway conventions (proto field
 * names, int64 as strings, base64 bytes, defaults omitted) and its error body.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { b64, etcdctl, postJson, removeDir, startTestMember, unb64, type TestMember } from './ops-fixture.js';

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => {
  assert.ok(v !== null && typeof v === 'object' && !Array.isArray(v), `not an object: ${JSON.stringify(v)}`);
  return v as Json;
};
const arr = (v: unknown): Json[] => {
  assert.ok(Array.isArray(v), `not an array: ${JSON.stringify(v)}`);
  return v as Json[];
};

describe('JSON gateway', () => {
  let m: TestMember;
  before(async () => {
    m = await startTestMember();
  });
  after(async () => {
    await m.stop();
    removeDir(m.dir);
  });

  it('put then range: base64 round trip, snake_case names, int64 as strings', async () => {
    const key = Buffer.from([0x67, 0x77, 0x00, 0xff, 0x10]);
    const value = Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00]);
    const put = await postJson(`${m.url}/v3/kv/put`, { key: b64(key), value: b64(value) });
    assert.equal(put.status, 200, JSON.stringify(put.json));
    const header = obj(put.json.header);
    assert.equal(header.member_id, m.member.memberId.toString());
    assert.equal(typeof header.revision, 'string');
    assert.equal(typeof header.raft_term, 'string');
    assert.equal(header.cluster_id, m.member.clusterId.toString());

    const range = await postJson(`${m.url}/v3/kv/range`, { key: b64(key) });
    assert.equal(range.status, 200);
    assert.equal(range.json.count, '1');
    const [kv] = arr(range.json.kvs);
    assert.ok(kv !== undefined);
    assert.deepEqual(Buffer.from(String(kv.key), 'base64'), key);
    assert.deepEqual(Buffer.from(String(kv.value), 'base64'), value);
    assert.equal(kv.create_revision, header.revision);
    assert.equal(kv.mod_revision, header.revision);
    assert.equal(kv.version, '1');
    assert.equal(kv.lease, undefined, 'defaults are omitted');
    assert.equal(range.json.more, undefined);

    // The gRPC side sees the same data.
    const r = await etcdctl(m.endpoint, ['get', '--prefix', 'gw', '-w', 'json']);
    assert.match(r.stdout, new RegExp(`"value":"${b64(value).replace(/\+/g, '\\+')}"`));
  });

  it('requests accept both proto (snake_case) and JSON (camelCase) field names', async () => {
    await postJson(`${m.url}/v3/kv/put`, { key: b64('pfx/a'), value: b64('1') });
    await postJson(`${m.url}/v3/kv/put`, { key: b64('pfx/b'), value: b64('2') });
    const snake = await postJson(`${m.url}/v3/kv/range`, { key: b64('pfx/'), range_end: b64('pfx0'), keys_only: true });
    const camel = await postJson(`${m.url}/v3/kv/range`, { key: b64('pfx/'), rangeEnd: b64('pfx0'), keysOnly: true });
    for (const r of [snake, camel]) {
      assert.equal(r.json.count, '2');
      assert.deepEqual(arr(r.json.kvs).map((kv) => unb64(kv.key)), ['pfx/a', 'pfx/b']);
      assert.ok(arr(r.json.kvs).every((kv) => kv.value === undefined), 'keys_only');
    }
  });

  it('txn takes the success or failure branch with enum names', async () => {
    await postJson(`${m.url}/v3/kv/put`, { key: b64('tx'), value: b64('v1') });
    const txn = (expected: string): Promise<{ status: number; json: Json }> =>
      postJson(`${m.url}/v3/kv/txn`, {
        compare: [{ key: b64('tx'), result: 'EQUAL', target: 'VALUE', value: b64(expected) }],
        success: [{ request_put: { key: b64('tx'), value: b64('v2'), prev_kv: true } }],
        failure: [{ request_range: { key: b64('tx') } }],
      });
    const ok = await txn('v1');
    assert.equal(ok.status, 200);
    assert.equal(ok.json.succeeded, true);
    const put = obj(obj(arr(ok.json.responses)[0]).response_put);
    assert.equal(unb64(obj(put.prev_kv).value), 'v1');
    const miss = await txn('nope');
    assert.equal(miss.json.succeeded, undefined, 'false is a default and omitted');
    const rr = obj(obj(arr(miss.json.responses)[0]).response_range);
    assert.equal(unb64(obj(arr(rr.kvs)[0]).value), 'v2');
  });

  it('deleterange, compaction and revision errors', async () => {
    const put = await postJson(`${m.url}/v3/kv/put`, { key: b64('del'), value: b64('x') });
    const rev = Number(obj(put.json.header).revision);
    const del = await postJson(`${m.url}/v3/kv/deleterange`, { key: b64('del'), prev_kv: true });
    assert.equal(del.json.deleted, '1');
    assert.equal(unb64(obj(arr(del.json.prev_kvs)[0]).key), 'del');
    const comp = await postJson(`${m.url}/v3/kv/compaction`, { revision: String(rev), physical: true });
    assert.equal(comp.status, 200, JSON.stringify(comp.json));
    const old = await postJson(`${m.url}/v3/kv/range`, { key: b64('del'), revision: String(rev - 1) });
    assert.equal(old.status, 400);
    assert.deepEqual(old.json, {
      error: 'etcdserver: mvcc: required revision has been compacted',
      code: 11,
      message: 'etcdserver: mvcc: required revision has been compacted',
    });
    const future = await postJson(`${m.url}/v3/kv/range`, { key: b64('del'), revision: '99999' });
    assert.equal(future.json.code, 11);
    assert.match(String(future.json.error), /future revision/);
    const hk = await postJson(`${m.url}/v3/maintenance/hashkv`, { revision: String(rev - 1) });
    assert.equal(hk.json.error, 'etcdserver: mvcc: required revision has been compacted');
    const hkNow = await postJson(`${m.url}/v3/maintenance/hashkv`, { revision: String(rev) });
    assert.equal(hkNow.status, 200);
    assert.equal(hkNow.json.compact_revision, String(rev));
    assert.equal(hkNow.json.hash_revision, String(rev));
  });

  it('alarm activate/deactivate through raft drives /health and /readyz', async () => {
    const id = m.member.memberId.toString();
    const act = await postJson(`${m.url}/v3/maintenance/alarm`, { action: 'ACTIVATE', memberID: id, alarm: 'CORRUPT' });
    assert.equal(act.status, 200, JSON.stringify(act.json));
    assert.deepEqual(act.json.alarms, [{ memberID: id, alarm: 'CORRUPT' }]);
    const again = await postJson(`${m.url}/v3/maintenance/alarm`, { action: 'ACTIVATE', memberID: id, alarm: 'CORRUPT' });
    assert.equal(again.json.alarms, undefined, 'already active: nothing changed');
    const list = await postJson(`${m.url}/v3/maintenance/alarm`, {});
    assert.deepEqual(list.json.alarms, [{ memberID: id, alarm: 'CORRUPT' }]);
    const ready = await fetch(`${m.url}/readyz`);
    assert.equal(ready.status, 503);
    assert.match(await ready.text(), /^\[-\]data_corruption failed: alarm activated: CORRUPT$/m);
    const health = await fetch(`${m.url}/health`);
    assert.equal(health.status, 503);
    assert.deepEqual(JSON.parse(await health.text()), { health: 'false', reason: 'ALARM CORRUPT' });
    const off = await postJson(`${m.url}/v3/maintenance/alarm`, { action: 'DEACTIVATE', memberID: id, alarm: 'CORRUPT' });
    assert.deepEqual(off.json.alarms, [{ memberID: id, alarm: 'CORRUPT' }]);
    assert.equal((await fetch(`${m.url}/readyz`)).status, 200);
    assert.equal((await fetch(`${m.url}/health`)).status, 200);
  });

  it('errors: etcd messages, gRPC codes, grpc-gateway HTTP statuses', async () => {
    const empty = await postJson(`${m.url}/v3/kv/put`, { value: b64('x') });
    assert.equal(empty.status, 400);
    assert.equal(
      JSON.stringify(empty.json),
      '{"error":"etcdserver: key is not provided","message":"etcdserver: key is not provided","code":3}',
      'body and key order as etcd 3.4.23',
    );
    const bad = await fetch(`${m.url}/v3/kv/range`, { method: 'POST', body: '{not json' });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as Json).code, 3);
    const get = await fetch(`${m.url}/v3/kv/range`);
    assert.equal(get.status, 405);
    assert.equal(await get.text(), 'Method Not Allowed\n');
  });

  it('maintenance status and member list keep the camelCase proto names', async () => {
    const st = await postJson(`${m.url}/v3/maintenance/status`, {});
    assert.equal(st.status, 200);
    assert.match(String(st.json.version), /^3\.\d+\.\d+$/);
    assert.equal(st.json.leader, m.member.memberId.toString());
    assert.equal(typeof st.json.dbSize, 'string');
    assert.equal(typeof st.json.raftIndex, 'string');
    assert.equal(typeof st.json.raftTerm, 'string', 'StatusResponse.raftTerm is camelCase in the .proto');
    assert.equal(typeof obj(st.json.header).raft_term, 'string', 'ResponseHeader.raft_term is snake_case');
    const ml = await postJson(`${m.url}/v3/cluster/member/list`, {});
    const [me] = arr(ml.json.members);
    assert.equal(me?.ID, m.member.memberId.toString());
    assert.ok(Array.isArray(me?.peerURLs));
  });

  it('lease grant, timetolive, leases and revoke dispatch to the lease service', async () => {
    const grant = await postJson(`${m.url}/v3/lease/grant`, { TTL: '60' });
    assert.equal(grant.status, 200, JSON.stringify(grant.json));
    const id = String(grant.json.ID);
    assert.match(id, /^\d+$/);
    assert.equal(grant.json.TTL, '60');
    const ttl = await postJson(`${m.url}/v3/lease/timetolive`, { ID: id });
    assert.equal(ttl.json.grantedTTL, '60');
    const leases = await postJson(`${m.url}/v3/lease/leases`, {});
    assert.ok(arr(leases.json.leases).some((l) => l.ID === id));
    const revoke = await postJson(`${m.url}/v3/kv/lease/revoke`, { ID: id });
    assert.equal(revoke.status, 200);
    const gone = await postJson(`${m.url}/v3/lease/revoke`, { ID: id });
    assert.equal(gone.status, 404);
    assert.equal(gone.json.error, 'etcdserver: requested lease not found');
  });

  it('/v3/watch streams newline-delimited {"result": WatchResponse} until the client goes away', async () => {
    const abort = new AbortController();
    const res = await fetch(`${m.url}/v3/watch`, {
      method: 'POST',
      body: JSON.stringify({ create_request: { key: b64('wkey'), prev_kv: true } }),
      signal: abort.signal,
    });
    assert.equal(res.status, 200);
    assert.ok(res.body !== null);
    const reader = res.body.getReader();
    let buf = '';
    const nextLine = async (): Promise<Json> => {
      for (let i = 0; i < 100; i++) {
        const nl = buf.indexOf('\n');
        if (nl >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          return obj(JSON.parse(line));
        }
        const { value, done } = await reader.read();
        assert.ok(!done, 'stream ended early');
        buf += Buffer.from(value).toString('utf8');
      }
      throw new Error('no line');
    };
    try {
      const created = obj((await nextLine()).result);
      assert.equal(created.created, true);
      await postJson(`${m.url}/v3/kv/put`, { key: b64('wkey'), value: b64('one') });
      await postJson(`${m.url}/v3/kv/put`, { key: b64('wkey'), value: b64('two') });
      await postJson(`${m.url}/v3/kv/deleterange`, { key: b64('wkey') });
      const events: Json[] = [];
      while (events.length < 3) events.push(...arr(obj((await nextLine()).result).events));
      assert.deepEqual(events.map((e) => e.type ?? 'PUT'), ['PUT', 'PUT', 'DELETE']);
      assert.equal(unb64(obj(events[0]?.kv).value), 'one');
      assert.equal(unb64(obj(events[1]?.prev_kv).value), 'one');
      assert.equal(unb64(obj(events[2]?.kv).key), 'wkey');
    } finally {
      abort.abort();
      await reader.cancel().catch(() => undefined);
    }
  });

  it('/v3/maintenance/snapshot and /v3/lease/keepalive stream results; bad stream bodies are errors', async () => {
    const snap = await fetch(`${m.url}/v3/maintenance/snapshot`, { method: 'POST', body: '{}' });
    const lines = (await snap.text()).trim().split('\n').map((l) => obj(obj(JSON.parse(l)).result));
    assert.ok(lines.length >= 2);
    assert.equal(lines.at(-1)?.remaining_bytes, undefined, 'the last chunk has 0 remaining (omitted default)');
    const data = Buffer.concat(lines.map((l) => Buffer.from(String(l.blob), 'base64')));
    assert.equal(data.length % 512, 32);

    const grant = await postJson(`${m.url}/v3/lease/grant`, { TTL: '30' });
    const id = String(grant.json.ID);
    const abort = new AbortController();
    const ka = await fetch(`${m.url}/v3/lease/keepalive`, { method: 'POST', body: JSON.stringify({ ID: id }), signal: abort.signal });
    assert.ok(ka.body !== null);
    const reader = ka.body.getReader();
    let text = '';
    for (let i = 0; i < 50 && !text.includes('\n'); i++) text += Buffer.from((await reader.read()).value ?? []).toString('utf8');
    abort.abort();
    await reader.cancel().catch(() => undefined);
    const first = obj(obj(JSON.parse(text.split('\n')[0] ?? '')).result);
    assert.equal(first.ID, id);
    assert.equal(first.TTL, '30');

    const bad = await fetch(`${m.url}/v3/watch`, { method: 'POST', body: '{"create_request":{"key":"eA=="' });
    assert.equal(bad.status, 500);
    assert.deepEqual(await bad.json(), { error: 'unexpected EOF', message: 'unexpected EOF', code: 2 });
  });

  it('/v3beta/ paths are served as /v3/', async () => {
    const r = await postJson(`${m.url}/v3beta/kv/range`, { key: b64('tx') });
    assert.equal(r.status, 200);
    assert.equal(r.json.count, '1');
  });
});
