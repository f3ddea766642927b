import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatGoDuration, parseGoBool, parseGoDuration, parseGoInt } from '../../pkg/config/go-values.js';

const value = <T>(r: { ok: true; value: T } | { ok: false; reason: string }): T | string => (r.ok ? r.value : `ERR ${r.reason}`);

test('durations parse like Go time.ParseDuration (in ms)', () => {
  const cases: Array<[string, number]> = [
    ['0', 0],
    ['5s', 5000],
    ['100ms', 100],
    ['1m30s', 90_000],
    ['2h', 7_200_000],
    ['1.5s', 1500],
    ['500us', 0.5],
    ['1000ns', 0.001],
    ['-1s', -1000],
    ['1h2m3s4ms', 3_723_004],
  ];
  for (const [s, ms] of cases) assert.equal(value(parseGoDuration(s)), ms, s);
  for (const bad of ['', '5', 's', '1d', '1.s.', '1 s', 'abc', '.s']) assert.ok(!parseGoDuration(bad).ok, bad);
});

test('integers parse like Go strconv with base prefixes', () => {
  assert.equal(value(parseGoInt('128', { unsigned: true })), 128);
  assert.equal(value(parseGoInt('0x10', { unsigned: true })), 16);
  assert.equal(value(parseGoInt('010', { unsigned: true })), 8);
  assert.equal(value(parseGoInt('1_000', { unsigned: true })), 1000);
  assert.equal(value(parseGoInt('-5', { unsigned: false })), -5);
  for (const bad of ['', '-1', '1.5', '1e3', '_1', '0x', 'ten', '08']) {
    assert.ok(!parseGoInt(bad, { unsigned: true }).ok, bad);
  }
});

test('bools accept Go strconv.ParseBool spellings only', () => {
  for (const t of ['1', 't', 'T', 'true', 'TRUE', 'True']) assert.equal(value(parseGoBool(t)), true);
  for (const f of ['0', 'f', 'F', 'false', 'FALSE', 'False']) assert.equal(value(parseGoBool(f)), false);
  for (const bad of ['yes', 'on', '', 'tRUE']) assert.ok(!parseGoBool(bad).ok);
});

test('durations print like Go', () => {
  assert.equal(formatGoDuration(0), '0s');
  assert.equal(formatGoDuration(100), '100ms');
  assert.equal(formatGoDuration(5000), '5s');
  assert.equal(formatGoDuration(60_000), '1m0s');
  assert.equal(formatGoDuration(7_200_000), '2h0m0s');
});
