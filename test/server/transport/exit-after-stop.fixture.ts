/**
 * Child process for lifecycle.test.ts: leaves every kind of pending work behind (an open stream, a
 * peer in reconnect backoff, a refused peer waiting for its slow retry, a snapshot upload stuck on
 * its source, an incoming Send stream), then stops the transports and shuts the servers down. It
 * must exit by itself; a leaked handle keeps it alive and the parent's timeout catches that.
 */
import { newMessage } from '../../../pkg/raft/index.js';
import { bindServer, startNode, waitFor } from './harness.js';

const never = new Promise<void>(() => undefined);
const a = await startNode({
  id: 1n,
  limits: { refusedRetryMs: 120_000, backoffBaseMs: 60_000, backoffMaxMs: 120_000 },
  snapshotSource: () =>
    (async function* () {
      yield new Uint8Array(1024);
      await never;
    })(),
});
const b = await startNode({ id: 2n });
const foreign = await startNode({ id: 4n, clusterId: 77n });
const probe = await bindServer();
probe.shutdown();
const all = new Map([
  [1n, [a.url]],
  [2n, [b.url]],
  [3n, [`http://127.0.0.1:${probe.port}`]],
  [4n, [foreign.url]],
]);
a.transport.setPeers(all);
b.transport.setPeers(all);
a.transport.send([newMessage({ type: 'heartbeat', from: 1n, to: 2n }), newMessage({ type: 'heartbeat', from: 1n, to: 3n }), newMessage({ type: 'heartbeat', from: 1n, to: 4n })]);
await waitFor(
  [a.rec, b.rec],
  () =>
    b.rec.messages.length === 1 &&
    a.transport.peerStatus(3n)?.state === 'inactive' &&
    a.transport.peerStatus(4n)?.state === 'refused' &&
    b.transport.peerStatus(1n)?.state === 'active',
  'everything pending',
);
a.transport.send([
  newMessage({
    type: 'snap',
    from: 1n,
    to: 2n,
    snapshot: { data: new Uint8Array(), metadata: { index: 5, term: 1, confState: { voters: [1n, 2n], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } } },
  }),
]);
await waitFor([a.rec], () => a.transport.peerStatus(2n)?.snapshotInFlight === true, 'upload in flight');
await Promise.all([a.close(), b.close(), foreign.close()]);
// The stuck upload was cancelled by stop(), so it was never reported (no callbacks after stop).
process.stdout.write(`stopped ${a.rec.snapshotStatus.length}\n`);
