/**
 * parseSummary reads the summary etcd's benchmark tool prints (pkg/report: `--precise`, Go's %v of a
 * float64). The tool leaves out every percentile whose value is 0, which watch-latency produces when
 * events reach the watchers before the put's response reaches the putter.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSummary } from '../../e2e/bench/tool.js';

function summary(o: { fastest: string; slowest: string; pcts: readonly [string, string][] }): string {
  return [
    '',
    'Summary:',
    '  Total:\t2.0123 secs.',
    `  Slowest:\t${o.slowest} secs.`,
    `  Fastest:\t${o.fastest} secs.`,
    '  Average:\t0.0015 secs.',
    '  Stddev:\t0.0007 secs.',
    '  Requests/sec:\t99.5',
    '',
    'Latency distribution:',
    ...o.pcts.map(([p, v]) => `  ${p}% in ${v} secs.`),
    '',
  ].join('\n');
}

const all: [string, string][] = [
  ['10', '0.0004'],
  ['25', '0.0008'],
  ['50', '0.0012'],
  ['75', '0.0019'],
  ['90', '0.0025'],
  ['95', '0.0031'],
  ['99', '0.0042'],
  ['99.9', '5e-03'],
];

test('every field of a complete summary, including the exponent form', () => {
  const s = parseSummary(summary({ fastest: '0.0001', slowest: '0.0051', pcts: all }));
  assert.deepEqual(s, { requestsPerSec: 99.5, totalSec: 2.0123, p50Ms: 1.2, p99Ms: 4.2, avgMs: 1.5 });
});

test('a percentile left out below a printed one is 0 (events before the put response)', () => {
  const s = parseSummary(summary({ fastest: '0', slowest: '0.0051', pcts: all.slice(3) }));
  assert.equal(s?.p50Ms, 0);
  assert.equal(s?.p99Ms, 4.2);
});

test('every percentile left out and every sample 0: all 0', () => {
  const s = parseSummary(summary({ fastest: '0', slowest: '0', pcts: [] }));
  assert.equal(s?.p50Ms, 0);
  assert.equal(s?.p99Ms, 0);
});

test('a top percentile left out for want of samples is unknown (NaN), not 0', () => {
  const s = parseSummary(summary({ fastest: '0.0001', slowest: '0.0031', pcts: all.slice(0, 6) }));
  assert.equal(s?.p50Ms, 1.2);
  assert.ok(Number.isNaN(s?.p99Ms));
});

test('the section given selects the second summary; no such section, or no summary, is undefined', () => {
  const put = summary({ fastest: '0.0001', slowest: '0.0051', pcts: all });
  const watch = summary({ fastest: '0', slowest: '0.0051', pcts: all.slice(4) });
  const out = `\nPut summary:\n${put}\nWatch events summary:\n${watch}`;
  assert.equal(parseSummary(out, 'Watch events summary:')?.p50Ms, 0);
  assert.equal(parseSummary(out, 'Put summary:')?.p50Ms, 1.2);
  assert.equal(parseSummary(out, 'Lease summary:'), undefined);
  assert.equal(parseSummary('\nPut summary:\n'), undefined);
});
