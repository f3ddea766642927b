import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countTxn } from '../../../pkg/server/apply/op-counts.js';
import type { TxnRequest, TxnResponse } from '../../../pkg/storage/mvcc/index.js';

const key = new Uint8Array([1]);
const header = { revision: 1n };
const cmp = { key, result: 0, target: 0 } as unknown as NonNullable<TxnRequest['compare']>[number];

function counted(req: TxnRequest, res: TxnResponse): [number, number, number][] {
  const calls: [number, number, number][] = [];
  countTxn(req, res, (r, p, d) => calls.push([r, p, d]));
  return calls;
}

test('a write txn: compares in a read transaction, then the chosen branch in a write transaction', () => {
  const req: TxnRequest = { compare: [cmp, cmp], success: [{ requestPut: { key } }, { requestRange: { key } }], failure: [{ requestDeleteRange: { key } }] };
  const res = { header, succeeded: true, responses: [{ responsePut: { header } }, { responseRange: { header, kvs: [], more: false, count: 0n } }] } as unknown as TxnResponse;
  assert.deepEqual(counted(req, res), [
    [2, 0, 0],
    [1, 1, 0],
  ]);
});

test('nested txns on the executed path add their compares and ops; the failure branch counts when taken', () => {
  const inner: TxnRequest = { compare: [cmp], success: [{ requestDeleteRange: { key } }], failure: [{ requestPut: { key } }] };
  const req: TxnRequest = { compare: [cmp], success: [], failure: [{ requestTxn: inner }, { requestPut: { key } }] };
  const res = {
    header,
    succeeded: false,
    responses: [{ responseTxn: { header, succeeded: false, responses: [{ responsePut: { header } }] } }, { responsePut: { header } }],
  } as unknown as TxnResponse;
  assert.deepEqual(counted(req, res), [
    [2, 0, 0],
    [0, 2, 0],
  ]);
});

test('a read-only txn is one read transaction: compares and ranges together', () => {
  const req: TxnRequest = { compare: [cmp], success: [{ requestRange: { key } }], failure: [] };
  const res = { header, succeeded: true, responses: [{ responseRange: { header, kvs: [], more: false, count: 0n } }] } as unknown as TxnResponse;
  assert.deepEqual(counted(req, res), [[2, 0, 0]]);
});
