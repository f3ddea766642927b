import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Registry } from 'prom-client';
import { tally } from '../../pkg/metrics/index.js';

async function values(c: Counter<string>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await c.get()).values) out[JSON.stringify(v.labels)] = v.value;
  return out;
}

test('increments reach the counter when it is read, per label set, summed over tallies', async () => {
  const registry = new Registry();
  const c = new Counter({ name: 't_requests_total', help: 'h', labelNames: ['method', 'code'], registers: [registry] });
  const put = tally(c, { method: 'Put', code: 'OK' });
  const put2 = tally(c, { method: 'Put', code: 'OK' });
  const range = tally(c, { method: 'Range', code: 'OK' });
  put.inc();
  put.inc();
  put2.inc(3);
  range.inc();
  assert.deepEqual(await values(c), { '{"method":"Put","code":"OK"}': 5, '{"method":"Range","code":"OK"}': 1 });
  put.inc();
  assert.match(await registry.metrics(), /^t_requests_total\{method="Put",code="OK"\} 6$/m);
  // Nothing is counted twice: a read without new increments sees the same values.
  assert.deepEqual(await values(c), { '{"method":"Put","code":"OK"}': 6, '{"method":"Range","code":"OK"}': 1 });
});

test('a tally of an unlabelled counter, and direct inc() calls alongside it', async () => {
  const c = new Counter({ name: 't_bytes_total', help: 'h', registers: [] });
  const t = tally(c);
  t.inc(100);
  c.inc(5);
  t.inc(20);
  assert.deepEqual(await values(c), { '{}': 125 });
});

test('the series exists from the tally on (value 0), and bad labels fail when the tally is made', async () => {
  const c = new Counter({ name: 't_started_total', help: 'h', labelNames: ['method'], registers: [] });
  tally(c, { method: 'Txn' });
  assert.deepEqual(await values(c), { '{"method":"Txn"}': 0 });
  assert.throws(() => tally(c, { nope: 'x' } as never), /label/i);
});

test("a counter's own collect hook still runs", async () => {
  let collected = 0;
  const c = new Counter({
    name: 't_hooked_total',
    help: 'h',
    registers: [],
    collect() {
      collected++;
    },
  });
  const t = tally(c);
  t.inc(2);
  assert.deepEqual(await values(c), { '{}': 2 });
  assert.equal(collected, 1);
});
