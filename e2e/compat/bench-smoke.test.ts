/**
 * Keeps `npm run bench` working between full runs: the benchmark in smoke mode (short sizes, both
 * servers, every scenario, 1 and 3 members, bulk load and restart) must finish and produce numbers for
 * etcd and for berth in every row. No thresholds: the CI machines are shared and noisy, and
 * performance is judged from full runs (docs/benchmarks.md), not here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Results } from '../bench/results.js';

const here = dirname(fileURLToPath(import.meta.url));

function runner(): string[] {
  const js = resolve(here, '../bench/run.js');
  return existsSync(js) ? [js] : ['--import', 'tsx', resolve(here, '../bench/run.ts')];
}

test('npm run bench -- --smoke measures every scenario on etcd and berth', { timeout: 20 * 60_000 }, async () => {
  const out = mkdtempSync(join(tmpdir(), 'berth-bench-smoke-test-'));
  try {
    const child = spawn(process.execPath, [...runner(), '--smoke', `--out-dir=${out}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    const bound = setTimeout(() => child.kill('SIGKILL'), 18 * 60_000); // includes building the Go tool once
    const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    clearTimeout(bound);
    assert.equal(code, 0, log.slice(-4000));

    const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results;
    assert.equal(res.mode, 'smoke');
    assert.equal(res.etcdSource, 'Debian `etcd-server`', 'smoke runs compare with the packaged etcd (no Go build of etcd in CI)');
    assert.deepEqual(res.notes.filter((n) => /failed/.test(n)), [], 'no step of the run failed');
    const groups = new Set(res.rows.map((r) => r.group));
    assert.deepEqual([...groups].sort(), ['cluster3', 'kube', 'kv', 'memory']);
    for (const row of res.rows) {
      for (const flavor of ['etcd', 'berth'] as const) {
        const m = row.results[flavor];
        assert.ok(m !== undefined, `${row.id}: no ${flavor} result`);
        assert.equal(m.error, undefined, `${row.id} on ${flavor}: ${m.error ?? ''}`);
        const measured = row.unit !== undefined ? m.value : m.rps;
        assert.ok(measured !== undefined && Number.isFinite(measured) && measured > 0, `${row.id} on ${flavor}: ${JSON.stringify(m)}`);
      }
    }
    const md = readFileSync(join(out, 'benchmarks.md'), 'utf8');
    for (const row of res.rows) assert.ok(md.includes(row.label), `the table has the row "${row.label}"`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
