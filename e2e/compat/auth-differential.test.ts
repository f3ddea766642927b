// Differential test of authentication and RBAC: the same etcdctl 3.4 battery (users, roles, key-range
// permissions, auth enable/disable, allowed and denied get/put/del/txn/watch/admin calls as different
// users, and the error cases) against a real etcd (Debian etcd-server 3.4.23) and then against berth,
// started one after the other with identical flags and ports. stdout, stderr and exit codes must be
// identical; the only normalization is dropping the Go client's JSON log lines and blank lines from
// stderr (as in ops-differential) and, for watches, the way the stopped process ends.
import { test } from 'node:test';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { etcdctl, etcdctlVersion, type EtcdctlResult } from './support/etcdctl.js';
import { freePort, startServer, type Flavor } from './support/servers.js';

interface Step {
  readonly name: string;
  run(ep: string): Promise<EtcdctlResult>;
}

const as = (user: string): string[] => ['--user', user];
const step = (args: readonly string[], stdin?: string): Step => ({
  name: args.join(' '),
  run: (ep) => etcdctl(ep, args, stdin === undefined ? {} : { stdin }),
});
/**
 * A watch: etcdctl never ends one by itself while it is open, so it runs for a bounded time and is
 * killed; a denied watch ends by itself. How a killed process ends is dropped.
 */
const watchStep = (args: readonly string[]): Step => ({
  name: `watch ${args.join(' ')}`,
  run: async (ep) => {
    const r = await etcdctl(ep, ['watch', ...args], { timeoutMs: 2500 });
    return r.signal === null ? r : { ...r, code: null, signal: null };
  },
});

/** Same path in both runs (only a denied save is attempted, so nothing is written there). */
const SNAPSHOT_FILE = join(tmpdir(), `auth-diff-${process.pid}.db`);
const ROOT = as('root:rootpw');
const ALICE = as('alice:alicepw');
const BOB = as('bob:bobpw');

const BATTERY: readonly Step[] = [
  step(['auth', 'enable']), // no root user yet
  step(['user', 'add', 'root', '--new-user-password=rootpw']),
  step(['user', 'add', 'alice', '--new-user-password=alicepw']),
  step(['user', 'add', 'bob', '--new-user-password=bobpw']),
  step(['user', 'add', 'alice', '--new-user-password=other']),
  step(['user', 'add', 'nopw', '--no-password']),
  step(['role', 'add', 'reader']),
  step(['role', 'add', 'writer']),
  step(['role', 'add', 'reader']),
  step(['role', 'grant-permission', 'reader', 'read', '/app/', '--prefix']),
  step(['role', 'grant-permission', 'reader', 'read', '/single']),
  step(['role', 'grant-permission', 'writer', 'readwrite', '/app/', '--prefix']),
  step(['role', 'grant-permission', 'writer', 'write', '/w1', '/w3']),
  step(['role', 'grant-permission', 'writer', 'read', '/w1', '/w3']), // same range: type replaced
  step(['role', 'grant-permission', 'writer', 'readwrite', '/from', '--from-key']),
  step(['role', 'grant-permission', 'nope', 'read', '/x']),
  step(['role', 'get', 'reader']),
  step(['role', 'get', 'writer']),
  step(['role', 'get', 'nope']),
  step(['role', 'revoke-permission', 'reader', '/nope']),
  step(['role', 'list']),
  step(['user', 'grant-role', 'alice', 'reader']),
  step(['user', 'grant-role', 'alice', 'reader']), // already granted: no error
  step(['user', 'grant-role', 'bob', 'writer']),
  step(['user', 'grant-role', 'alice', 'nope']),
  step(['user', 'grant-role', 'nobody', 'reader']),
  step(['user', 'get', 'alice']),
  step(['user', 'get', 'bob', '--detail']),
  step(['user', 'get', 'nobody']),
  step(['user', 'list']),
  step(['put', '/app/x', '1']),
  step(['user', 'get', 'root']),
  // root lacks the root role: etcdctl 3.4 then adds role root, grants it and enables
  step(['auth', 'enable']),
  step(['auth', 'enable']),
  step(['role', 'list', ...ROOT]),
  step(['user', 'get', 'root', ...ROOT]),
  step(['auth', 'enable', ...ROOT]),
  // anonymous and wrong credentials
  step(['get', '/app/x']),
  step(['put', '/app/x', '2']),
  step(['get', '/app/x', '--user', 'alice:wrong']),
  step(['get', '/app/x', '--user', 'nobody:pw']),
  step(['get', '/app/x', '--user', 'nopw:']),
  // reads
  step(['get', '/app/x', ...ALICE]),
  step(['get', '/app/', '--prefix', ...ALICE]),
  step(['get', '/', '--prefix', ...ALICE]),
  step(['get', '/single', ...ALICE]),
  step(['get', '/single', '--prefix', ...ALICE]),
  step(['get', '/app/x', ...BOB]),
  step(['get', '/zzz', ...BOB]),
  step(['get', '/from', '--from-key', ...BOB]),
  step(['get', '', '--from-key', ...BOB]),
  step(['get', '', '--from-key', ...ROOT]),
  // writes
  step(['put', '/app/y', '2', ...ALICE]),
  step(['put', '/app/y', '2', ...BOB]),
  step(['put', '/app/y', '3', '--prev-kv', ...BOB]),
  step(['put', '/w2', 'v', ...BOB]),
  step(['put', '/w2', 'v', '--prev-kv', ...BOB]),
  step(['put', '/w3', 'v', ...BOB]),
  step(['put', '/fromx', 'v', ...BOB]),
  step(['del', '/app/y', ...ALICE]),
  step(['del', '/app/y', '--prev-kv', ...BOB]),
  step(['del', '/w1', '/w3', ...BOB]),
  step(['del', '/w1', '/w4', ...BOB]),
  // transactions: compares need read, branches as their ops
  step(['txn', ...ALICE], 'value("/app/x") = "1"\n\nput /app/t v\n\nget /app/x\n\n'),
  step(['txn', ...ALICE], 'value("/app/x") = "1"\n\nget /app/x\n\n\n'),
  step(['txn', ...ALICE], 'value("/other") = "1"\n\nget /app/x\n\n\n'),
  step(['txn', ...BOB], 'value("/app/x") = "1"\n\nput /app/t v\n\nput /zzz v\n\n'),
  step(['txn', ...BOB], 'value("/app/x") = "1"\n\nput /app/t v\n\nput /app/u v\n\n'),
  step(['get', '/app/', '--prefix', ...ROOT]),
  // watches
  watchStep(['/app/x', '--rev', '1', ...ALICE]),
  watchStep(['/', '--prefix', ...ALICE]),
  watchStep(['/app/x', '--rev', '1', '--user', 'alice:wrong']),
  // etcdctl lock runs the recipe client-side: its txn on /lk/... needs WRITE there
  watchStep(['/app/x', '--rev', '1', ...BOB]),
  { name: 'lock /lk --user alice', run: (ep) => etcdctl(ep, ['lock', '/lk', ...ALICE], { timeoutMs: 4000 }) },
  // admin-only calls
  step(['user', 'add', 'carol', '--new-user-password=c', ...ALICE]),
  step(['user', 'list', ...ALICE]),
  step(['user', 'list', ...ROOT]),
  step(['user', 'get', 'alice', ...ALICE]), // self: allowed
  step(['user', 'get', 'bob', ...ALICE]),
  step(['role', 'get', 'reader', ...ALICE]), // own role: allowed
  step(['role', 'get', 'writer', ...ALICE]),
  step(['role', 'list', ...BOB]),
  step(['auth', 'disable', ...ALICE]),
  step(['defrag', ...ALICE]),
  step(['compaction', '2', ...ALICE]),
  step(['member', 'list', ...ALICE]),
  step(['endpoint', 'hashkv', ...ALICE]),
  step(['alarm', 'list', ...ALICE]),
  step(['snapshot', 'save', SNAPSHOT_FILE, ...ALICE]),
  // root rules
  step(['user', 'revoke-role', 'root', 'root', ...ROOT]),
  step(['user', 'delete', 'root', ...ROOT]),
  step(['role', 'delete', 'root', ...ROOT]),
  // changes take effect at once
  step(['user', 'passwd', 'alice', '--interactive=false', ...ROOT], 'newpw\n'),
  step(['get', '/app/x', ...ALICE]),
  step(['get', '/app/x', '--user', 'alice:newpw']),
  step(['role', 'revoke-permission', 'reader', '/app/', '--prefix', ...ROOT]),
  step(['get', '/app/x', '--user', 'alice:newpw']),
  step(['role', 'revoke-permission', 'reader', '/app/', '--prefix', ...ROOT]),
  step(['user', 'revoke-role', 'alice', 'reader', ...ROOT]),
  step(['user', 'revoke-role', 'alice', 'reader', ...ROOT]),
  step(['role', 'delete', 'writer', ...ROOT]),
  step(['user', 'get', 'bob', ...ROOT]),
  step(['put', '/app/x', '9', ...BOB]),
  step(['user', 'delete', 'bob', ...ROOT]),
  step(['user', 'delete', 'bob', ...ROOT]),
  step(['get', '/app/x', ...BOB]),
  step(['role', 'delete', 'nope', ...ROOT]),
  step(['auth', 'disable', ...ROOT]),
  step(['auth', 'disable']),
  step(['get', '/app/x']),
  step(['get', '/app/x', '--user', 'alice:newpw']),
  step(['put', '/app/x', '10']),
  step(['user', 'delete', 'root']),
  step(['role', 'delete', 'root']),
  step(['user', 'list']),
  step(['role', 'list']),
];

interface Observed {
  readonly step: string;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function normalizeStderr(s: string): string {
  return s
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('{"level":'))
    .join('\n');
}

async function runBattery(flavor: Flavor, clientPort: number, peerPort: number): Promise<Observed[]> {
  const srv = await startServer(flavor, { clientPort, peerPort, extraArgs: ['--bcrypt-cost', '4'] });
  try {
    const out: Observed[] = [];
    for (const s of BATTERY) {
      const r = await s.run(srv.endpoint);
      out.push({ step: s.name, code: r.code, stdout: r.stdout, stderr: normalizeStderr(r.stderr) });
    }
    return out;
  } finally {
    await srv.stop();
  }
}

test('etcdctl auth battery gives identical output against etcd and berth', async (t) => {
  const v = etcdctlVersion();
  if (v instanceof Error) throw v;
  const clientPort = await freePort();
  const peerPort = await freePort();
  const etcd = await runBattery('etcd', clientPort, peerPort);
  const berth = await runBattery('berth', clientPort, peerPort);
  if (process.env['AUTH_DIFF_DUMP'] !== undefined) console.log(JSON.stringify({ etcd, berth }, null, 1));
  for (let i = 0; i < BATTERY.length; i++) {
    const e = etcd[i] as Observed;
    const b = berth[i] as Observed;
    await t.test(`${i + 1}: ${e.step}`, () => {
      assert.deepEqual(b, e);
    });
  }
});
