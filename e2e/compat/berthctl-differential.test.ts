/**
 * berthctl vs the real etcdctl 3.4: the same command line against the same berth server; stdout,
 * stderr and exit code must be equal. Mutating cases run their setup again before each tool, so both
 * see the same state; JSON numbers that move with every write (revisions, versions, raft term) are
 * the only thing normalised, and only in cases marked `normalise`.
 *
 * Stateful scripts (users/roles/auth, membership) run step by step with each tool against its own
 * fresh berth server on the same ports (support/ctl-script.ts); the TLS cases share one server with
 * --client-cert-auth. Their normalisations are stated where they are defined.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestPki, type TestPki } from './support/certs.js';
import { berthctl, berthctlUntilLines } from './support/berthctl.js';
import { etcdctl, etcdctlUntilLines, etcdctlVersion } from './support/etcdctl.js';
import { freePort, startServer, type ServerProcess } from './support/servers.js';
import { dropToolNoise, recordScript, runTool, type Observed, type Step, type Tool } from './support/ctl-script.js';

interface Case {
  readonly name: string;
  readonly args: readonly string[];
  /** etcdctl commands (or gateway calls) run before each tool's run. */
  readonly setup?: readonly (readonly string[] | ((url: string) => Promise<void>))[];
  readonly stdin?: string;
  /** true: revisions/versions/raft term in JSON; or a function applied to stdout and stderr. */
  readonly normalise?: boolean | ((s: string) => string);
  /** A command that does not end by itself: stop it after this many stdout lines. */
  readonly lines?: number;
}

const LEASE = '7e57000000000001';
const LEASE_DEC = BigInt(`0x${LEASE}`).toString();
/** Grants a lease with a fixed ID through the JSON gateway (no-op if it exists). */
const fixedLease = (id: string, ttl = 600) => async (url: string): Promise<void> => {
  await fetch(`${url}/v3/lease/grant`, { method: 'POST', body: JSON.stringify({ ID: BigInt(`0x${id}`).toString(), TTL: String(ttl) }) });
};
const remaining = (s: string): string => s.replace(/remaining\(\d+s\)/g, 'remaining(Ns)').replace(/"ttl":\d+/g, '"ttl":N');
/** The time a health check took, and (tables) the column width it sets. */
const took = (s: string): string => s.replace(/[0-9.]+[µmn]?s\b/g, 'T').replace(/-+/g, '-').replace(/ +/g, ' ');
const grantedId = (s: string): string => s.replace(/lease [0-9a-f]{16} granted/g, 'lease ID granted').replace(/"ID":\d+/g, '"ID":N').replace(/"revision":\d+/g, '"revision":N');
const dbSize = (s: string): string => s.replace(/, [0-9.]+ [kMG]?B, /g, ', SIZE, ').replace(/, \d+, \d+, $/gm, ', I, I, ');

const BASE = [['put', 'a', '1'], ['put', 'b', '2'], ['put', 'c', '3'], ['put', 'ab', 'x'], ['put', 'u\u00e9', 'v\u00e9']];

const CASES: readonly Case[] = [
  { name: 'get one key', args: ['get', 'a'] },
  { name: 'get missing key', args: ['get', 'nope'] },
  { name: 'get json', args: ['get', 'a', '-w', 'json'] },
  { name: 'get range', args: ['get', 'a', 'c'] },
  { name: 'get prefix', args: ['get', 'a', '--prefix'] },
  { name: 'get prefix empty key', args: ['get', '', '--prefix'] },
  { name: 'get from-key', args: ['get', 'b', '--from-key'] },
  { name: 'get limit', args: ['get', '', '--prefix', '--limit', '2', '-w', 'json'] },
  { name: 'get sort desc', args: ['get', '', '--prefix', '--sort-by', 'VALUE', '--order', 'DESCEND'] },
  { name: 'get sort create', args: ['get', '', '--prefix', '--sort-by=CREATE'] },
  { name: 'get keys-only', args: ['get', '', '--prefix', '--keys-only'] },
  { name: 'get print-value-only', args: ['get', 'a', '--print-value-only'] },
  { name: 'get hex', args: ['get', 'u\u00e9', '--hex'] },
  { name: 'get utf8', args: ['get', 'u\u00e9'] },
  { name: 'get serializable', args: ['get', 'a', '--consistency', 's'] },
  { name: 'get rev', args: ['get', 'a', '--rev', '4', '-w', 'json'] },
  { name: 'get future rev', args: ['get', 'a', '--rev', '100000'] },
  { name: 'get no args', args: ['get'] },
  { name: 'get fields', args: ['get', '', '--prefix', '-w', 'fields'] },
  { name: 'get fields missing', args: ['get', 'nope', '-w', 'fields'] },
  { name: 'put fields prev-kv', args: ['put', 'p', 'v', '--prev-kv', '-w', 'fields'], setup: [['put', 'p', 'old\u0001"q']], normalise: (s) => s.replace(/"(Revision|PrevModRevision|PrevVersion|PrevCreateRevision)" : \d+/g, '"$1" : N') },
  { name: 'del fields prev-kv', args: ['del', 'df', '--prev-kv', '-w', 'fields'], setup: [['put', 'df', 'x']], normalise: (s) => s.replace(/"(Revision|PrevModRevision|PrevVersion|PrevCreateRevision)" : \d+/g, '"$1" : N') },
  { name: 'txn fields', args: ['txn', '-w', 'fields'], stdin: 'val("a") = "1"\n\nget a\n\n\n' },
  { name: 'member list fields', args: ['member', 'list', '-w', 'fields'] },
  { name: 'endpoint status fields', args: ['endpoint', 'status', '-w', 'fields'], normalise: (s) => s.replace(/"(Revision|DBSize|RaftIndex|RaftAppliedIndex)" : \d+/g, '"$1" : N') },
  { name: 'lease grant fields', args: ['lease', 'grant', '3600', '-w', 'fields'], normalise: (s) => s.replace(/"(Revision|ID)" : \d+/g, '"$1" : N') },
  { name: 'alarm list fields', args: ['alarm', 'list', '-w', 'fields'], normalise: (s) => s.replace(/"Revision" : \d+/g, '"Revision" : N') },
  { name: 'get prefix and from-key', args: ['get', 'a', '--prefix', '--from-key'] },
  { name: 'get prefix two args', args: ['get', 'a', 'b', '--prefix'] },
  { name: 'get bad sort', args: ['get', 'a', '--sort-by', 'NOPE'] },
  { name: 'get table', args: ['get', 'a', '-w', 'table'] },
  { name: 'put', args: ['put', 'p', 'v'], setup: [['put', 'p', 'old']] },
  { name: 'put prev-kv', args: ['put', 'p', 'v', '--prev-kv'], setup: [['put', 'p', 'old']] },
  { name: 'put prev-kv json', args: ['put', 'p', 'v', '--prev-kv', '-w', 'json'], setup: [['put', 'p', 'old']], normalise: true },
  { name: 'put ignore-value', args: ['put', 'p', '--ignore-value'], setup: [['put', 'p', 'old']] },
  { name: 'put ignore-value missing key', args: ['put', 'missing', '--ignore-value'], setup: [['del', 'missing']] },
  { name: 'put value from stdin', args: ['put', 'p'], stdin: 'from stdin', setup: [['put', 'p', 'old']] },
  { name: 'put no args', args: ['put'] },
  { name: 'put bad lease', args: ['put', 'p', 'v', '--lease', 'xyz'] },
  { name: 'put unknown lease', args: ['put', 'p', 'v', '--lease', '1234abcd'] },
  { name: 'del', args: ['del', 'd'], setup: [['put', 'd', '1']] },
  { name: 'del missing', args: ['del', 'nothing-here'] },
  { name: 'del prefix prev-kv', args: ['del', 'dp/', '--prefix', '--prev-kv'], setup: [['put', 'dp/1', 'x'], ['put', 'dp/2', 'y']] },
  { name: 'del from-key json', args: ['del', 'zz', '--from-key', '-w', 'json'], setup: [['put', 'zz1', 'x']], normalise: true },
  { name: 'del range', args: ['del', 'r1', 'r3'], setup: [['put', 'r1', 'x'], ['put', 'r2', 'y'], ['put', 'r3', 'z']] },
  { name: 'del no args', args: ['del'] },
  { name: 'del prefix two args', args: ['del', 'a', 'b', '--prefix'] },
  { name: 'get from-key two args', args: ['get', 'a', 'b', '--from-key'] },
  { name: 'txn success', args: ['txn'], stdin: 'mod("t1") = "0"\n\nput t1 "v 1"\nget t1\n\nput t1 other\n\n', setup: [['del', 't1']] },
  { name: 'txn failure json', args: ['txn', '-w', 'json'], stdin: 'val("a") = "nope"\nversion("b") > "0"\n\nput t2 x\n\nget a --prefix\ndel zz9 --prev-kv\n\n' },
  { name: 'txn interactive', args: ['txn', '-i'], stdin: 'create("a") != "0"\n\nget a\n\n\n' },
  { name: 'txn malformed compare', args: ['txn'], stdin: 'mod(k) > 0\n\n\n' },
  { name: 'txn unknown target', args: ['txn'], stdin: 'foo("k") = "0"\n\n\n' },
  { name: 'txn bad op', args: ['txn'], stdin: '\nfrob k v\n\n' },
  { name: 'txn eof', args: ['txn'], stdin: 'mod("k") > "0"\n' },
  { name: 'txn with argument', args: ['txn', 'x'] },
  { name: 'lease grant', args: ['lease', 'grant', '3600'], normalise: grantedId },
  { name: 'lease grant json', args: ['lease', 'grant', '3600', '-w', 'json'], normalise: grantedId },
  { name: 'lease grant bad ttl', args: ['lease', 'grant', 'abc'] },
  { name: 'lease grant no args', args: ['lease', 'grant'] },
  { name: 'lease revoke', args: ['lease', 'revoke', '7e57000000000002'], setup: [fixedLease('7e57000000000002')] },
  { name: 'lease revoke json', args: ['lease', 'revoke', '7e57000000000003', '-w', 'json'], setup: [fixedLease('7e57000000000003')], normalise: true },
  { name: 'lease revoke unknown', args: ['lease', 'revoke', '7e570000000000ff'] },
  { name: 'lease revoke bad id', args: ['lease', 'revoke', 'zz'] },
  { name: 'lease timetolive keys', args: ['lease', 'timetolive', LEASE, '--keys'], normalise: remaining },
  { name: 'lease timetolive json', args: ['lease', 'timetolive', LEASE, '-w', 'json'], normalise: remaining },
  { name: 'lease timetolive expired', args: ['lease', 'timetolive', '7e570000000000fe'] },
  { name: 'lease list', args: ['lease', 'list'] },
  { name: 'lease list json', args: ['lease', 'list', '-w', 'json'] },
  { name: 'lease list table', args: ['lease', 'list', '-w', 'table'] },
  { name: 'lease keep-alive once', args: ['lease', 'keep-alive', '--once', LEASE] },
  { name: 'lease keep-alive once json', args: ['lease', 'keep-alive', '--once', LEASE, '-w', 'json'] },
  { name: 'lease keep-alive no args', args: ['lease', 'keep-alive'] },
  { name: 'put with lease', args: ['put', 'leased', 'v', '--lease', LEASE] },
  { name: 'member list', args: ['member', 'list'] },
  { name: 'member list json', args: ['member', 'list', '-w', 'json'] },
  { name: 'member list table', args: ['member', 'list', '-w', 'table'] },
  { name: 'endpoint status', args: ['endpoint', 'status'], normalise: dbSize },
  { name: 'endpoint status cluster', args: ['endpoint', 'status', '--cluster'], normalise: dbSize },
  { name: 'endpoint hashkv', args: ['endpoint', 'hashkv'] },
  { name: 'endpoint hashkv rev json', args: ['endpoint', 'hashkv', '--rev', '5', '-w', 'json'] },
  { name: 'endpoint hashkv table', args: ['endpoint', 'hashkv', '-w', 'table'] },
  { name: 'endpoint hashkv fields cluster', args: ['endpoint', 'hashkv', '-w', 'fields', '--cluster'] },
  { name: 'endpoint hashkv future rev', args: ['endpoint', 'hashkv', '--rev', '100000'] },
  { name: 'endpoint health', args: ['endpoint', 'health'], normalise: took },
  { name: 'endpoint health json', args: ['endpoint', 'health', '-w', 'json'], normalise: took },
  { name: 'endpoint health table', args: ['endpoint', 'health', '-w', 'table'], normalise: took },
  { name: 'watch history', args: ['watch', 'w', '--rev', '4', '--prev-kv'], setup: [['put', 'w', '1'], ['put', 'w', '2'], ['del', 'w']], lines: 12 },
  { name: 'watch history json', args: ['watch', 'a', '--prefix', '--rev', '4', '-w', 'json'], lines: 1 },
  { name: 'compaction no args', args: ['compaction'] },
  { name: 'alarm list', args: ['alarm', 'list'] },
  { name: 'alarm list json', args: ['alarm', 'list', '-w', 'json'], normalise: true },
  { name: 'alarm list table', args: ['alarm', 'list', '-w', 'table'] },
  { name: 'alarm disarm', args: ['alarm', 'disarm'] },
  { name: 'alarm disarm json', args: ['alarm', 'disarm', '-w', 'json'] },
  { name: 'defrag', args: ['defrag'] },
  { name: 'defrag json', args: ['defrag', '-w', 'json'] },
  { name: 'defrag cluster', args: ['defrag', '--cluster'] },
  { name: 'move-leader no args', args: ['move-leader'] },
  { name: 'move-leader bad id', args: ['move-leader', 'zz'] },
  { name: 'move-leader unknown member', args: ['move-leader', '1234'] },
  { name: 'watch compacted', args: ['watch', 'a', '--rev', '2'] },
  { name: 'get compacted', args: ['get', 'a', '--rev', '2'] },
];

/**
 * etcdctl's Go client logs each retried call as a zap JSON line on stderr (timestamp, random target);
 * berthctl has no such log. Those lines are dropped, nothing else.
 */
function dropClientLogs(s: string): string {
  return s.split('\n').filter((l) => !l.startsWith('{"level":')).join('\n');
}

function normalise(s: string): string {
  return s.replace(/"(revision|create_revision|mod_revision|version|raft_term)":\d+/g, '"$1":N');
}

describe('berthctl vs etcdctl 3.4 (same berth server)', { timeout: 600_000 }, () => {
  let server: ServerProcess;
  const version = etcdctlVersion();

  before(async () => {
    if (version instanceof Error) throw version;
    server = await startServer('berth', { clientPort: await freePort(), peerPort: await freePort() });
    for (const c of BASE) {
      const r = await etcdctl(server.endpoint, c);
      assert.equal(r.code, 0, r.stderr);
    }
    await fixedLease(LEASE)(server.clientUrl);
    assert.equal((await etcdctl(server.endpoint, ['put', 'lk', 'v', '--lease', LEASE])).code, 0);
    assert.ok(LEASE_DEC.length > 0);
    // History below 3 is compacted: the "compacted" cases read it, the others read above it.
    assert.equal((await etcdctl(server.endpoint, ['compaction', '3'])).code, 0);
  });
  after(async () => {
    await server?.stop();
  });

  for (const c of CASES) {
    it(c.name, async () => {
      const ep = server.endpoint;
      const run = async (tool: 'etcdctl' | 'berthctl') => {
        for (const s of c.setup ?? []) {
          if (typeof s === 'function') await s(server.clientUrl);
          else assert.equal((await etcdctl(ep, s)).code, 0);
        }
        const opts = c.stdin === undefined ? {} : { stdin: c.stdin };
        const flags = ['--endpoints', ep, '--dial-timeout', '5s', '--command-timeout', '5s'];
        if (c.lines !== undefined) {
          return tool === 'etcdctl' ? etcdctlUntilLines(ep, c.args, c.lines, opts) : berthctlUntilLines([...flags, ...c.args], c.lines, opts);
        }
        return tool === 'etcdctl' ? etcdctl(ep, c.args, opts) : berthctl([...flags, ...c.args], opts);
      };
      const want = await run('etcdctl');
      const got = await run('berthctl');
      const n = c.normalise === true ? normalise : typeof c.normalise === 'function' ? c.normalise : (s: string) => s;
      if (c.lines !== undefined) {
        // Both were stopped by a signal once the lines were there: compare those lines.
        const head = (t: string): string => t.split('\n').slice(0, c.lines).join('\n');
        assert.equal(n(head(got.stdout)), n(head(want.stdout)));
        return;
      }
      assert.deepEqual(
        { code: got.code, stdout: n(got.stdout), stderr: n(got.stderr) },
        { code: want.code, stdout: n(want.stdout), stderr: n(dropClientLogs(want.stderr)) },
      );
    });
  }

  it('compaction (berthctl alone: a revision can be compacted only once)', async () => {
    const put = await etcdctl(server.endpoint, ['put', 'cmp', 'x', '-w', 'json']);
    const rev = /"revision":(\d+)/.exec(put.stdout)?.[1] ?? '0';
    const r = await berthctl(['--endpoints', server.endpoint, 'compaction', '--physical', rev]);
    assert.deepEqual({ code: r.code, stdout: r.stdout, stderr: r.stderr }, { code: 0, stdout: `compacted revision ${rev}\n`, stderr: '' });
    const again = await berthctl(['--endpoints', server.endpoint, 'compaction', rev]);
    const want = await etcdctl(server.endpoint, ['compaction', rev]);
    assert.deepEqual({ code: again.code, stdout: again.stdout, stderr: again.stderr }, { code: want.code, stdout: want.stdout, stderr: dropClientLogs(want.stderr) });
  });

  it('move-leader to itself (the member ID is only known at run time)', async () => {
    const id = (await etcdctl(server.endpoint, ['member', 'list'])).stdout.split(',')[0] ?? '';
    const want = await etcdctl(server.endpoint, ['move-leader', id]);
    const got = await berthctl(['--endpoints', server.endpoint, 'move-leader', id]);
    assert.equal(want.stdout, `Leadership transferred from ${id} to ${id}\n`);
    assert.deepEqual({ code: got.code, stdout: got.stdout, stderr: got.stderr }, { code: want.code, stdout: want.stdout, stderr: dropClientLogs(want.stderr) });
  });
});

/** Compares two recorded scripts step by step (the first difference fails with both sides shown). */
function assertSameScript(got: readonly Observed[], want: readonly Observed[]): void {
  // CTL_SCRIPT_DUMP=1 shows what etcdctl printed, step by step.
  if (process.env['CTL_SCRIPT_DUMP'] !== undefined) for (const o of want) process.stderr.write(`$ ${o.step}\n${o.stdout}${o.stderr}[${o.code}]\n`);
  assert.equal(got.length, want.length);
  for (let i = 0; i < want.length; i++) assert.deepEqual(got[i], want[i], `step ${i}: ${want[i]?.step ?? ''}`);
}

const ROOT = ['--user', 'root:rootpw'];

/**
 * Users, roles, permissions and auth enable/disable, then KV calls as users with and without the
 * permission. Passwords come from flags, `user:password`, and stdin (etcdctl's prompts read the
 * next line of a non-terminal stdin; berthctl does the same). Every step runs with both tools.
 */
const AUTH_SCRIPT: readonly Step[] = [
  { args: ['user', 'add', 'root', '--new-user-password=rootpw'] },
  { args: ['user', 'add', 'root:other'] },
  { args: ['user', 'add', 'alice:alicepw'] },
  { args: ['user', 'add', ':nameless'] },
  { args: ['user', 'add', 'bob', '--interactive=false'], stdin: 'bobpw\n' },
  { args: ['user', 'add', 'carol'], stdin: 'carolpw\ncarolpw\n' },
  { args: ['user', 'add', 'dave'], stdin: 'one\ntwo\n' },
  { args: ['user', 'add', 'erin'], stdin: '' },
  { args: ['user', 'add', 'nopw', '--no-password', '-w', 'fields'] },
  { args: ['user', 'add'] },
  { args: ['role', 'add', 'reader'] },
  { args: ['role', 'add', 'writer', '-w', 'json'] },
  { args: ['role', 'add', 'reader'] },
  { args: ['role', 'add', 'temp'] },
  { args: ['role', 'grant-permission', 'reader', 'read', '/app/', '--prefix'] },
  { args: ['role', 'grant-permission', 'reader', 'READ', '/single'] },
  { args: ['role', 'grant-permission', 'writer', 'readwrite', '/w1', '/w3'] },
  { args: ['role', 'grant-permission', 'writer', 'Write', '/app/', '--prefix'] },
  { args: ['role', 'grant-permission', 'writer', 'readwrite', '/from', '--from-key'] },
  { args: ['role', 'grant-permission', 'temp', 'read', '', '--prefix'] },
  { args: ['role', 'grant-permission', 'reader', 'frob', '/x'] },
  { args: ['role', 'grant-permission', 'reader', 'read', '/x', '/y', '--prefix'] },
  { args: ['role', 'grant-permission', 'reader', 'read', '/x', '--prefix', '--from-key'] },
  { args: ['role', 'grant-permission', 'reader', 'read'] },
  { args: ['role', 'grant-permission', 'nope', 'read', '/x'] },
  { args: ['role', 'get', 'reader'] },
  { args: ['role', 'get', 'writer'] },
  { args: ['role', 'get', 'temp'] },
  { args: ['role', 'get', 'writer', '-w', 'json'] },
  { args: ['role', 'get', 'writer', '-w', 'fields'] },
  { args: ['role', 'get', 'nope'] },
  { args: ['role', 'list'] },
  { args: ['role', 'list', '-w', 'json'] },
  { args: ['role', 'list', '-w', 'fields'] },
  { args: ['role', 'list', 'extra'] },
  { args: ['role', 'revoke-permission', 'reader', '/single'] },
  { args: ['role', 'revoke-permission', 'writer', '/w1', '/w3'] },
  { args: ['role', 'revoke-permission', 'writer', '/from', '--from-key'] },
  { args: ['role', 'revoke-permission', 'temp', '', '--prefix'] },
  { args: ['role', 'revoke-permission', 'reader', '/nope'] },
  { args: ['role', 'revoke-permission', 'reader'] },
  { args: ['role', 'delete', 'temp'] },
  { args: ['role', 'delete', 'temp'] },
  { args: ['user', 'grant-role', 'alice', 'reader'] },
  { args: ['user', 'grant-role', 'bob', 'writer', '-w', 'fields'] },
  { args: ['user', 'grant-role', 'bob', 'reader'] },
  { args: ['user', 'grant-role', 'alice', 'nope'] },
  { args: ['user', 'grant-role', 'alice'] },
  { args: ['user', 'get', 'alice'] },
  { args: ['user', 'get', 'bob', '--detail'] },
  { args: ['user', 'get', 'bob', '-w', 'json'] },
  { args: ['user', 'get', 'bob', '-w', 'table'] },
  { args: ['user', 'get', 'nobody'] },
  { args: ['user', 'list'] },
  { args: ['user', 'list', '-w', 'json'] },
  { args: ['user', 'list', '-w', 'fields'] },
  { args: ['user', 'revoke-role', 'bob', 'reader'] },
  { args: ['user', 'revoke-role', 'bob', 'reader'] },
  { args: ['user', 'passwd', 'alice', '--interactive=false'], stdin: 'alicepw2\n' },
  { args: ['user', 'passwd', 'carol'], stdin: 'x\ny\n' },
  { args: ['user', 'add', 'dave:davepw'] },
  { args: ['user', 'delete', 'dave'] },
  { args: ['user', 'delete', 'dave'] },
  { args: ['put', '/app/x', 'before-auth'] },
  // root lacks the root role: etcdctl 3.4 creates the role, grants it and enables.
  { args: ['auth', 'enable'] },
  { args: ['auth', 'enable', 'extra'] },
  { args: ['get', '/app/x'] },
  { args: [...ROOT, 'role', 'list'] },
  { args: [...ROOT, 'user', 'get', 'root', '-w', 'json'] },
  { args: ['--user', 'root', '--password', 'rootpw', 'user', 'list'] },
  { args: ['--user', 'root', 'role', 'get', 'root'], stdin: 'rootpw\n' },
  { args: ['--user', 'alice:alicepw2', 'get', '/app/x'] },
  { args: ['--user', 'alice:alicepw2', 'put', '/app/x', 'denied'] },
  { args: ['--user', 'alice:alicepw2', 'get', '/single'] },
  { args: ['--user', 'alice:alicepw2', 'user', 'list'] },
  { args: ['--user', 'alice:alicepw', 'get', '/app/x'] },
  { args: ['--user', 'bob:bobpw', 'put', '/app/y', 'by-bob'] },
  { args: ['--user', 'bob:bobpw', 'get', '/app/', '--prefix'] },
  { args: ['--user', 'bob:bobpw', 'put', '/w2', 'no-longer'] },
  { args: ['--user', 'carol:carolpw', 'get', '/app/x'] },
  { args: ['--user', 'nobody:pw', 'get', '/app/x'] },
  { args: [...ROOT, 'user', 'delete', 'nopw'] },
  { args: [...ROOT, 'auth', 'disable'] },
  { args: ['get', '/app/', '--prefix'] },
  { args: ['auth', 'disable'] },
];

describe('berthctl vs etcdctl 3.4: users, roles and auth (a fresh berth server for each tool)', { timeout: 600_000 }, () => {
  it('the same script gives the same outputs, errors and exit codes', async () => {
    const version = etcdctlVersion();
    if (version instanceof Error) throw version;
    const opts = { clientPort: await freePort(), peerPort: await freePort() };
    const record = (tool: Tool) => recordScript(tool, opts, async (run) => {
      for (const s of AUTH_SCRIPT) await run.step(s);
    });
    const want = await record('etcdctl');
    const got = await record('berthctl');
    // The script must have exercised what it is about (guards against both tools failing alike).
    const by = (args: string): Observed | undefined => want.find((o) => o.step === args);
    assert.equal(by('--user alice:alicepw2 put /app/x denied')?.stderr, 'Error: etcdserver: permission denied\n');
    assert.equal(by('--user root --password rootpw user list')?.code, 0);
    assert.match(by('role get writer')?.stdout ?? '', /\(prefix \/app\/\)/);
    assertSameScript(got, want);
  });

  it('auth status (etcdctl 3.5\'s command; 3.4 has none): simple and json', async () => {
    const s = await startServer('berth', { clientPort: await freePort(), peerPort: await freePort() });
    try {
      const run = (args: readonly string[]) => runTool('berthctl', s.endpoint, args);
      const off = await run(['auth', 'status']);
      assert.deepEqual({ code: off.code, stdout: off.stdout, stderr: off.stderr }, { code: 0, stdout: 'Authentication Status: false\nAuthRevision: 1\n', stderr: '' });
      for (const args of [['user', 'add', 'root:pw'], ['auth', 'enable']]) assert.equal((await run(args)).code, 0);
      const on = await run(['--user', 'root:pw', 'auth', 'status', '-w', 'json']);
      assert.equal(on.code, 0, on.stderr);
      assert.match(on.stdout, /^\{"header":\{"cluster_id":\d+,"member_id":\d+,"revision":\d+,"raft_term":\d+\},"enabled":true,"authRevision":\d+\}\n$/);
    } finally {
      await s.stop();
    }
  });
});

/**
 * What two correct runs of the membership script print differently: the IDs of added members (etcd
 * makes them from the peer URLs and the time), printed in hex (also %16x, space-padded) and decimal
 * (JSON), become NEW, NEW2, …; members come in ID order, so member lists, the members of a JSON
 * response and ETCD_INITIAL_CLUSTER entries are sorted.
 */
class NewIds {
  readonly #ids: bigint[] = [];
  learn(text: string): void {
    for (const m of text.matchAll(/Member\s+([0-9a-f]+) added|"member":\{"ID":(\d+)/g)) {
      const id = m[1] !== undefined ? BigInt(`0x${m[1]}`) : BigInt(m[2] as string);
      if (!this.#ids.includes(id)) this.#ids.push(id);
    }
  }
  normalise(text: string): string {
    this.learn(text);
    let s = text;
    this.#ids.forEach((id, i) => {
      const label = i === 0 ? 'NEW' : `NEW${i + 1}`;
      const hex = id.toString(16);
      s = s.replaceAll(` ${hex.padStart(16, ' ')}`, ` ${label}`).replaceAll(hex, label).replaceAll(id.toString(), label);
    });
    s = s.replace(/ETCD_INITIAL_CLUSTER="([^"]*)"/g, (_m, v: string) => `ETCD_INITIAL_CLUSTER="${v.split(',').sort().join(',')}"`);
    return s.replace(/"members":\[\{(.*?)\}\]/g, (_m, body: string) => `"members":[{${body.split('},{').sort().join('},{')}}]`);
  }
  get ids(): readonly bigint[] {
    return this.#ids;
  }
}

const sortedLines = (s: string): string => s.split('\n').filter((l) => l !== '').sort().join('\n');

describe('berthctl vs etcdctl 3.4: member add/update/promote/remove (a fresh berth server for each tool)', { timeout: 600_000 }, () => {
  it('the same script gives the same outputs, errors and exit codes', async () => {
    const version = etcdctlVersion();
    if (version instanceof Error) throw version;
    const opts = { clientPort: await freePort(), peerPort: await freePort(), name: 'm0', extraArgs: ['--emulated-etcd-version', '3.4.23'] };
    const peer = [await freePort(), await freePort(), await freePort()].map((p) => `http://127.0.0.1:${p}`) as [string, string, string];
    const record = (tool: Tool) => recordScript(tool, opts, async (run) => {
      const ids = new NewIds();
      const fix = (t: string): string => ids.normalise(t);
      const step = (args: readonly string[], extra: (t: string) => string = (t) => t) => run.step({ args }, (t) => extra(fix(t)));
      const hexId = (i: number): string => (ids.ids[i] ?? 0n).toString(16);
      const self = (await runTool(tool, run.server.endpoint, ['member', 'list'])).stdout.split(',')[0] ?? '';
      await step(['member', 'list']);
      await step(['member', 'add', 'm1', '--learner', '--peer-urls', peer[0]]);
      await step(['member', 'list'], sortedLines);
      await step(['member', 'add', 'm2', '--peer-urls', peer[0]]);
      await step(['member', 'add', 'm2', '--learner', `--peer-urls=${peer[1]}`]);
      await step(['member', 'add']);
      await step(['member', 'add', 'm2']);
      await step(['member', 'add', 'm2', peer[1], 'HTTP://x']);
      await step(['member', 'update', hexId(0), '--peer-urls', `${peer[1]},${peer[2]}`]);
      await step(['member', 'list', '-w', 'json'], (t) => t.replace(/"(member_id|raft_term)":\d+/g, '"$1":N'));
      await step(['member', 'update', hexId(0)]);
      await step(['member', 'update', '--peer-urls', peer[1]]);
      await step(['member', 'update', 'zz', '--peer-urls', peer[1]]);
      await step(['member', 'promote', hexId(0)]);
      await step(['member', 'promote', self]);
      await step(['member', 'promote', 'ffff']);
      await step(['member', 'promote', '1ffffffffffffffff']);
      await step(['member', 'promote']);
      await step(['member', 'remove', 'zz']);
      await step(['member', 'remove']);
      await step(['member', 'remove', 'ffff']);
      await step(['member', 'remove', hexId(0)]);
      await step(['member', 'remove', hexId(0)]);
      await step(['member', 'add', 'm3', '--learner', '--peer-urls', peer[2], '-w', 'json']);
      await step(['member', 'update', hexId(1), '--peer-urls', peer[0], '-w', 'fields']);
      await step(['member', 'list'], sortedLines);
      await step(['member', 'remove', hexId(1), '-w', 'json']);
      await step(['member', 'list']);
    });
    const want = await record('etcdctl');
    const got = await record('berthctl');
    const by = (prefix: string): Observed | undefined => want.find((o) => o.step.startsWith(prefix));
    assert.match(by('member add m1 --learner')?.stdout ?? '', /^Member NEW added to cluster [ 0-9a-f]{16}\n\nETCD_NAME="m1"\nETCD_INITIAL_CLUSTER=".*m1=http/);
    assert.match(by('member remove zz')?.stderr ?? '', /^Error: bad member ID arg/);
    assert.match(by('member add m3')?.stdout ?? '', /"member":\{"ID":NEW2,/);
    assertSameScript(got, want);
  });
});

describe('berthctl vs etcdctl 3.4 over TLS with client-cert-auth (same berth server)', { timeout: 300_000 }, () => {
  let dir = '';
  let pki: TestPki;
  let server: ServerProcess;
  const TLS = (): string[] => ['--cacert', pki.ca.cert, '--cert', pki.client.cert, '--key', pki.client.key];

  before(async () => {
    const version = etcdctlVersion();
    if (version instanceof Error) throw version;
    dir = mkdtempSync(join(tmpdir(), 'berthctl-tls-'));
    pki = makeTestPki(dir);
    server = await startServer('berth', {
      clientPort: await freePort(),
      peerPort: await freePort(),
      clientScheme: 'https',
      extraArgs: ['--cert-file', pki.server.cert, '--key-file', pki.server.key, '--trusted-ca-file', pki.ca.cert, '--client-cert-auth'],
      probeTls: { ca: readFileSync(pki.ca.cert), cert: readFileSync(pki.client.cert), key: readFileSync(pki.client.key) },
    });
  });
  after(async () => {
    await server?.stop();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  const both = async (endpoint: string, args: readonly string[]) => {
    const want = await runTool('etcdctl', endpoint, args);
    const got = await runTool('berthctl', endpoint, args);
    return { want: { code: want.code, stdout: want.stdout, stderr: dropToolNoise(want.stderr) }, got: { code: got.code, stdout: got.stdout, stderr: got.stderr } };
  };

  it('with the CA and a client certificate: the same outputs (https:// and bare host:port endpoints)', async () => {
    const cases: [string, string[], number][] = [
      [server.clientUrl, [...TLS(), 'put', 'tk', 'over-tls'], 0],
      [server.clientUrl, [...TLS(), 'get', 'tk'], 0],
      [server.clientUrl, [...TLS(), 'member', 'list'], 0],
      // A bare endpoint uses TLS because TLS files are given.
      [server.endpoint, [...TLS(), 'get', 'tk', '--print-value-only'], 0],
      [server.endpoint, ['--insecure-transport=false', '--insecure-skip-tls-verify', '--cert', pki.client.cert, '--key', pki.client.key, 'get', 'tk'], 0],
      // Bad TLS arguments fail before dialling (exit 128).
      [server.clientUrl, ['--cacert', join(dir, 'missing.crt'), 'get', 'tk'], 128],
      [server.clientUrl, ['--cacert', pki.ca.cert, '--cert', pki.client.cert, 'get', 'tk'], 128],
      [server.clientUrl, ['--cacert=', 'get', 'tk'], 128],
    ];
    for (const [ep, args, code] of cases) {
      const { want, got } = await both(ep, args);
      assert.equal(want.code, code, `${args.join(' ')}: ${want.stderr}`);
      assert.deepEqual(got, want, args.join(' '));
    }
    assert.equal((await runTool('berthctl', server.clientUrl, [...TLS(), 'get', 'tk', '--print-value-only'])).stdout, 'over-tls\n');
  });

  it('refused handshakes: exit 1 like etcdctl, and one line that says why (etcdctl: context deadline exceeded)', async () => {
    const cases: [string, string[], RegExp][] = [
      ['no client certificate', ['--cacert', pki.ca.cert], /certificate required|alert/],
      ['a CA that did not sign the server', ['--cacert', pki.otherCa.cert, '--cert', pki.client.cert, '--key', pki.client.key], /self[- ]signed|unable to (verify|get)/],
      ['a client certificate of another CA', ['--cacert', pki.ca.cert, '--cert', pki.foreignClient.cert, '--key', pki.foreignClient.key], /./],
      ['https:// with the system roots', [], /self[- ]signed|unable to (verify|get)/],
    ];
    for (const [name, flags, why] of cases) {
      const { want, got } = await both(server.clientUrl, ['--dial-timeout', '2s', ...flags, 'get', 'tk']);
      assert.equal(want.code, 1, `${name}: etcdctl ${want.stderr}`);
      assert.equal(got.code, 1, `${name}: berthctl ${got.stderr}`);
      assert.equal(got.stdout, '', name);
      assert.match(got.stderr, /^Error: TLS handshake with 127\.0\.0\.1:\d+ failed: [^\n]+\n$/, name);
      assert.match(got.stderr, why, name);
    }
  });
});
