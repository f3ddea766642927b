/**
 * berthctl's argument handling, in-process and without a server: flag syntax and its errors, etcdctl's
 * per-command argument rules (message and exit code), txn's stdin grammar.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { runBerthctl } from '../../../cmd/berthctl/cli.js';
import { FlagError, parseDuration, parseFlags, type FlagSpec } from '../../../cmd/berthctl/flags.js';
import { argify, parseCompare, parseOp } from '../../../cmd/berthctl/commands/txn.js';
import { keyRange, prefixEnd } from '../../../cmd/berthctl/commands/kv.js';
import { Compare_CompareResult, Compare_CompareTarget } from '../../../pkg/proto/gen/etcdserverpb/rpc.js';

async function run(argv: string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runBerthctl({
    argv,
    env: {},
    stdout: { write: (s: string | Uint8Array) => (stdout += typeof s === 'string' ? s : Buffer.from(s).toString('latin1')) },
    stderr: { write: (s: string) => (stderr += s) },
    stdin: Readable.from([Buffer.from(stdin)]),
  });
  return { code, stdout, stderr };
}

const SPECS: FlagSpec[] = [
  { name: 'prefix', kind: 'bool', def: 'false', help: '' },
  { name: 'limit', kind: 'int', def: '0', help: '' },
  { name: 'write-out', short: 'w', kind: 'string', def: 'simple', help: '' },
  { name: 'dial-timeout', kind: 'duration', def: '2s', help: '' },
  { name: 'endpoints', kind: 'strings', def: '127.0.0.1:2379', env: 'ETCDCTL_ENDPOINTS', help: '' },
];

describe('berthctl flags', () => {
  it('accepts pflag forms, mixes flags and arguments, -- ends flags, env fills defaults', () => {
    const p = parseFlags(['k', '--prefix', '--limit=3', '-w', 'json', '--dial-timeout', '1m30s', '--', '--not-a-flag'], SPECS, { ETCDCTL_ENDPOINTS: 'a:1,b:2' });
    assert.deepEqual(p.args, ['k', '--not-a-flag']);
    assert.equal(p.values.get('prefix'), true);
    assert.equal(p.values.get('limit'), 3n);
    assert.equal(p.values.get('write-out'), 'json');
    assert.equal(p.values.get('dial-timeout'), 90_000);
    assert.deepEqual(p.values.get('endpoints'), ['a:1', 'b:2']);
    assert.equal(parseFlags(['--prefix=false'], SPECS).values.get('prefix'), false);
  });

  it('rejects unknown flags, missing values and bad values with pflag messages', () => {
    assert.throws(() => parseFlags(['--nope'], SPECS), new FlagError('unknown flag: --nope'));
    assert.throws(() => parseFlags(['-x'], SPECS), new FlagError("unknown shorthand flag: 'x' in -x"));
    assert.throws(() => parseFlags(['--limit'], SPECS), new FlagError('flag needs an argument: --limit'));
    assert.throws(() => parseFlags(['--limit', 'ten'], SPECS), /invalid argument "ten" for "--limit" flag: strconv.ParseInt/);
    assert.throws(() => parseFlags(['--prefix=maybe'], SPECS), /strconv.ParseBool/);
    assert.throws(() => parseFlags(['--dial-timeout', '5'], SPECS), /time: invalid duration "5"/);
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('1h'), 3_600_000);
  });

  it('prefix and from-key ranges follow clientv3', () => {
    assert.deepEqual([...prefixEnd(Buffer.from('ab'))], [0x61, 0x63]);
    assert.deepEqual([...prefixEnd(Uint8Array.of(0x61, 0xff))], [0x62]);
    assert.deepEqual([...prefixEnd(Uint8Array.of(0xff, 0xff))], [0]);
    assert.deepEqual(keyRange('', undefined, true, false), { key: Uint8Array.of(0), rangeEnd: Uint8Array.of(0) });
    assert.deepEqual(keyRange('', undefined, false, true), { key: Uint8Array.of(0), rangeEnd: Uint8Array.of(0) });
  });
});

describe('berthctl command errors (no server needed)', () => {
  const cases: [string[], number, string][] = [
    [['get'], 128, 'Error: get command needs one argument as key and an optional argument as range_end\n'],
    [['get', 'a', '--prefix', '--from-key'], 128, 'Error: `--prefix` and `--from-key` cannot be set at the same time, choose one\n'],
    [['get', 'a', '--sort-by', 'X'], 4, 'Error: bad sort target X\n'],
    [['put'], 128, 'Error: put command needs 1 argument and input from stdin or 2 arguments\n'],
    [['put', 'k', 'v', '--lease', 'xyz'], 128, 'Error: bad lease ID (strconv.ParseInt: parsing "xyz": invalid syntax), expecting ID in Hex\n'],
    [['del'], 128, 'Error: del command needs one argument as key and an optional argument as range_end\n'],
    [['lease', 'grant', 'abc'], 128, 'Error: bad TTL (strconv.ParseInt: parsing "abc": invalid syntax)\n'],
    [['lease', 'revoke', 'zz'], 128, 'Error: bad lease ID arg (strconv.ParseInt: parsing "zz": invalid syntax), expecting ID in Hex\n'],
    [['snapshot', 'save'], 128, 'Error: snapshot save expects one argument\n'],
    [['--endpoints', 'a:1,b:2', 'snapshot', 'save', 'f.db'], 5, 'Error: snapshot must be requested to one selected node, not multiple [a:1 b:2]\n'],
    [['snapshot', 'status'], 128, 'Error: snapshot status requires exactly one argument\n'],
    [['snapshot', 'restore', 'f.db', '--mark-compacted'], 128, 'Error: --mark-compacted requires --bump-revision\n'],
    [['snapshot', 'restore', 'f.db', '--bump-revision', '-1'], 128, 'Error: --bump-revision must be non-negative\n'],
    [['snapshot', 'status', '/nonexistent/f.db'], 1, "Error: ENOENT: no such file or directory, open '/nonexistent/f.db'\n"],
    [['get', 'a', '--nope'], 1, 'Error: unknown flag: --nope\n'],
    [['frobnicate'], 1, 'Error: unknown command "frobnicate" for "berthctl"\n'],
    [['lease'], 1, 'Error: lease needs a subcommand\n'],
    [['get', 'a', '-w', 'yaml'], 128, 'Error: unknown output format "yaml" (use simple, json, table or fields)\n'],
    [['txn', 'x'], 128, 'Error: txn command does not accept argument\n'],
  ];
  for (const [argv, code, stderr] of cases) {
    it(argv.join(' '), async () => {
      const r = await run(argv);
      assert.deepEqual({ code: r.code, stderr: r.stderr, stdout: r.stdout }, { code, stderr, stdout: '' });
    });
  }

  it('a server that cannot be reached is "context deadline exceeded", exit 2', async () => {
    const r = await run(['--endpoints', '127.0.0.1:1', '--dial-timeout', '300ms', 'get', 'a']);
    assert.deepEqual(r, { code: 2, stdout: '', stderr: 'Error: context deadline exceeded\n' });
  });

  it('version', async () => {
    assert.match((await run(['version'])).stdout, /^berthctl version: \d+\.\d+\.\d+\nAPI version: 3\.4\n$/);
  });
});

describe('txn grammar', () => {
  it('argify splits like etcdctl: Go double quotes with escapes, single quotes', () => {
    assert.deepEqual(argify(`put k "a \\"b\\" c\\n"`), ['put', 'k', 'a "b" c\n']);
    assert.deepEqual(argify(`put k 'x y'`), ['put', 'k', 'x y']);
  });

  it('compares: every target, the four operators, etcdctl messages for bad lines', () => {
    const c = parseCompare('mod("key1") > "0"');
    assert.equal(c.target, Compare_CompareTarget.MOD);
    assert.equal(c.result, Compare_CompareResult.GREATER);
    assert.deepEqual(c.targetUnion, { $case: 'modRevision', value: 0n });
    assert.deepEqual(parseCompare('val("k") != "v"').targetUnion, { $case: 'value', value: Buffer.from('v') });
    assert.equal(parseCompare('ver("k") < "3"').result, Compare_CompareResult.LESS);
    assert.deepEqual(parseCompare('lease("k") = "1f"').targetUnion, { $case: 'lease', value: 31n });
    assert.deepEqual(parseCompare('c("k") = "2"').targetUnion, { $case: 'createRevision', value: 2n });
    assert.throws(() => parseCompare('mod k'), { message: 'malformed comparison: mod k' });
    assert.throws(() => parseCompare('foo("k") = "0"'), /unknown target foo/);
    assert.throws(() => parseCompare('mod("k") = "x"'), /invalid txn compare request/);
  });

  it('ops: get/put/del lines with flags', () => {
    const op = parseOp('get a --prefix --limit 2');
    assert.equal(op.request?.$case, 'requestRange');
    assert.equal(op.request?.$case === 'requestRange' ? op.request.value.limit : 0n, 2n);
    assert.equal(parseOp('put k "v v"').request?.$case, 'requestPut');
    assert.throws(() => parseOp('frob k v'), /invalid txn request: frob k v/);
  });
});
