import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Server, ServiceDefinition, ServiceError, UntypedServiceImplementation } from '@grpc/grpc-js';
import { gateLearnerCalls, supportedForLearner } from '../../pkg/server/learner-gate.js';

type Cb = (err: ServiceError | null, value?: unknown) => void;

/** A stand-in grpc.Server that only records what addService got. */
function fakeServer(): { server: Server; added: UntypedServiceImplementation[] } {
  const added: UntypedServiceImplementation[] = [];
  const server = { addService: (_s: ServiceDefinition, impl: UntypedServiceImplementation) => void added.push(impl) } as unknown as Server;
  return { server, added };
}

const def = (path: string, requestStream: boolean, responseStream: boolean): ServiceDefinition[string] =>
  ({ path, requestStream, responseStream }) as unknown as ServiceDefinition[string];

const SERVICE = {
  range: def('/etcdserverpb.KV/Range', false, false),
  put: def('/etcdserverpb.KV/Put', false, false),
  status: def('/etcdserverpb.Maintenance/Status', false, false),
  memberList: def('/etcdserverpb.Cluster/MemberList', false, false),
  snapshot: def('/etcdserverpb.Maintenance/Snapshot', false, true),
  watch: def('/etcdserverpb.Watch/Watch', true, true),
} as unknown as ServiceDefinition;

describe('learner gate (etcd isRPCSupportedForLearner)', () => {
  it('allows only Status and serializable Range', () => {
    assert.equal(supportedForLearner('/etcdserverpb.Maintenance/Status', {}), true);
    assert.equal(supportedForLearner('/etcdserverpb.KV/Range', { serializable: true }), true);
    assert.equal(supportedForLearner('/etcdserverpb.KV/Range', { serializable: false }), false);
    for (const p of ['/etcdserverpb.KV/Put', '/etcdserverpb.Cluster/MemberList', '/etcdserverpb.Cluster/MemberPromote', '/etcdserverpb.Maintenance/HashKV', '/etcdserverpb.Lease/LeaseGrant']) {
      assert.equal(supportedForLearner(p, { serializable: true }), false, p);
    }
  });

  it('refuses with Unavailable "etcdserver: rpc not supported for learner" only while a learner', async () => {
    let learner = true;
    const { server, added } = fakeServer();
    gateLearnerCalls(server, () => learner);
    const calls: string[] = [];
    const unary = (name: string) => (_call: unknown, cb: Cb) => {
      calls.push(name);
      cb(null, name);
    };
    const stream = (name: string) => () => void calls.push(name);
    server.addService(SERVICE, { range: unary('range'), put: unary('put'), status: unary('status'), memberList: unary('memberList'), snapshot: stream('snapshot'), watch: stream('watch') });
    const impl = added[0] as Record<string, (call: unknown, cb?: Cb) => void>;
    const callUnary = (name: string, request: unknown): Promise<{ err: ServiceError | null; value?: unknown }> =>
      new Promise((res) => impl[name]?.({ request }, (err, value) => res({ err, value })));
    const callStream = (name: string): ServiceError | undefined => {
      const call = new EventEmitter();
      let got: ServiceError | undefined;
      call.on('error', (e: ServiceError) => (got = e));
      impl[name]?.(call);
      return got;
    };

    assert.equal((await callUnary('range', { serializable: true })).value, 'range');
    assert.equal((await callUnary('status', {})).value, 'status');
    for (const [name, req] of [['range', { serializable: false }], ['put', {}], ['memberList', {}]] as const) {
      const { err } = await callUnary(name, req);
      assert.equal(err?.code, 14, name);
      assert.equal(err?.details, 'etcdserver: rpc not supported for learner', name);
    }
    for (const name of ['snapshot', 'watch']) {
      const err = callStream(name);
      assert.equal(err?.code, 14, name);
      assert.equal(err?.details, 'etcdserver: rpc not supported for learner');
    }
    assert.deepEqual(calls, ['range', 'status'], 'refused calls never reach the service');

    learner = false; // promoted
    calls.length = 0;
    assert.equal((await callUnary('put', {})).value, 'put');
    assert.equal((await callUnary('range', { serializable: false })).value, 'range');
    assert.equal(callStream('watch'), undefined);
    assert.deepEqual(calls, ['put', 'range', 'watch']);
  });
});
