// With --client-cert-auth and auth enabled, a verified client certificate's CN is the user of a
// request that carries no token (etcd's rule). The same etcdctl 3.4 steps, with certificates whose
// CNs are "root" and "alice", run against etcd and berth: stdout, stderr and exit codes must match.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeLeaf, makeTestPki, type LeafFiles, type TestPki } from './support/certs.js';
import { etcdctl, etcdctlVersion } from './support/etcdctl.js';
import { freePort, startServer, type Flavor } from './support/servers.js';

let dir = '';
let pki: TestPki;
let alice: LeafFiles;

before(() => {
  const v = etcdctlVersion();
  if (v instanceof Error) throw v;
  dir = mkdtempSync(join(tmpdir(), 'tls-auth-'));
  pki = makeTestPki(dir);
  alice = makeLeaf(dir, 'alice', pki.ca, { cn: 'alice', sans: [], usages: ['clientAuth'] });
});

after(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

interface Step {
  readonly step: string;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

async function run(flavor: Flavor): Promise<Step[]> {
  const read = (f: string): Buffer => readFileSync(f);
  const s = await startServer(flavor, {
    clientPort: await freePort(),
    peerPort: await freePort(),
    clientScheme: 'https',
    extraArgs: ['--cert-file', pki.server.cert, '--key-file', pki.server.key, '--trusted-ca-file', pki.ca.cert, '--client-cert-auth'],
    probeTls: { ca: read(pki.ca.cert), cert: read(pki.client.cert), key: read(pki.client.key) },
  });
  const steps: Step[] = [];
  const as = (who: LeafFiles) => async (args: readonly string[]): Promise<void> => {
    const r = await etcdctl(s.clientUrl, ['--cacert', pki.ca.cert, '--cert', who.cert, '--key', who.key, ...args]);
    // etcdctl's client library logs retries as JSON lines on stderr; they differ in timing only.
    const stderr = r.stderr
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('{"level"'))
      .join('\n');
    steps.push({ step: `${who === alice ? 'alice' : 'root'}: ${args.join(' ')}`, code: r.code, stdout: r.stdout, stderr });
  };
  const root = as(pki.client); // CN "root"
  const asAlice = as(alice);
  try {
    await root(['user', 'add', 'root:rootpw']);
    await root(['user', 'grant-role', 'root', 'root']);
    await root(['user', 'add', 'alice:alicepw']);
    await root(['role', 'add', 'app']);
    await root(['role', 'grant-permission', 'app', 'readwrite', 'a/', '--prefix=true']);
    await root(['user', 'grant-role', 'alice', 'app']);
    await root(['put', 'b/1', 'root-only']);
    await root(['auth', 'enable']);
    // No --user: the certificate names the user.
    await asAlice(['put', 'a/1', 'x']);
    await asAlice(['get', 'a/1']);
    await asAlice(['put', 'b/1', 'y']);
    await asAlice(['get', 'b/1']);
    await asAlice(['del', 'b/1']);
    await asAlice(['user', 'list']);
    await root(['get', 'b/1']);
    await root(['user', 'list']);
    // A password still works and wins over the certificate.
    await asAlice(['--user', 'root:rootpw', 'get', 'b/1']);
    await asAlice(['--user', 'alice:wrong', 'get', 'a/1']);
    await root(['auth', 'disable']);
    await asAlice(['get', 'b/1']);
  } finally {
    await s.stop();
  }
  return steps;
}

test('a verified client certificate CN is the user of requests without a token, as on etcd', { timeout: 300_000 }, async (t) => {
  const etcd = await run('etcd');
  const berth = await run('berth');
  assert.equal(berth.length, etcd.length);
  // The denials must really be denials (the comparison alone would pass if both allowed everything).
  assert.match(etcd.find((s) => s.step === 'alice: put b/1 y')?.stderr ?? '', /permission denied/);
  for (const [i, e] of etcd.entries()) {
    await t.test(e.step, () => assert.deepEqual(berth[i], e));
  }
});
