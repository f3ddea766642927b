// Joining a running cluster over https peer URLs (--initial-cluster-state existing): the joiner asks
// the listed member for the cluster over the peer port, which speaks TLS with client-certificate
// verification, so the request must carry the joiner's peer certificate and verify the member's
// against --peer-trusted-ca-file. A joiner that does not trust the member's CA, or whose certificate
// the member refuses, exits non-zero within its bounded discovery window with one error line.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeLeaf, makeTestPki, type LeafFiles, type TestPki } from './support/certs.js';
import { etcdctl } from './support/etcdctl.js';
import { freePort, startServer, type ServerProcess } from './support/servers.js';

let dir = '';
let pki: TestPki;
let foreignPeer: LeafFiles;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tls-join-'));
  pki = makeTestPki(dir);
  // A usable server+client certificate from an unrelated CA.
  foreignPeer = makeLeaf(dir, 'foreign-peer', pki.otherCa, { cn: 'intruder' });
});
after(() => rmSync(dir, { recursive: true, force: true }));

const peerTls = (cert: LeafFiles, ca: string): string[] => ['--peer-cert-file', cert.cert, '--peer-key-file', cert.key, '--peer-trusted-ca-file', ca, '--peer-client-cert-auth'];

async function until(cond: () => Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** member add <name> with an https peer URL on m0; returns its ID and the joiner's --initial-cluster. */
async function memberAdd(endpoint: string, name: string, peerPort: number, extra: readonly string[] = []): Promise<{ id: string; initialCluster: string }> {
  let r = await etcdctl(endpoint, ['member', 'add', name, `--peer-urls=https://127.0.0.1:${peerPort}`, ...extra]);
  // --strict-reconfig-check: every voter must have been connected for a while (a fresh joiner not yet).
  await until(async () => {
    if (!r.stderr.includes('unhealthy cluster')) return true;
    r = await etcdctl(endpoint, ['member', 'add', name, `--peer-urls=https://127.0.0.1:${peerPort}`, ...extra]);
    return false;
  }, `member add ${name} accepted`);
  assert.equal(r.code, 0, r.stderr);
  // etcdctl prints the ID with %16x: a leading zero nibble becomes a space.
  const id = /Member +([0-9a-f]+) added/.exec(r.stdout)?.[1];
  const line = r.stdout.split('\n').find((l) => l.startsWith('ETCD_INITIAL_CLUSTER='));
  assert.ok(id !== undefined && line !== undefined, r.stdout);
  return { id, initialCluster: line.slice('ETCD_INITIAL_CLUSTER='.length).replace(/^"|"$/g, '') };
}

async function startJoiner(name: string, initialCluster: string, peerPort: number): Promise<ServerProcess> {
  return startServer('berth', {
    name,
    clientPort: await freePort(),
    peerPort,
    peerScheme: 'https',
    initialCluster,
    extraArgs: ['--initial-cluster-state', 'existing', ...peerTls(pki.server, pki.ca.cert)],
    readyTimeoutMs: 60_000,
  });
}

async function listedStarted(endpoint: string, name: string, clientEndpoint: string): Promise<void> {
  // Started = it published its name and client URL through raft.
  await until(async () => {
    const l = await etcdctl(endpoint, ['member', 'list']);
    return l.code === 0 && l.stdout.split('\n').some((x) => x.includes(`, started, ${name}, https://127.0.0.1:`) && x.includes(`http://${clientEndpoint}`));
  }, `${name} listed as started`);
}

/** Starts a joiner expected to fail; resolves with its start-up error (bounded). */
async function failingJoin(name: string, initialCluster: string, peerPort: number, tls: string[]): Promise<{ message: string; ms: number }> {
  const t0 = Date.now();
  try {
    const s = await startServer('berth', {
      name,
      clientPort: await freePort(),
      peerPort,
      peerScheme: 'https',
      initialCluster,
      extraArgs: ['--initial-cluster-state', 'existing', ...tls],
      readyTimeoutMs: 60_000,
    });
    await s.stop();
    assert.fail(`${name} joined although it should not have`);
  } catch (err) {
    return { message: err instanceof Error ? err.message : String(err), ms: Date.now() - t0 };
  }
}

test('members join over https peer URLs with peer TLS (a voter, a learner promoted through a follower); a wrong CA or a foreign certificate fails cleanly', { timeout: 180_000 }, async () => {
  const m0 = await startServer('berth', { name: 'm0', clientPort: await freePort(), peerPort: await freePort(), peerScheme: 'https', extraArgs: peerTls(pki.server, pki.ca.cert) });
  let m1: ServerProcess | undefined;
  let m3: ServerProcess | undefined;
  try {
    const p1 = await freePort();
    const add1 = await memberAdd(m0.endpoint, 'm1', p1);
    assert.match(add1.initialCluster, /^(m0=https:\/\/127\.0\.0\.1:\d+,m1=https:\/\/127\.0\.0\.1:\d+|m1=https:\/\/127\.0\.0\.1:\d+,m0=https:\/\/127\.0\.0\.1:\d+)$/);
    m1 = await startJoiner('m1', add1.initialCluster, p1);
    await listedStarted(m0.endpoint, 'm1', m1.endpoint);
    const put = await etcdctl(m1.endpoint, ['put', 'joined', 'over-tls']);
    assert.equal(put.code, 0, put.stderr);
    const get = await etcdctl(m0.endpoint, ['get', 'joined', '--print-value-only']);
    assert.equal(get.stdout, 'over-tls\n', get.stderr);
    // Raft messages between them travel on TLS raft streams (ALPN berth-raft/1), not the gRPC fallback,
    // and each side logs the other's version (the etcd version it emulates, like etcd's server version).
    for (const m of [m0, m1]) {
      const active = m.output().split('\n').filter((l) => l.includes('"msg":"peer became active"'));
      assert.ok(active.length > 0 && active.every((l) => l.includes('"stream":"stream"')), active.join('\n'));
      assert.ok(active.every((l) => /"remote-version":"3\.\d+\.\d+"/.test(l)), active.join('\n'));
    }

    // A learner joins the same way; promoting it through a follower forwards the call to the leader
    // over the peer port (TLS).
    const p3 = await freePort();
    const add3 = await memberAdd(m0.endpoint, 'm3', p3, ['--learner']);
    m3 = await startJoiner('m3', add3.initialCluster, p3);
    await listedStarted(m0.endpoint, 'm3', m3.endpoint);
    let follower: ServerProcess | undefined;
    for (const m of [m0, m1]) {
      const st = await etcdctl(m.endpoint, ['endpoint', 'status']);
      if (st.code === 0 && st.stdout.split(', ')[4] === 'false') follower = m;
    }
    assert.ok(follower !== undefined, 'one of m0, m1 is a follower');
    const via = follower;
    let promoted = '';
    await until(async () => {
      const r = await etcdctl(via.endpoint, ['member', 'promote', add3.id]);
      promoted = r.code === 0 ? r.stdout : r.stderr;
      // Not in sync yet: asked again; anything else ends the wait and fails below.
      return !promoted.includes('in sync with leader');
    }, 'm3 in sync with the leader');
    assert.match(promoted, new RegExp(`Member +${add3.id} promoted in cluster`));
    const voters = await etcdctl(m0.endpoint, ['member', 'list']);
    assert.ok(voters.stdout.split('\n').some((x) => x.includes(', started, m3, ') && x.endsWith(', false')), voters.stdout);

    // The joiner does not trust the members' CA: it cannot verify them.
    const p2 = await freePort();
    const { initialCluster: cluster2 } = await memberAdd(m0.endpoint, 'm2', p2);
    const wrongCa = await failingJoin('m2', cluster2, p2, peerTls(pki.server, pki.otherCa.cert));
    // The members refuse the joiner's certificate (signed by another CA).
    const foreign = await failingJoin('m2', cluster2, p2, peerTls(foreignPeer, pki.ca.cert));
    if (process.env['TLS_JOIN_DUMP'] !== undefined) console.log(JSON.stringify({ wrongCa, foreign }, null, 1));
    for (const [what, r] of [['wrong CA', wrongCa], ['foreign certificate', foreign]] as const) {
      assert.match(r.message, /exited during start-up \(exit code [1-9]\d*\)/, `${what}: ${r.message}`);
      const errors = r.message.split('\n').filter((l) => l.includes('cannot fetch cluster info from peer urls'));
      assert.equal(errors.length, 1, `${what}: one error line naming the failure:\n${r.message}`);
      assert.match(errors[0] ?? '', /last error: https:\/\/127\.0\.0\.1:\d+: /, what);
      assert.ok(r.ms < 45_000, `${what}: gave up within its discovery window (${r.ms} ms)`);
    }
    // The cluster is unaffected.
    const still = await etcdctl(m1.endpoint, ['put', 'still', 'fine']);
    assert.equal(still.code, 0, still.stderr);
  } finally {
    await m3?.stop();
    await m1?.stop();
    await m0.stop();
  }
});
