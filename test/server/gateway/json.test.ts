import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { toProtoNames } from '../../../pkg/server/gateway/json-names.js';
import { JsonValueSplitter } from '../../../pkg/server/gateway/stream.js';
import { httpStatusOf } from '../../../pkg/server/gateway/handler.js';
import { RangeResponse, StatusResponse, TxnResponse } from '../../../pkg/proto/gen/etcdserverpb/rpc.js';

describe('gateway JSON naming (grpc-gateway v1, OrigName)', () => {
  it('renames snake_case proto fields, keeps camelCase proto fields', () => {
    const range = RangeResponse.toJSON({
      header: { clusterId: 1n, memberId: 2n, revision: 3n, raftTerm: 4n },
      kvs: [{ key: Buffer.from('k'), createRevision: 2n, modRevision: 3n, version: 1n, value: Buffer.from('v'), lease: 0n }],
      more: false,
      count: 1n,
    });
    assert.deepEqual(toProtoNames(range), {
      header: { cluster_id: '1', member_id: '2', revision: '3', raft_term: '4' },
      kvs: [{ key: 'aw==', create_revision: '2', mod_revision: '3', version: '1', value: 'dg==' }],
      count: '1',
    });
  });

  it('StatusResponse.raftTerm stays camelCase while its header uses raft_term', () => {
    const st = StatusResponse.fromPartial({ header: { raftTerm: 5n }, raftTerm: 5n, dbSize: 10n, raftAppliedIndex: 7n });
    assert.deepEqual(toProtoNames(StatusResponse.toJSON(st)), { header: { raft_term: '5' }, raftTerm: '5', dbSize: '10', raftAppliedIndex: '7' });
  });

  it('oneof cases of a txn response use the proto names', () => {
    const t = TxnResponse.fromPartial({ succeeded: true, responses: [{ response: { $case: 'responsePut', value: { prevKv: { key: Buffer.from('a') } } } }] });
    assert.deepEqual(toProtoNames(TxnResponse.toJSON(t)), { succeeded: true, responses: [{ response_put: { prev_kv: { key: 'YQ==' } } }] });
  });

  it('maps gRPC codes to grpc-gateway v1 HTTP statuses', () => {
    assert.deepEqual([3, 5, 8, 9, 11, 12, 14, 13, 7, 16].map(httpStatusOf), [400, 404, 429, 400, 400, 501, 503, 500, 403, 401]);
  });
});

describe('JsonValueSplitter', () => {
  it('splits concatenated and newline-separated values, across chunk boundaries and with braces in strings', () => {
    const s = new JsonValueSplitter();
    assert.deepEqual(s.push('{"a":1}{"b":"}{\\"'), { values: [{ a: 1 }] });
    assert.deepEqual(s.push('"}\n {"c":[1,{"d":2}]}\n'), { values: [{ b: '}{"' }, { c: [1, { d: 2 }] }] });
    assert.equal(s.end(), undefined);
    assert.deepEqual(s.push('{"x":'), { values: [] });
    assert.equal(s.end(), 'unexpected EOF');
  });

  it('rejects garbage between values', () => {
    assert.ok('error' in new JsonValueSplitter().push('{"a":1} xx'));
  });
});
