/**
 * etcd_debugging_mvcc_keys_total's tracker (pkg/server/api/key-count.ts) over a fake member context:
 * a count the store fails under (a snapshot install closing the engine while the starting count
 * runs) is a warning, not a process crash, and the next count sets the gauge.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { Gauge, Registry } from 'prom-client';
import { trackKeyCount } from '../../../pkg/server/api/key-count.js';
import type { MemberContext } from '../../../pkg/server/context.js';
import { createLogger } from '../../../pkg/log/index.js';
import { EngineError } from '../../../pkg/storage/engine/errors.js';

test('a count the closing store throws under is logged, and the count after the snapshot install sets the gauge', async () => {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  const made = createLogger({ level: 'warn', outputs: [], destination });
  assert.ok(made.ok);
  let installed: (() => Promise<void> | void) | undefined;
  let calls = 0;
  const ctx = {
    logger: made.logger,
    mvcc: {
      range: async () => {
        calls++;
        if (calls === 1) throw new EngineError('closed');
        return { ok: true, value: { header: { revision: 9n }, count: 5n } };
      },
    },
    onEvents: () => {},
    onSnapshotInstalled: (fn: () => Promise<void> | void) => (installed = fn),
  } as unknown as MemberContext;
  const gauge = new Gauge({ name: 'keys_total_test', help: 'test', registers: [new Registry()] });
  trackKeyCount(ctx, gauge);
  await until(() => lines.some((l) => l.includes('could not count keys')));
  assert.match(lines.join(''), /engine: database is closed/);
  assert.ok(installed !== undefined);
  await installed();
  assert.equal((await gauge.get()).values[0]?.value, 5);
});

async function until(cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail('condition not reached within 5 s');
    await new Promise((r) => setImmediate(r));
  }
}
