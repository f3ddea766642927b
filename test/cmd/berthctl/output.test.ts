/** berthctl's renderings, checked against outputs captured from etcdctl 3.4.23. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { humanBytes, renderTable } from '../../../cmd/berthctl/output/table.js';
import { toJson } from '../../../cmd/berthctl/output/json.js';
import { jsonTxn, simpleDel, simpleGet, simpleKv, simpleTxn } from '../../../cmd/berthctl/output/kv.js';
import { goDuration } from '../../../cmd/berthctl/commands/cluster.js';
import { formatSnapshotStatus } from '../../../cmd/berthctl/commands/snapshot.js';
import { simpleWatch } from '../../../cmd/berthctl/commands/watch.js';
import { Event_EventType, type KeyValue } from '../../../pkg/proto/gen/mvccpb/kv.js';

const kv = (key: string, value: string, rev = 2n): KeyValue => ({
  key: Buffer.from(key), value: Buffer.from(value), createRevision: rev, modRevision: rev, version: 1n, lease: 0n,
});
const header = { clusterId: 1n, memberId: 2n, revision: 3n, raftTerm: 4n };

describe('berthctl output', () => {
  it('tables: upper-case centred headers, right-aligned cells, rules (etcdctl member list -w table)', () => {
    assert.equal(
      renderTable(['ID', 'Status', 'Name', 'Peer Addrs', 'Client Addrs', 'Is Learner'], [['bdae9bbc11dd390d', 'started', 'default', 'http://127.0.0.1:23801', 'http://127.0.0.1:23791', 'false']]),
      '+------------------+---------+---------+------------------------+------------------------+------------+\n' +
        '|        ID        | STATUS  |  NAME   |       PEER ADDRS       |      CLIENT ADDRS      | IS LEARNER |\n' +
        '+------------------+---------+---------+------------------------+------------------------+------------+\n' +
        '| bdae9bbc11dd390d | started | default | http://127.0.0.1:23801 | http://127.0.0.1:23791 |      false |\n' +
        '+------------------+---------+---------+------------------------+------------------------+------------+\n',
    );
  });

  it('sizes like go-humanize (SI units)', () => {
    assert.deepEqual([0, 9, 10, 999, 1000, 1499, 3664, 25_000, 999_999, 1_000_000, 8_589_934_592].map(humanBytes),
      ['0 B', '9 B', '10 B', '999 B', '1.0 kB', '1.5 kB', '3.7 kB', '25 kB', '1000 kB', '1.0 MB', '8.6 GB']);
  });

  it('durations like Go', () => {
    assert.deepEqual([0n, 999n, 1500n, 3_290_853n, 82_000_000n, 1_000_000_000n, 61_500_000_000n].map(goDuration),
      ['0s', '999ns', '1.5µs', '3.290853ms', '82ms', '1s', '1m1.5s']);
  });

  it('JSON: bigints exact, bytes base64, undefined omitted, Go escaping of <>&', () => {
    assert.equal(toJson({ a: 18446744073709551615n, b: Buffer.from('hi'), c: undefined, d: '<&>', e: null, f: [1, true] }),
      '{"a":18446744073709551615,"b":"aGk=","d":"\\u003c\\u0026\\u003e","e":null,"f":[1,true]}');
  });

  it('simple KV: key and value lines, --hex, --print-value-only', () => {
    assert.equal(simpleKv(kv('a', '1'), { hex: false, valueOnly: false }), 'a\n1\n');
    assert.equal(simpleKv(kv('a', '1'), { hex: true, valueOnly: false }), '\\x61\n\\x31\n');
    assert.equal(simpleKv(kv('a', '1'), { hex: false, valueOnly: true }), '1\n');
    assert.equal(simpleGet({ header, kvs: [kv('a', '1'), kv('b', '2')], more: false, count: 2n }, { hex: false, valueOnly: false }), 'a\n1\nb\n2\n');
    assert.equal(simpleDel({ header, deleted: 1n, prevKvs: [kv('a', '1')] }, { hex: false, valueOnly: false }), '1\na\n1\n');
  });

  it('txn: SUCCESS/FAILURE, a blank line before each response; JSON oneofs by Go field name', () => {
    const r = {
      header, succeeded: true,
      responses: [
        { response: { $case: 'responsePut' as const, value: { header: { ...header, clusterId: 0n, memberId: 0n, raftTerm: 0n }, prevKv: undefined } } },
        { response: { $case: 'responseRange' as const, value: { header, kvs: [kv('t', 'v')], more: false, count: 1n } } },
      ],
    };
    assert.equal(simpleTxn(r, { hex: false, valueOnly: false }), 'SUCCESS\n\nOK\n\nt\nv\n');
    assert.match(toJson(jsonTxn(r)), /^\{"header":\{"cluster_id":1,"member_id":2,"revision":3,"raft_term":4\},"succeeded":true,"responses":\[\{"Response":\{"ResponsePut":\{"header":\{"revision":3\}\}\}\},\{"Response":\{"ResponseRange":\{/);
  });

  it('watch events: type, previous kv, kv', () => {
    assert.equal(
      simpleWatch([{ type: Event_EventType.DELETE, kv: { ...kv('w', ''), version: 0n }, prevKv: kv('w', '2') }], { hex: false }),
      'DELETE\nw\n2\nw\n\n',
    );
  });

  it('snapshot status in every format', () => {
    const s = { hash: 0x75ff5013, revision: 6n, totalKey: 19, totalSize: 1088 };
    assert.equal(formatSnapshotStatus(s, 'simple'), '75ff5013, 6, 19, 1.1 kB\n');
    assert.equal(formatSnapshotStatus(s, 'json'), '{"hash":1979666451,"revision":6,"totalKey":19,"totalSize":1088}\n');
    assert.equal(formatSnapshotStatus(s, 'table').split('\n')[1], '|   HASH   | REVISION | TOTAL KEYS | TOTAL SIZE |');
    assert.equal(formatSnapshotStatus(s, 'fields'), '"Hash" : 1979666451\n"Revision" : 6\n"Keys" : 19\n"Size" : 1088\n');
  });
});

describe('fields output', () => {
  it("Go's %q: escapes, \\xNN for control and invalid bytes, UTF-8 kept as its bytes", async () => {
    const { goQuote } = await import('../../../cmd/berthctl/output/fields.js');
    assert.equal(Buffer.from(goQuote(Buffer.from('a"b\\\n\t\x01\x7f')), 'latin1').toString(), '"a\\"b\\\\\\n\\t\\x01\\x7f"');
    assert.equal(Buffer.from(goQuote(Buffer.from('vé')), 'latin1').toString('utf8'), '"vé"');
    assert.equal(goQuote(Uint8Array.of(0xff, 0x41)), '"\\xffA"');
  });
});
