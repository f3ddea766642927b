/** The gRPC Watch service over a hub: stream lifecycle and hasleader, on a loopback grpc-js server. */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { WatchClient, type WatchRequest, type WatchResponse } from '../../../pkg/proto/gen/etcdserverpb/rpc.js';
import { watchService, WatchWireService } from '../../../pkg/server/api/watch.js';
import { LeaderWatch } from '../../../pkg/server/watch/index.js';
import { b, openHub, type HubFixture } from './helpers.js';

type Call = grpc.ClientDuplexStream<WatchRequest, WatchResponse>;

function nextEvent<T>(call: Call, event: 'data' | 'error'): Promise<T> {
  return new Promise((resolve) => call.once(event, resolve));
}

/** Waits (bounded) for a condition that changes on another I/O turn. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cond(), `timed out waiting for ${what}`);
}

function create(call: Call, key: string): void {
  call.write({
    requestUnion: {
      $case: 'createRequest',
      value: { key: b(key), rangeEnd: new Uint8Array(), startRevision: 0n, progressNotify: false, filters: [], prevKv: false, watchId: 0n, fragment: false },
    },
  });
}

describe('Watch gRPC service', () => {
  let h: HubFixture;
  let leader: LeaderWatch;
  let server: grpc.Server;
  let client: InstanceType<typeof WatchClient>;

  beforeEach(async () => {
    h = await openHub();
    leader = new LeaderWatch(1n, 150);
    server = new grpc.Server();
    server.addService(WatchWireService, watchService({ hub: h.hub, leader }));
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e !== null ? reject(e) : resolve(p))),
    );
    client = new WatchClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });

  afterEach(async () => {
    client.close();
    server.forceShutdown();
    leader.stop();
    await h.close();
  });

  it('streams created responses and events; a client cancel removes the stream and its watchers', async () => {
    const call = client.watch();
    create(call, 'k');
    const created = await nextEvent<WatchResponse>(call, 'data');
    assert.equal(created.created, true);
    const rev = await h.put('k', 'v');
    const ev = await nextEvent<WatchResponse>(call, 'data');
    assert.equal(ev.events[0]?.kv?.modRevision, rev);
    assert.equal(h.hub.stats().synced, 1);
    call.on('error', () => {});
    call.cancel();
    await until(() => h.hub.stats().streams === 0 && h.hub.stats().synced === 0, 'the stream to be dropped');
  });

  it('hasleader=true: refused with Unavailable "etcdserver: no leader" when there is none', async () => {
    leader.update(0n);
    const md = new grpc.Metadata();
    md.set('hasleader', 'true');
    const call = client.watch(md);
    call.on('data', () => {});
    const err = await nextEvent<grpc.ServiceError>(call, 'error');
    assert.equal(err.code, grpc.status.UNAVAILABLE);
    assert.equal(err.details, 'etcdserver: no leader');
  });

  it('hasleader=true streams are canceled after the leader is gone for the timeout; others stay', async () => {
    const md = new grpc.Metadata();
    md.set('hasleader', 'true');
    const strict = client.watch(md);
    const relaxed = client.watch();
    create(strict, 'a');
    create(relaxed, 'a');
    await Promise.all([nextEvent(strict, 'data'), nextEvent(relaxed, 'data')]);
    const lost = Date.now();
    leader.update(0n);
    const err = await nextEvent<grpc.ServiceError>(strict, 'error');
    assert.ok(Date.now() - lost >= 100, 'not before the timeout');
    assert.equal(err.code, grpc.status.UNAVAILABLE);
    assert.equal(err.details, 'etcdserver: no leader');
    create(relaxed, 'b');
    const ok = await nextEvent<WatchResponse>(relaxed, 'data');
    assert.equal(ok.created, true, 'the stream without hasleader is still served');
    relaxed.on('error', () => {});
    relaxed.cancel();
  });
});
