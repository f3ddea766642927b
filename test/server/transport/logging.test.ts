import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, componentLogger } from '../../../pkg/log/index.js';
import { newMessage } from '../../../pkg/raft/index.js';
import { CLUSTER, Recorder, startNode, waitFor } from './harness.js';

test('a pino logger from pkg/log plugs in: the mismatch is one JSON line with both cluster IDs', async (t) => {
  const lines: Record<string, unknown>[] = [];
  const sink = new Recorder();
  const created = createLogger({
    level: 'info',
    outputs: [],
    destination: {
      write: (s: string) => {
        lines.push(JSON.parse(s) as Record<string, unknown>);
        sink.changed();
      },
    },
  });
  assert.ok(created.ok);
  const a = await startNode({ id: 1n, logger: componentLogger(created.logger, 'transport') });
  const b = await startNode({ id: 2n, clusterId: 0xfeedn });
  t.after(async () => {
    await a.close();
    await b.close();
  });
  a.transport.setPeers(new Map([[2n, [b.url]]]));
  a.transport.send([newMessage({ type: 'heartbeat', from: 1n, to: 2n })]);
  await waitFor([sink], () => lines.some((l) => l['msg'] === 'peer cluster ID mismatch'), 'mismatch line');
  const line = lines.find((l) => l['msg'] === 'peer cluster ID mismatch');
  assert.equal(line?.['level'], 'error');
  assert.equal(line?.['component'], 'transport');
  assert.equal(line?.['local-cluster-id'], CLUSTER.toString(16));
  assert.equal(line?.['remote-cluster-id'], 'feed');
  assert.equal(line?.['remote-peer-id'], '2');
  assert.equal(b.rec.messages.length, 0);
});
