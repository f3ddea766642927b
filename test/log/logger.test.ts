import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { componentLogger, createLogger } from '../../pkg/log/index.js';

function capture(level: 'debug' | 'info' | 'warn' | 'error' | 'panic' | 'fatal') {
  const lines: string[] = [];
  const r = createLogger({ level, outputs: [], destination: { write: (s: string) => void lines.push(s) } });
  assert.ok(r.ok);
  return { logger: r.logger, records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

test('lines are JSON with zap-style level, ts and msg; no pid/hostname', () => {
  const { logger, records } = capture('info');
  logger.info({ key: 'v' }, 'hello');
  const [rec] = records();
  assert.ok(rec);
  assert.equal(rec['level'], 'info');
  assert.equal(rec['msg'], 'hello');
  assert.equal(rec['key'], 'v');
  assert.match(String(rec['ts']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.ok(!('pid' in rec) && !('hostname' in rec));
});

test('child loggers carry their component', () => {
  const { logger, records } = capture('debug');
  componentLogger(logger, 'raft').debug('tick');
  assert.equal(records()[0]?.['component'], 'raft');
});

test('the level filters lower levels; panic logs as fatal only', () => {
  const { logger, records } = capture('warn');
  logger.info('dropped');
  logger.warn('kept');
  assert.deepEqual(records().map((r) => r['msg']), ['kept']);
  const p = capture('panic');
  p.logger.error('dropped');
  p.logger.fatal('kept');
  assert.deepEqual(p.records().map((r) => r['level']), ['fatal']);
});

const dir = mkdtempSync(join(tmpdir(), 'berth-log-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('file outputs are created (with parent dirs) and written synchronously; several outputs all get lines', () => {
  const a = join(dir, 'sub', 'a.log');
  const b = join(dir, 'b.log');
  const r = createLogger({ level: 'info', outputs: [a, b] });
  assert.ok(r.ok);
  r.logger.info('to files');
  for (const p of [a, b]) assert.match(readFileSync(p, 'utf8'), /"msg":"to files"/);
});

test('an output that cannot be opened is an error value', () => {
  const notADir = join(dir, 'plain-file');
  writeFileSync(notADir, '');
  const bad = join(notADir, 'x.log');
  const r = createLogger({ level: 'info', outputs: [bad] });
  assert.ok(!r.ok);
  assert.equal(r.output, bad);
  assert.match(r.message, /^E[A-Z]+$/);
});
